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

/** Must match UI_SESSION_HEADER / UI_SESSION_PARAM of src-main/api/http-bridge.ts. */
const SESSION_HEADER = 'X-Fieldbook-Session';
const SESSION_PARAM = 'session';
const SESSION_KEY = 'fieldbook.session';

/**
 * The per-launch UI secret of the HTTP bridge: it arrives in the address's fragment
 * (`#session=…`, never sent to a server), is kept for this tab only and removed from the
 * address bar so it does not end up in bookmarks or screenshots.
 */
export function takeUiSecret(location: Location, storage: Storage, history: History): string {
  const fromUrl = new URLSearchParams(location.hash.replace(/^#/, '')).get(SESSION_PARAM);
  if (fromUrl) {
    storage.setItem(SESSION_KEY, fromUrl);
    history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  }
  return storage.getItem(SESSION_KEY) ?? '';
}

function httpBridge(origin: string, secret: string): IpcBridge {
  const listeners = new Set<(e: FieldbookEvent) => void>();
  let source: EventSource | null = null;
  return {
    async invoke(method, input) {
      const res = await fetch(`${origin}/api/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [SESSION_HEADER]: secret },
        body: JSON.stringify(input ?? {}),
      });
      return (await res.json()) as Envelope<unknown>;
    },
    onEvent(listener) {
      listeners.add(listener);
      if (!source) {
        // EventSource cannot send headers: the stream takes the secret as a query parameter.
        source = new EventSource(`${origin}/api/events?${SESSION_PARAM}=${encodeURIComponent(secret)}`);
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

export const api: FieldbookApi = createApi(
  window.fieldbookIpc ??
    httpBridge(window.location.origin, takeUiSecret(window.location, window.sessionStorage, window.history)),
);

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
