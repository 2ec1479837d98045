/**
 * Electron hardening, written against small interfaces so it is unit-tested without the
 * Electron binary: window web preferences, session network policy (nothing but the app's
 * own files), CSP on every response, navigation/window-open/permission denial, and the
 * IPC sender check.
 */
import { CONTENT_SECURITY_POLICY } from '../api/http-bridge';
import { APP_HOST, APP_SCHEME } from './app-protocol';

/** webPreferences every Fieldbook window is created with (DevTools only in development builds). */
export function secureWebPreferences(preloadPath: string, opts: { devTools: boolean }): Record<string, unknown> {
  return {
    preload: preloadPath,
    devTools: opts.devTools,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

/**
 * Only the app's own pages (`app://fieldbook/…`, served from the renderer folder; nothing from
 * `file://`, which could reach local files or a `file://host/` share) and, during development,
 * the dev server's origin.
 */
export function isAllowedUrl(url: string, devServer: string | null): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'devtools:' || u.protocol === 'data:' || u.protocol === 'blob:') return true;
  // (compared by scheme and host: Node's URL gives non-special schemes an opaque origin)
  if (u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST) return true;
  if (devServer) {
    try {
      return u.origin === new URL(devServer).origin;
    } catch {
      return false;
    }
  }
  return false;
}

interface RequestDetails {
  url: string;
}
interface HeadersDetails {
  url: string;
  responseHeaders?: Record<string, string[] | string>;
}

export interface SessionLike {
  webRequest: {
    onBeforeRequest(
      listener: (details: RequestDetails, callback: (response: { cancel: boolean }) => void) => void,
    ): void;
    onHeadersReceived(
      listener: (
        details: HeadersDetails,
        callback: (response: { responseHeaders: Record<string, string[] | string> }) => void,
      ) => void,
    ): void;
  };
  setPermissionRequestHandler(
    handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void,
  ): void;
  setPermissionCheckHandler(handler: () => boolean): void;
}

export function hardenSession(session: SessionLike, devServer: string | null): void {
  // The app makes no network traffic: every request but the app's own pages is cancelled.
  session.webRequest.onBeforeRequest((details, callback) =>
    callback({ cancel: !isAllowedUrl(details.url, devServer) }),
  );
  session.webRequest.onHeadersReceived((details, callback) =>
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } }),
  );
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

export interface WebContentsLike {
  on(event: 'will-navigate' | 'will-redirect', listener: (e: { preventDefault(): void }, url: string) => void): void;
  on(event: 'will-attach-webview', listener: (e: { preventDefault(): void }) => void): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export function hardenWebContents(wc: WebContentsLike): void {
  wc.on('will-navigate', (e) => e.preventDefault());
  wc.on('will-redirect', (e) => e.preventDefault());
  wc.on('will-attach-webview', (e) => e.preventDefault());
  // Never open new windows or external URLs from untrusted content.
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
}

export interface IpcEventLike {
  sender: unknown;
  senderFrame: { url: string; parent: unknown } | null;
}

/** An IPC message is trusted only from our window's main frame showing our own page. */
export function isTrustedSender(event: IpcEventLike, trustedContents: unknown, appUrl: string): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  if (event.sender !== trustedContents) return false;
  return frame.url === appUrl || frame.url.startsWith(`${appUrl}#`) || frame.url.startsWith(`${appUrl}?`);
}
