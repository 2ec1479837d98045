/**
 * A fake of the preload's IPC bridge for React component tests: set a method's result (a
 * value, a function of the input, or an Error that comes back as a rendered error), see
 * every call, and push events. Installed as window.fieldbookIpc before the app's api loads.
 */
import type { Envelope, ErrorReport, FieldbookEvent, IpcBridge } from '../../../src-preload/contract';

export interface FakeBridge {
  /** The installed bridge itself (a test may add `pathsForFiles`, as the desktop preload does). */
  bridge: IpcBridge;
  calls: Array<{ method: string; input: unknown }>;
  results: Record<string, unknown>;
  emit(event: FieldbookEvent): void;
}

/** `errorReport` turns an Error result into the error envelope the test wants to see. */
export function installFakeBridge(errorReport: (message: string) => ErrorReport): FakeBridge {
  const calls: FakeBridge['calls'] = [];
  const results: Record<string, unknown> = {};
  let listeners: Array<(e: FieldbookEvent) => void> = [];
  const bridge: IpcBridge = {
    async invoke(method, input): Promise<Envelope<unknown>> {
      calls.push({ method, input });
      const r = results[method];
      if (r instanceof Error) return { ok: false, error: errorReport(r.message) };
      return { ok: true, result: typeof r === 'function' ? (r as (i: unknown) => unknown)(input) : r };
    },
    onEvent(l) {
      listeners.push(l);
      return () => {
        listeners = listeners.filter((x) => x !== l);
      };
    },
  };
  window.fieldbookIpc = bridge;
  return {
    bridge,
    calls,
    results,
    emit: (e) => {
      for (const l of listeners) l(e);
    },
  };
}
