/**
 * The Electron shell, wired against a fake `electron` module (the binary cannot run here):
 * the window is hardened, the session blocks the network, IPC checks its sender and reaches
 * the same API as the HTTP bridge, and worker processes go through utilityProcess.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_INVOKE } from '../../src-preload/contract';
import type { IpcEventLike } from './security';

interface FakeWindowOptions {
  webPreferences: Record<string, unknown>;
}

const state = vi.hoisted(() => ({
  windows: [] as Array<{ options: FakeWindowOptions; loaded: string | null; webContents: object }>,
  handlers: new Map<string, (event: IpcEventLike, ...args: unknown[]) => Promise<unknown>>(),
  beforeRequest: null as null | ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void),
  headers: null as
    | null
    | ((
        d: { url: string; responseHeaders?: Record<string, string[] | string> },
        cb: (r: { responseHeaders: Record<string, string[] | string> }) => void,
      ) => void),
  permission: null as null | ((wc: unknown, p: string, cb: (granted: boolean) => void) => void),
  contentsHandlers: [] as Array<(e: unknown, contents: unknown) => void>,
  forked: [] as string[],
  lockRequested: false,
  /** Calls in order: privileged schemes must be registered before the app is ready. */
  calls: [] as string[],
  privileged: [] as Array<{ scheme: string; privileges: Record<string, boolean> }>,
  protocolHandlers: new Map<string, (request: Request) => Promise<Response>>(),
  menu: undefined as unknown,
  isPackaged: false,
}));

vi.mock('electron', () => {
  class BrowserWindow {
    webContents = { send: vi.fn(), isDestroyed: () => false };
    private entry: { options: FakeWindowOptions; loaded: string | null; webContents: object };
    constructor(options: FakeWindowOptions) {
      this.entry = { options, loaded: null, webContents: this.webContents };
      state.windows.push(this.entry);
    }
    once(): void {}
    on(): void {}
    show(): void {}
    isMinimized(): boolean {
      return false;
    }
    async loadURL(url: string): Promise<void> {
      this.entry.loaded = url;
    }
  }
  const app = {
    setName: vi.fn(),
    requestSingleInstanceLock: () => {
      state.lockRequested = true;
      return true;
    },
    on: (event: string, handler: (e: unknown, contents: unknown) => void) => {
      if (event === 'web-contents-created') state.contentsHandlers.push(handler);
    },
    whenReady: () => {
      state.calls.push('whenReady');
      return Promise.resolve();
    },
    get isPackaged() {
      return state.isPackaged;
    },
    quit: vi.fn(),
  };
  return {
    app,
    BrowserWindow,
    Menu: {
      setApplicationMenu: (menu: unknown) => {
        state.menu = menu;
      },
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: typeof state.privileged) => {
        state.calls.push('registerSchemesAsPrivileged');
        state.privileged.push(...schemes);
      },
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) =>
        state.protocolHandlers.set(scheme, handler),
    },
    dialog: { showOpenDialog: vi.fn() },
    ipcMain: {
      handle: (channel: string, h: (event: IpcEventLike, ...args: unknown[]) => Promise<unknown>) =>
        state.handlers.set(channel, h),
    },
    session: {
      defaultSession: {
        webRequest: {
          onBeforeRequest: (l: typeof state.beforeRequest) => (state.beforeRequest = l),
          onHeadersReceived: (l: typeof state.headers) => (state.headers = l),
        },
        setPermissionRequestHandler: (h: typeof state.permission) => (state.permission = h),
        setPermissionCheckHandler: vi.fn(),
      },
    },
    utilityProcess: {
      fork: (modulePath: string) => {
        state.forked.push(modulePath);
        return { postMessage: vi.fn(), on: vi.fn(), kill: () => true };
      },
    },
  };
});

