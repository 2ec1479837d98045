/**
 * Electron main process — a thin shell over the core: one hardened window showing the renderer
 * from app://fieldbook/ (never file://), single-instance lock, parser/LLM in utility processes,
 * IPC wired to the same API the HTTP bridge serves. Packaged builds have no DevTools and no menu.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, utilityProcess } from 'electron';
import { createApi } from './api/handlers';
import { createAccessSession, DEFAULT_IDLE_MS } from './core/access/roles';
import { defaultHome } from './core/config';
import { openFieldbook, type Fieldbook } from './core/fieldbook';
import { SCANNED_EXTENSIONS } from './core/ingest/detect';
import { ARCHIVE_EXTENSION } from './core/sync/bundle-archive';
import { APP_SCHEME_PRIVILEGES, APP_URL, registerAppProtocol } from './electron/app-protocol';
import { forwardEvents, registerIpc } from './electron/ipc';
import { hardenSession, hardenWebContents, secureWebPreferences } from './electron/security';
import { utilitySpawners } from './electron/utility-workers';

const mainDir = path.dirname(fileURLToPath(import.meta.url));
// The dev server is honoured only in development: a packaged app never loads a page from a URL in its environment.
const devServer = app.isPackaged ? null : (process.env.ELECTRON_RENDERER_URL ?? null);
const rendererDir = path.join(mainDir, '..', 'renderer');
const appUrl = devServer ?? APP_URL;

let win: BrowserWindow | null = null;
let fb: Fieldbook | null = null;

// Keep the data where the CLI finds it: the same per-user folder (FIELDBOOK_HOME overrides).
app.setName('Fieldbook');
// Custom schemes get their privileges only before the app is ready.
protocol.registerSchemesAsPrivileged(APP_SCHEME_PRIVILEGES);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });

  app.on('web-contents-created', (_e, contents) => hardenWebContents(contents));

  void app.whenReady().then(async () => {
    hardenSession(session.defaultSession, devServer);
    registerAppProtocol(protocol, rendererDir);
    // An installed app has no DevTools and no default menu (its View menu opens them, reloads, zooms).
    if (app.isPackaged) Menu.setApplicationMenu(null);
    const spawners = utilitySpawners(
      (modulePath, args, options) => utilityProcess.fork(modulePath, args, options),
      mainDir,
    );
    // Installed app: bundled models live in the resources folder; the data folder can hold more.
    const home = defaultHome();
    const bundled = app.isPackaged ? path.join(process.resourcesPath, 'models') : null;
    fb = openFieldbook({
      home,
      spawnParser: spawners.spawnParser,
      spawnLlm: spawners.spawnLlm,
      ...(bundled
        ? {
            embeddingModelRoots: [path.join(bundled, 'embedding'), path.join(home, 'models', 'embedding')],
            llmModelRoots: [path.join(bundled, 'llm'), path.join(home, 'models', 'llm')],
          }
        : {}),
    });
    const api = createApi(fb, {
      transport: 'ipc',
      chooseFiles: async ({ folders, purpose }) => {
        const options: Electron.OpenDialogOptions =
          purpose === 'bundle'
            ? {
                properties: folders ? ['openDirectory'] : ['openFile'],
                filters: [{ name: 'Fieldbook bundle', extensions: [ARCHIVE_EXTENSION.slice(1)] }],
              }
            : {
                properties: folders
                  ? ['openDirectory', 'multiSelections']
                  : ['openFile', 'openDirectory', 'multiSelections'],
                filters: [{ name: 'Documents', extensions: [...SCANNED_EXTENSIONS].map((e) => e.slice(1)) }],
              };
        const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
        return result.canceled ? [] : result.filePaths;
      },
    });
    const userSession = createAccessSession({
      db: fb.db,
      actor: os.userInfo().username,
      idleMs: DEFAULT_IDLE_MS,
      now: () => new Date(),
    });
    registerIpc(ipcMain, api, userSession, () => (win ? { contents: win.webContents, appUrl } : null));
    forwardEvents(api, () => win?.webContents ?? null);

    win = new BrowserWindow({
      width: 1400,
      height: 900,
      minWidth: 900,
      minHeight: 600,
      title: 'Fieldbook',
      backgroundColor: '#f4f5f7',
      show: false,
      webPreferences: secureWebPreferences(path.join(mainDir, '..', 'preload', 'index.cjs'), {
        devTools: !app.isPackaged,
      }),
    });
    win.once('ready-to-show', () => win?.show());
    win.on('closed', () => {
      win = null;
    });
    await win.loadURL(appUrl);
  });

  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => {
    void fb?.close();
  });
}
