/**
 * The renderer's only door to Fieldbook: the typed FieldbookApi contract, over Electron IPC
 * (window.fieldbookIpc, set by the preload) or over the loopback HTTP bridge in a browser.
 * Both carry the same envelopes; errors arrive already written in plain words.
 */
import type { Envelope, ErrorReport, FieldbookApi, FieldbookEvent, IpcBridge } from '../../src-preload/contract';

declare global {
  interface Window {
    fieldbookIpc?: IpcBridge;
  }
}

/** An error already rendered in plain words by the main process. */
export class ApiError extends Error {
  constructor(readonly report: ErrorReport) {
    super(report.message);
  }
}

function httpBridge(origin: string): IpcBridge {
  const listeners = new Set<(e: FieldbookEvent) => void>();
  let source: EventSource | null = null;
  return {
    async invoke(method, input) {
      const res = await fetch(`${origin}/api/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(input ?? {}),
      });
      return (await res.json()) as Envelope<unknown>;
    },
    onEvent(listener) {
      listeners.add(listener);
      if (!source) {
        source = new EventSource(`${origin}/api/events`);
        source.onmessage = (m: MessageEvent<string>) => {
          const event = JSON.parse(m.data) as FieldbookEvent;
          for (const l of listeners) l(event);
        };
      }
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

export function createApi(bridge: IpcBridge): FieldbookApi {
  return new Proxy({} as FieldbookApi, {
    get(_target, name: string) {
      if (name === 'onEvent') return bridge.onEvent;
      return async (input: unknown) => {
        const envelope = await bridge.invoke(name, input ?? {});
        if (envelope.ok) return envelope.result;
        throw new ApiError(envelope.error);
      };
    },
  });
}

export const api: FieldbookApi = createApi(window.fieldbookIpc ?? httpBridge(window.location.origin));

/**
 * An error in the user's words: the file's name, the typed error's message and hint (zh-TW or
 * English). The technical detail (validation text, internal paths, ids) stays in the log/JSON.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const r = err.report;
    const name = r.file?.split(/[\\/]/).pop();
    return `${name ? `${name}: ` : ''}${r.message} — ${r.hint}`;
  }
  return err instanceof Error ? err.message : String(err);
}
