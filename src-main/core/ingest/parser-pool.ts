/**
 * A small pool of parser processes (one per core by default). Each file gets a
 * time limit; a process that crashes, runs out of memory or times out is replaced
 * and the file fails with PARSE_CRASHED / PARSE_TIMEOUT — the batch goes on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import { errorFromReport, FieldbookError } from '../errors';
import { appRoot } from '../config';
import { forkWorker, siblingEntry, type WorkerProcess } from '../util/fork-worker';
import { bundledEntry, permissionArgs, scrubbedEnv, type SandboxNeeds } from '../util/worker-sandbox';
import type { ParseProgress, ParseRequest, ParseResponse } from './parser-protocol';
import { readForParsing } from './detect';
import type { ParseResult } from './types';

/** A running parser process, whatever started it (child_process or Electron utilityProcess). */
export type ParserProcess = WorkerProcess<ParseRequest, ParseResponse>;

export type ParserSpawner = (opts: { memoryMb: number }) => ParserProcess;

/**
 * What the parser process may do: read the application's folder (its code, pdf.js fonts, OCR
 * language data) — not the user's files, whose bytes come with each request — and its private
 * scratch folder (OCR links its language data there), write only that folder, use worker
 * threads (tesseract.js) and native addons (sharp, @napi-rs/canvas); no child processes.
 */
export function parserSandbox(root: string, scratch: string): SandboxNeeds {
  return { readRoots: [root, scratch], writeRoots: [scratch], workerThreads: true, addons: true };
}

export interface ParserLaunch {
  entry: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  /** The process's private temp folder (its only writable place). */
  scratch: string;
}

/**
 * V8 options of a parser process, however it is started. Two parsers and the main process share the
 * PC's cores, so each option trades V8's background work for less CPU in total:
 * - its heap limit;
 * - garbage collection on its own thread (no helper threads for concurrent marking): 3.50 → 3.23 s
 *   for the 9 corpus PDFs with 2 parsers on 2 cores (5 alternating runs);
 * - a function is optimised after ~1 MB of its bytecode has run instead of V8's 132 KB. pdf.js's text
 *   extraction is a few very large functions that V8 otherwise optimises, deoptimises and optimises
 *   again while a document's first pages are read: ~1.7 s of background compilation per parser for
 *   the corpus, a third of its CPU. With the higher budget: parsers' CPU 6.0 → 4.8 s, the corpus
 *   3.51 → 2.84 s (4 alternating runs; OCR on 8.3 → 7.1 s); a long run is as fast as before once
 *   warm (the corpus read three times in one process: third pass 2.49 s either way).
 * Measured with `npm run bench -- --only-ingest`.
 */
export function parserV8Args(memoryMb: number): string[] {
  return [`--max-old-space-size=${memoryMb}`, '--single-threaded-gc', '--interrupt-budget=1000000'];
}

/**
 * How a parser process is started with child_process.fork: under Node's permission model with a
 * scrubbed environment whose temp folder is a private one. Run from source, the entry is bundled
 * first (a sandboxed process cannot start tsx's esbuild); if that bundle cannot be written, the
 * parser runs through tsx without the permission model.
 */
export function parserLaunch(memoryMb: number): ParserLaunch {
  const root = appRoot();
  const source = siblingEntry(import.meta.url, 'parser-process');
  const entry = source.endsWith('.ts') ? bundledEntry(source, root) : source;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-parser-'));
  const sandbox = entry ? permissionArgs(parserSandbox(root, scratch)) : [];
  return {
    entry: entry ?? source,
    execArgv: [...parserV8Args(memoryMb), ...sandbox],
    env: { ...scrubbedEnv(), TMPDIR: scratch, TMP: scratch, TEMP: scratch },
    scratch,
  };
}

/** Spawn with child_process.fork (CLI, tests, HTTP bridge); the scratch folder goes when the process does. */
export const forkParser: ParserSpawner = ({ memoryMb }) => {
  const launch = parserLaunch(memoryMb);
  const proc = forkWorker<ParseRequest, ParseResponse>(launch.entry, launch.execArgv, { env: launch.env });
  // Removed when the parser exits, or at the latest when this process does (a killed parser's exit may come too late).
  const removeScratch = (): void => fs.rmSync(launch.scratch, { recursive: true, force: true });
  process.once('exit', removeScratch);
  proc.onExit(() => {
    process.removeListener('exit', removeScratch);
    removeScratch();
  });
  return proc;
};

interface Pending {
  onMessage(msg: ParseResponse): void;
  onExit(code: number | null, outOfMemory: boolean): void;
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
    proc.onExit((code, { outOfMemory }) => {
      // A process we already replaced (timeout, cancel) must not fail the next file's request.
      if (slot.proc !== proc) return;
      slot.proc = null;
      slot.pending?.onExit(code, outOfMemory);
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
      let data: Buffer;
      try {
        data = readForParsing(file, limits);
      } catch (err) {
        reject(err);
        return;
      }
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
        onExit: (code, outOfMemory) =>
          finish(() =>
            reject(
              outOfMemory
                ? new FieldbookError('PARSE_OUT_OF_MEMORY', { file, detail: `over ${limits.parserMemoryMb} MB` })
                : new FieldbookError('PARSE_CRASHED', { file, detail: `parser exited with code ${code}` }),
            ),
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
      proc.send({ id, file, limits, chunk, data, ...(ocr ? { ocr } : {}), ...(password ? { password } : {}) });
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
