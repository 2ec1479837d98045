/**
 * The main-process side of the LLM: a Generator backed by the LLM process. If the process
 * dies, requests in flight fail with LLM_CRASHED and the next request starts a new process
 * and reloads the model.
 */
import os from 'node:os';
import { FieldbookError } from '../errors';
import { forkWorker, siblingEntry, type WorkerProcess } from '../util/fork-worker';
import type { LlmLoadOptions, LlmRequest, LlmResponse, StopReason } from './llm-protocol';

export interface GenerateRequest {
  user: string;
  maxTokens: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onToken?: (text: string) => void;
}

export interface GenerateResult {
  text: string;
  tokens: number;
  timeToFirstTokenMs: number | null;
  totalMs: number;
  stopReason: StopReason;
}

/** Anything that writes an answer from a prompt: the LLM process, or a deterministic test double. */
export interface Generator {
  readonly name: string;
  readonly contextSize: number;
  countTokens(text: string): Promise<number>;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  dispose(): Promise<void>;
}

export type LlmProcess = WorkerProcess<LlmRequest, LlmResponse>;
export type LlmSpawner = () => LlmProcess;

export const forkLlm: LlmSpawner = () =>
  forkWorker<LlmRequest, LlmResponse>(siblingEntry(import.meta.url, 'llm-process'));

/** Threads for prompt processing: all physical-ish cores but one, at least one. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, os.availableParallelism() - (os.availableParallelism() > 2 ? 1 : 0)));
}

interface Pending {
  onMessage(msg: LlmResponse): void;
  onExit(): void;
}

export async function startLlm(opts: LlmLoadOptions & { name: string; spawn?: LlmSpawner }): Promise<Generator> {
  const spawn = opts.spawn ?? forkLlm;
  let proc: LlmProcess | null = null;
  let ready: Promise<number> | null = null;
  let contextSize = opts.contextSize;
  const pending = new Map<number, Pending>();
  let nextId = 1;

  const boot = (): Promise<number> => {
    const p = spawn();
    proc = p;
    p.onMessage((msg) => {
      if ('id' in msg) pending.get(msg.id)?.onMessage(msg);
      else loadWaiter?.(msg);
    });
    p.onExit(() => {
      if (proc === p) {
        proc = null;
        ready = null;
      }
      for (const w of [...pending.values()]) w.onExit();
      loadWaiter?.({ type: 'load-error', message: 'the LLM process exited while loading' });
    });
    let loadWaiter: ((msg: Extract<LlmResponse, { type: 'loaded' | 'load-error' }>) => void) | null = null;
    return new Promise<number>((resolve, reject) => {
      loadWaiter = (msg) => {
        loadWaiter = null;
        if (msg.type === 'loaded') resolve(msg.contextSize);
        else {
          p.kill();
          reject(new FieldbookError('LLM_LOAD_FAILED', { file: opts.modelPath, detail: msg.message }));
        }
      };
      const { modelPath, threads, systemPrompt } = opts;
      p.send({ type: 'load', modelPath, contextSize: opts.contextSize, threads, systemPrompt });
    });
  };

  const ensure = async (): Promise<LlmProcess> => {
    if (!ready) {
      ready = boot();
      ready.catch(() => {
        ready = null;
      });
    }
    contextSize = await ready;
    if (!proc) throw new FieldbookError('LLM_CRASHED', { detail: 'the LLM process is not running' });
    return proc;
  };

  const request = <T>(
    build: (id: number) => LlmRequest,
    handle: (msg: LlmResponse, done: (v: T) => void, fail: (err: Error) => void) => void,
  ): Promise<T> =>
    ensure().then(
      (p) =>
        new Promise<T>((resolve, reject) => {
          const id = nextId++;
          pending.set(id, {
            onMessage: (msg) =>
              handle(
                msg,
                (v) => {
                  pending.delete(id);
                  resolve(v);
                },
                (err) => {
                  pending.delete(id);
                  reject(err);
                },
              ),
            onExit: () => {
              pending.delete(id);
              reject(
                new FieldbookError('LLM_CRASHED', {
                  detail: 'the LLM process stopped; it restarts on the next question',
                }),
              );
            },
          });
          p.send(build(id));
        }),
    );

  contextSize = await ensure().then(() => contextSize);

  return {
    name: opts.name,
    get contextSize() {
      return contextSize;
    },
    countTokens: (text) =>
      request<number>(
        (id) => ({ type: 'count', id, text }),
        (msg, done) => {
          if (msg.type === 'count') done(msg.tokens);
        },
      ),
    async generate(req) {
      const t0 = performance.now();
      let currentId = -1;
      const onAbort = (): void => {
        if (currentId >= 0) proc?.send({ type: 'cancel', id: currentId });
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await request<GenerateResult>(
          (id) => {
            currentId = id;
            if (req.signal?.aborted) queueMicrotask(onAbort);
            return { type: 'generate', id, user: req.user, maxTokens: req.maxTokens, timeoutMs: req.timeoutMs };
          },
          (msg, done, fail) => {
            if (msg.type === 'token') req.onToken?.(msg.text);
            else if (msg.type === 'done') {
              done({
                text: msg.text,
                tokens: msg.tokens,
                timeToFirstTokenMs: msg.timeToFirstTokenMs,
                totalMs: Math.round(performance.now() - t0),
                stopReason: msg.stopReason,
              });
            } else if (msg.type === 'failed') {
              fail(new FieldbookError('LLM_CRASHED', { detail: msg.message }));
            }
          },
        );
      } finally {
        req.signal?.removeEventListener('abort', onAbort);
      }
    },
    async dispose() {
      const p = proc;
      proc = null;
      ready = null;
      if (p) {
        p.send({ type: 'unload' });
        p.kill();
      }
    },
  };
}
