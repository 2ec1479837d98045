/**
 * Start a worker process from an entry file next to the caller: the .ts source through
 * tsx (CLI, tests) or the bundled .js (built app). Electron passes its own spawner instead.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A running worker process, whatever started it (child_process or Electron utilityProcess). */
export interface WorkerProcess<TReq, TRes> {
  send(msg: TReq): void;
  onMessage(handler: (msg: TRes) => void): void;
  /** `outOfMemory`: the process died because its heap limit was reached (known only for child_process workers). */
  onExit(handler: (code: number | null, info: { outOfMemory: boolean }) => void): void;
  kill(): void;
}

/** Path of `<baseName>.ts|.js` in the same folder as `callerUrl`. */
export function siblingEntry(callerUrl: string, baseName: string): string {
  const here = fileURLToPath(callerUrl);
  return path.join(path.dirname(here), `${baseName}${path.extname(here)}`);
}

/**
 * The tsx loader as an absolute file URL. A bare `--import tsx` is resolved from the child's
 * working directory, so the installed `fieldbook` command run outside the checkout could not
 * start a parser (issue 14.21).
 */
export function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export function forkWorker<TReq, TRes>(
  entry: string,
  execArgv: string[] = [],
  opts: { env?: NodeJS.ProcessEnv } = {},
): WorkerProcess<TReq, TRes> {
  const args = [...execArgv];
  if (entry.endsWith('.ts')) args.unshift('--import', tsxLoaderUrl());
  const child: ChildProcess = fork(entry, [], {
    execArgv: args,
    ...(opts.env ? { env: opts.env } : {}),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  // The end of stderr says why a worker died (V8 writes "heap out of memory" before aborting).
  let stderrTail = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString('utf8')).slice(-4096);
  });
  return {
    send: (msg) => {
      if (child.connected) child.send(msg as object);
    },
    onMessage: (handler) => child.on('message', (m) => handler(m as TRes)),
    onExit: (handler) =>
      child.on('exit', (code) => {
        let fired = false;
        const fire = (): void => {
          if (fired) return;
          fired = true;
          handler(code, { outOfMemory: /heap out of memory|Reached heap limit/i.test(stderrTail) });
        };
        // Let the last stderr lines arrive first (briefly: a grandchild may hold the pipe open).
        if (!child.stderr || child.stderr.readableEnded) return fire();
        child.stderr.once('end', fire);
        setTimeout(fire, 200);
      }),
    kill: () => child.kill('SIGKILL'),
  };
}
