/**
 * A read-only connection to the knowledge base in a worker thread, so that one query can run
 * while the main thread does other work (hybrid search runs its keyword half here while the
 * vector scan runs on the main thread). The worker sees what is committed (WAL readers never
 * block the writer); it is started on first use, keeps the process alive only while a query is
 * in flight, and a failure ends only that query (the caller then runs it in its own thread).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface ReadWorker {
  /** Rows of a read-only statement, run in the worker. Rejects on any failure (SQL error, worker exit). */
  all<T>(sql: string, params: readonly unknown[]): Promise<T[]>;
  /** Queries answered by the worker so far. */
  readonly answered: number;
  close(): Promise<void>;
}

type Reply = { id: number; rows: unknown[] } | { id: number; error: string; fatal?: boolean };

/** The worker's code (CommonJS, no file of its own: it needs nothing but the SQLite driver). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db = null;
let fatal = null;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
} catch (err) {
  fatal = err instanceof Error ? err.message : String(err);
}
const statements = new Map();
parentPort.on('message', ({ id, sql, params }) => {
  if (fatal !== null) {
    parentPort.postMessage({ id, error: fatal, fatal: true });
    return;
  }
  try {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (!stmt.reader || !stmt.readonly) throw new Error('only read-only queries run in the read worker');
      statements.set(sql, stmt);
    }
    parentPort.postMessage({ id, rows: stmt.all(...params) });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
`;

export function createReadWorker(file: string): ReadWorker {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let worker: Worker | null = null;
  let nextId = 1;
  let answered = 0;
  /** Set when a worker ended before it ever answered (it cannot start here): not tried again. */
  let unavailable: string | null = null;
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();

  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const start = (): Worker => {
    if (worker) return worker;
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file } });
    let replied = false;
    const ended = (err: Error): void => {
      if (worker !== w) return;
      worker = null;
      if (!replied) unavailable = err.message;
      failAll(err);
    };
    w.unref();
    w.on('message', (reply: Reply) => {
      if ('fatal' in reply && reply.fatal) {
        // Its connection could not be opened: this query and every later one go elsewhere.
        ended(new Error(reply.error));
        void w.terminate();
        return;
      }
      replied = true;
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if ('error' in reply) p.reject(new Error(reply.error));
      else {
        answered++;
        p.resolve(reply.rows);
      }
    });
    w.on('error', ended);
    w.on('exit', (code) => ended(new Error(`read worker exited with code ${code}`)));
    worker = w;
    return w;
  };

  return {
    all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
      if (unavailable !== null) return Promise.reject(new Error(`read worker unavailable: ${unavailable}`));
      const w = start();
      const id = nextId++;
      return new Promise<T[]>((resolve, reject) => {
        pending.set(id, { resolve: (rows) => resolve(rows as T[]), reject });
        w.ref();
        w.postMessage({ id, sql, params });
      });
    },
    get answered() {
      return answered;
    },
    async close() {
      const w = worker;
      worker = null;
      // Queries in flight fail now; a reply still on its way finds nothing waiting.
      failAll(new Error('read worker closed'));
      if (w) await w.terminate();
    },
  };
}
