/**
 * The desktop renderer is served from `app://fieldbook/…`, a privileged custom protocol, never
 * from `file://` (whose extra privileges are switched off by the grantFileProtocolExtraPrivileges
 * fuse): files come only from the renderer folder (no traversal, no links), with MIME types and
 * the CSP header. Written against small interfaces so the wiring is unit-tested without Electron.
 */
import { CONTENT_SECURITY_POLICY } from '../api/http-bridge';
import { rendererFile } from '../api/renderer-files';

export const APP_SCHEME = 'app';
export const APP_HOST = 'fieldbook';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page the window loads. */
export const APP_URL = `${APP_ORIGIN}/index.html`;

/**
 * Registered before the app is ready: standard (origin, relative URLs), secure (like https:
 * 'self' in the CSP, secure context), fetch for pdf.js character maps and fonts, streamed media.
 * No CORS, no bypassing the CSP, no service workers.
 */
export const APP_SCHEME_PRIVILEGES = [
  {
    scheme: APP_SCHEME,
    privileges: {
      standard: true,
      secure: true,
      supportFetchAPI: true,
      stream: true,
      corsEnabled: false,
      bypassCSP: false,
      allowServiceWorkers: false,
    },
  },
];

export interface ProtocolLike {
  handle(scheme: string, handler: (request: Request) => Promise<Response>): void;
}

/** The response to one `app://` request: a renderer file, or 404 for any other host. */
export async function appProtocolResponse(requestUrl: string, rendererDir: string): Promise<Response> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return new Response('Bad request', { status: 400 });
  }
  const file =
    url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST
      ? await rendererFile(rendererDir, url.pathname)
      : { status: 404 as const, body: 'Not found', type: 'text/plain; charset=utf-8' };
  return new Response(typeof file.body === 'string' ? file.body : new Uint8Array(file.body), {
    status: file.status,
    headers: {
      'Content-Type': file.type,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    },
  });
}

/** Serve the renderer folder on `app://fieldbook/` (call once the app is ready). */
export function registerAppProtocol(protocol: ProtocolLike, rendererDir: string): void {
  protocol.handle(APP_SCHEME, (request) => appProtocolResponse(request.url, rendererDir));
}
