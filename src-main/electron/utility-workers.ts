/** Parser and LLM processes as Electron utilityProcess children (same protocol as child_process). */
import path from 'node:path';
import type { ParseRequest, ParseResponse } from '../core/ingest/parser-protocol';
import type { LlmRequest, LlmResponse } from '../core/llm/llm-protocol';
import type { WorkerProcess } from '../core/util/fork-worker';
import { parserV8Args } from '../core/ingest/parser-pool';
import { scrubbedEnv } from '../core/util/worker-sandbox';

export interface UtilityProcessLike {
  postMessage(msg: unknown): void;
  on(event: 'message', listener: (msg: unknown) => void): void;
  on(event: 'exit', listener: (code: number) => void): void;
  kill(): boolean;
}

export type UtilityFork = (
  modulePath: string,
  args: string[],
  options: { serviceName: string; execArgv?: string[]; env?: NodeJS.ProcessEnv },
) => UtilityProcessLike;

function wrap<TReq, TRes>(child: UtilityProcessLike): WorkerProcess<TReq, TRes> {
  return {
    send: (msg) => child.postMessage(msg),
    onMessage: (handler) => child.on('message', (m) => handler(m as TRes)),
    onExit: (handler) => child.on('exit', (code) => handler(code, { outOfMemory: false })),
    kill: () => {
      child.kill();
    },
  };
}

export function utilitySpawners(fork: UtilityFork, mainDir: string) {
  return {
    spawnParser: ({ memoryMb }: { memoryMb: number }): WorkerProcess<ParseRequest, ParseResponse> =>
      wrap(
        fork(path.join(mainDir, 'parser-process.js'), [], {
          serviceName: 'Fieldbook parser',
          execArgv: parserV8Args(memoryMb),
          // No permission-model flags here (not verified with Electron); the parser gets bytes, not paths, and a scrubbed environment.
          env: scrubbedEnv(),
        }),
      ),
    spawnLlm: (): WorkerProcess<LlmRequest, LlmResponse> =>
      wrap(fork(path.join(mainDir, 'llm-process.js'), [], { serviceName: 'Fieldbook language model' })),
  };
}
