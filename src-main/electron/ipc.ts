/** IPC wiring: one invoke channel for every contract method, sender-checked; events pushed to the window. */
import { IPC_EVENT, IPC_INVOKE, type Envelope } from '../../src-preload/contract';
import type { Api } from '../api/handlers';
import type { AccessSession } from '../core/access/roles';
import { isTrustedSender, type IpcEventLike } from './security';

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => Promise<unknown>): void;
}

export interface EventTarget {
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
}

export function registerIpc(
  ipcMain: IpcMainLike,
  api: Api,
  session: AccessSession,
  window: () => { contents: unknown; appUrl: string } | null,
): void {
  ipcMain.handle(IPC_INVOKE, async (event, method, input): Promise<Envelope<unknown>> => {
    const w = window();
    if (!w || !isTrustedSender(event, w.contents, w.appUrl)) {
      return {
        ok: false,
        error: { code: 'INVALID_INPUT', message: 'Request from an untrusted frame refused', hint: '' },
      };
    }
    return api.invoke(String(method), input, session);
  });
}

export function forwardEvents(api: Api, target: () => EventTarget | null): void {
  api.events.on('event', (e) => {
    const t = target();
    if (t && !t.isDestroyed()) t.send(IPC_EVENT, e);
  });
}
