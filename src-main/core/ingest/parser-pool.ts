/**
 * A small pool of parser processes (one per core by default). Each file gets a
 * time limit; a process that crashes, runs out of memory or times out is replaced
 * and the file fails with PARSE_CRASHED / PARSE_TIMEOUT — the batch goes on.
 */
import os from 'node:os';
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import { errorFromReport, FieldbookError } from '../errors';
import { forkWorker, siblingEntry, type WorkerProcess } from '../util/fork-worker';
import type { ParseProgress, ParseRequest, ParseResponse } from './parser-protocol';
import type { ParseResult } from './types';

/** A running parser process, whatever started it (child_process or Electron utilityProcess). */
export type ParserProcess = WorkerProcess<ParseRequest, ParseResponse>;

export type ParserSpawner = (opts: { memoryMb: number }) => ParserProcess;

/** Spawn with child_process.fork (CLI, tests, HTTP bridge). */
export const forkParser: ParserSpawner = ({ memoryMb }) =>
  forkWorker<ParseRequest, ParseResponse>(siblingEntry(import.meta.url, 'parser-process'), [
    `--max-old-space-size=${memoryMb}`,
  ]);

interface Pending {
  onMessage(msg: ParseResponse): void;
  onExit(code: number | null): void;
}

interface Slot {
  proc: ParserProcess | null;
  busy: boolean;
  pending: Pending | null;
}

export interface ParserPool {
  parse(
    file: string,
    limits: IngestLimits,
    chunk: ChunkSettings,
    onProgress?: (p: ParseProgress) => void,
    ocr?: OcrSettings,
    signal?: AbortSignal,
    /** For a password-protected PDF: sent with this one request only. */
    password?: string,
  ): Promise<ParseResult>;
  close(): void;
}

export function createParserPool(opts: { size?: number; spawn?: ParserSpawner; memoryMb: number }): ParserPool {
  const size = Math.max(1, opts.size ?? Math.min(4, os.cpus().length));
  const spawn = opts.spawn ?? forkParser;
  const slots: Slot[] = Array.from({ length: size }, () => ({ proc: null, busy: false, pending: null }));
  const waiting: Array<(slot: Slot) => void> = [];
  let nextId = 1;
  let closed = false;

  const acquire = (): Promise<Slot> => {
    const free = slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (slot: Slot): void => {
    const next = waiting.shift();
    if (next) next(slot);
    else slot.busy = false;
  };

  const processFor = (slot: Slot, memoryMb: number): ParserProcess => {
    if (slot.proc) return slot.proc;
    const proc = spawn({ memoryMb });
    // One listener pair per process; the request in flight receives the events.
    proc.onMessage((msg) => slot.pending?.onMessage(msg));
    proc.onExit((code) => {
      // A process we already replaced (timeout, cancel) must not fail the next file's request.
      if (slot.proc !== proc) return;
      slot.proc = null;
      slot.pending?.onExit(code);
    });
    slot.proc = proc;
    return proc;
  };

  const run = (
    slot: Slot,
    file: string,
    limits: IngestLimits,
    chunk: ChunkSettings,
    onProgress?: (p: ParseProgress) => void,
    ocr?: OcrSettings,
    signal?: AbortSignal,
    password?: string,
  ): Promise<ParseResult> =>
    new Promise((resolve, reject) => {
      const proc = processFor(slot, limits.parserMemoryMb);
      const id = nextId++;
      const finish = (fn: () => void): void => {
        if (slot.pending !== pending) return;
        slot.pending = null;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const pending: Pending = {
        onMessage: (msg) => {
          if (msg.id !== id) return;
          if ('progress' in msg) {
            // The time limit is per step (a page), so long scans that keep progressing are not cut off.
            arm();
            onProgress?.(msg.progress);
            return;
          }
          finish(() => (msg.ok ? resolve(msg.result) : reject(errorFromReport({ ...msg.error, file }))));
        },
        onExit: (code) =>
          finish(() =>
            reject(new FieldbookError('PARSE_CRASHED', { file, detail: `parser exited with code ${code}` })),
          ),
      };
      slot.pending = pending;
      let timer: NodeJS.Timeout | undefined;
      const onTimeout = (): void => {
        finish(() => {
          if (slot.proc === proc) slot.proc = null;
          proc.kill();
          reject(
            new FieldbookError('PARSE_TIMEOUT', { file, detail: `over ${Math.round(limits.parseTimeoutMs / 1000)} s` }),
          );
        });
      };
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(onTimeout, limits.parseTimeoutMs);
      };
      arm();
      // Cancel: stop this file now (its process is replaced on the next request).
      const onAbort = (): void =>
        finish(() => {
          if (slot.proc === proc) slot.proc = null;
          proc.kill();
          reject(new FieldbookError('INGEST_CANCELLED', { file }));
        });
      signal?.addEventListener('abort', onAbort, { once: true });
      proc.send({ id, file, limits, chunk, ...(ocr ? { ocr } : {}), ...(password ? { password } : {}) });
    });

  return {
    async parse(file, limits, chunk, onProgress, ocr, signal, password) {
      if (signal?.aborted) throw new FieldbookError('INGEST_CANCELLED', { file });
      if (closed) throw new Error('parser pool is closed');
      const slot = await acquire();
      try {
        return await run(slot, file, limits, chunk, onProgress, ocr, signal, password);
      } finally {
        release(slot);
      }
    },
    close() {
      closed = true;
      for (const s of slots) {
        s.proc?.kill();
        s.proc = null;
      }
    },
  };
}
