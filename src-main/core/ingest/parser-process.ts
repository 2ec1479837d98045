/**
 * Entry point of the parser process (child_process.fork in the CLI and tests,
 * Electron utilityProcess in the app). It parses one file at a time and answers
 * over the IPC channel; a crash or hang here never reaches the caller's process.
 */
import { describeError } from '../errors';
import { parentChannel } from '../util/parent-channel';
import { parseAndChunk } from './parse-file';
import { isParseRequest, type ParseResponse } from './parser-protocol';

const channel = parentChannel<unknown, ParseResponse>('parser-process');

channel.onMessage((msg) => {
  if (!isParseRequest(msg)) return;
  parseAndChunk(
    msg.file,
    msg.limits,
    msg.chunk,
    (progress) => channel.send({ id: msg.id, progress }),
    msg.ocr,
    msg.password,
    msg.data,
  ).then(
    (result) => channel.send({ id: msg.id, ok: true, result }),
    (err: unknown) => {
      const report = describeError(err);
      const error: { code: typeof report.code; detail?: string; file?: string } = { code: report.code, file: msg.file };
      if (report.detail) error.detail = report.detail;
      channel.send({ id: msg.id, ok: false, error });
    },
  );
});
