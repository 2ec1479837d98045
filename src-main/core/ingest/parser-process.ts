/**
 * Entry point of the parser process (child_process.fork in the CLI and tests,
 * Electron utilityProcess in the app). It parses one file at a time and answers
 * over the IPC channel; a crash or hang here never reaches the caller's process.
 */
import { describeError } from '../errors';
import { parseAndChunk } from './parse-file';
import { isParseRequest, type ParseResponse } from './parser-protocol';

interface Channel {
  send(msg: ParseResponse): void;
  onMessage(handler: (msg: unknown) => void): void;
}

function nodeChannel(): Channel | null {
  if (typeof process.send !== 'function') return null;
  return {
    send: (msg) => process.send?.(msg),
    onMessage: (handler) => process.on('message', handler),
  };
}

// If the parent dies (even by SIGKILL) the IPC channel closes: do not linger as an orphan.
if (typeof process.send === 'function') process.on('disconnect', () => process.exit(0));

interface ParentPortLike {
  postMessage(msg: unknown): void;
  on(event: 'message', handler: (e: { data: unknown }) => void): void;
}

function electronChannel(): Channel | null {
  const port = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (!port) return null;
  return {
    send: (msg) => port.postMessage(msg),
    onMessage: (handler) => port.on('message', (e) => handler(e.data)),
  };
}

const channel = electronChannel() ?? nodeChannel();
if (!channel) {
  process.stderr.write('parser-process must be started with an IPC channel\n');
  process.exit(2);
}

channel.onMessage((msg) => {
  if (!isParseRequest(msg)) return;
  parseAndChunk(msg.file, msg.limits, msg.chunk, (progress) => channel.send({ id: msg.id, progress })).then(
    (result) => channel.send({ id: msg.id, ok: true, result }),
    (err: unknown) => {
      const report = describeError(err);
      const error: { code: typeof report.code; detail?: string; file?: string } = { code: report.code, file: msg.file };
      if (report.detail) error.detail = report.detail;
      channel.send({ id: msg.id, ok: false, error });
    },
  );
});
