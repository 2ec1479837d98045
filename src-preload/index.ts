/**
 * Preload (sandboxed, context-isolated): exposes one narrow bridge, window.fieldbookIpc,
 * that can only call the contract's methods (METHOD_NAMES) and receive its events. The
 * renderer builds the typed FieldbookApi on top of it, exactly as it does over HTTP.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { IPC_EVENT, IPC_INVOKE, METHOD_NAMES, type Envelope, type FieldbookEvent, type IpcBridge } from './contract';

const methods = new Set<string>(METHOD_NAMES);

const bridge: IpcBridge = {
  invoke(method, input) {
    if (!methods.has(method)) {
      return Promise.resolve({
        ok: false,
        error: { code: 'INVALID_INPUT', message: `Unknown method ${method}`, hint: '' },
      });
    }
    return ipcRenderer.invoke(IPC_INVOKE, method, input ?? {}) as Promise<Envelope<unknown>>;
  },
  pathsForFiles(files) {
    return files.map((f) => webUtils.getPathForFile(f)).filter((p) => p.length > 0);
  },
  onEvent(listener) {
    const handler = (_e: IpcRendererEvent, event: FieldbookEvent): void => listener(event);
    ipcRenderer.on(IPC_EVENT, handler);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT, handler);
    };
  },
};

contextBridge.exposeInMainWorld('fieldbookIpc', bridge);