describe('Electron main wiring (fake electron module)', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-electron-'));

  beforeAll(async () => {
    process.env.FIELDBOOK_HOME = home;
    await import('../index');
    await vi.waitFor(() => expect(state.windows[0]?.loaded).not.toBeNull());
  });
  afterAll(() => {
    delete process.env.FIELDBOOK_HOME;
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('takes the single-instance lock and creates one hardened window with the sandboxed preload', () => {
    expect(state.lockRequested).toBe(true);
    expect(state.windows).toHaveLength(1);
    const prefs = state.windows[0]?.options.webPreferences ?? {};
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
    expect(String(prefs.preload)).toMatch(/preload[/\\]index\.cjs$/);
    expect(state.windows[0]?.loaded).toBe('app://fieldbook/index.html');
  });

  it('issue 14.20: serves the renderer from a privileged app:// scheme registered before ready, not file://', async () => {
    expect(state.calls.indexOf('registerSchemesAsPrivileged')).toBeGreaterThanOrEqual(0);
    expect(state.calls.indexOf('registerSchemesAsPrivileged')).toBeLessThan(state.calls.indexOf('whenReady'));
    expect(state.privileged).toEqual([
      expect.objectContaining({
        scheme: 'app',
        privileges: expect.objectContaining({ standard: true, secure: true, supportFetchAPI: true, bypassCSP: false }),
      }),
    ]);
    const handler = state.protocolHandlers.get('app');
    expect(handler).toBeDefined();
    // The dev layout has no built renderer next to src-main: the handler answers, and never with a file from elsewhere.
    const other = await handler?.({ url: 'app://evil/index.html' } as Request);
    expect(other?.status).toBe(404);
    const traversal = await handler?.({ url: 'app://fieldbook/..%2f..%2fpackage.json' } as Request);
    expect(traversal?.status).toBe(404);
    expect(traversal?.headers.get('Content-Security-Policy')).toContain("default-src 'self'");
  });

  it('issue 14.20: a development build keeps DevTools and the default menu', () => {
    expect(state.windows[0]?.options.webPreferences).toMatchObject({ devTools: true });
    expect(state.menu).toBeUndefined();
  });

  it('blocks every non-local request and sets the CSP on responses', () => {
    const decide = (url: string): boolean => {
      let cancel = false;
      state.beforeRequest?.({ url }, (r) => (cancel = r.cancel));
      return cancel;
    };
    expect(decide('https://example.com/x.js')).toBe(true);
    expect(decide('http://127.0.0.1:8080/')).toBe(true);
    const page = state.windows[0]?.loaded ?? '';
    expect(decide(page)).toBe(false);
    expect(decide('app://fieldbook/pdfjs/cmaps/UniCNS-UTF16-H.bcmap')).toBe(false);
    // Local files, and file://host/ shares (SMB traffic, NTLM hashes), are refused.
    expect(decide('file:///etc/passwd')).toBe(true);
    expect(decide('app://other-host/secret.txt')).toBe(true);
    expect(decide('file://evil-host/share/x.png')).toBe(true);
    let headers: Record<string, string[] | string> = {};
    state.headers?.({ url: 'file:///x', responseHeaders: {} }, (r) => (headers = r.responseHeaders));
    expect(String(headers['Content-Security-Policy'])).toContain("default-src 'self'");
    let granted = true;
    state.permission?.({}, 'media', (g) => (granted = g));
    expect(granted).toBe(false);
  });

  it('denies navigation and new windows in every web contents', () => {
    const listeners = new Map<string, (e: { preventDefault(): void }) => void>();
    const opened: { handler: ((d: { url: string }) => { action: string }) | null } = { handler: null };
    const contents = {
      on: (event: string, l: (e: { preventDefault(): void }) => void) => listeners.set(event, l),
      setWindowOpenHandler: (h: (d: { url: string }) => { action: string }) => (opened.handler = h),
    };
    for (const h of state.contentsHandlers) h({}, contents);
    const prevent = vi.fn();
    listeners.get('will-navigate')?.({ preventDefault: prevent });
    expect(prevent).toHaveBeenCalled();
    expect(opened.handler?.({ url: 'https://evil.example' })).toEqual({ action: 'deny' });
  });

  it('answers IPC only from the trusted main frame, through the same API as the HTTP bridge', async () => {
    const handler = state.handlers.get(IPC_INVOKE);
    expect(handler).toBeDefined();
    const win = state.windows[0];
    const appUrl = win?.loaded ?? '';
    const trusted = await handler?.(
      { sender: win?.webContents, senderFrame: { url: appUrl, parent: null } },
      'status',
      {},
    );
    expect(trusted).toMatchObject({ ok: true, result: { home, transport: 'ipc', documents: 0 } });
    const fromIframe = await handler?.(
      { sender: win?.webContents, senderFrame: { url: appUrl, parent: {} } },
      'status',
      {},
    );
    expect(fromIframe).toMatchObject({ ok: false });
    const otherPage = await handler?.(
      { sender: win?.webContents, senderFrame: { url: 'https://evil.example/', parent: null } },
      'status',
      {},
    );
    expect(otherPage).toMatchObject({ ok: false });
    const badInput = await handler?.(
      { sender: win?.webContents, senderFrame: { url: appUrl, parent: null } },
      'search',
      { query: 42 },
    );
    expect(badInput).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
  });
});

describe('Electron main wiring, packaged (fake electron module)', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-electron-packaged-'));

  beforeAll(async () => {
    process.env.FIELDBOOK_HOME = home;
    // Electron sets process.resourcesPath in a packaged app (bundled models live there).
    Object.assign(process, { resourcesPath: home });
    state.isPackaged = true;
    vi.resetModules();
    await import('../index');
    await vi.waitFor(() => expect(state.windows[1]?.loaded).toBeTruthy());
  });
  afterAll(() => {
    delete process.env.FIELDBOOK_HOME;
    Reflect.deleteProperty(process, 'resourcesPath');
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('issue 14.20: an installed app has no DevTools and no default menu, and still loads app://', () => {
    expect(state.windows[1]?.options.webPreferences).toMatchObject({ devTools: false, sandbox: true });
    expect(state.menu).toBeNull();
    expect(state.windows[1]?.loaded).toBe('app://fieldbook/index.html');
  });
});
