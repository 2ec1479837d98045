/**
 * Read a password for one command: on a terminal a prompt that shows nothing of what is
 * typed; otherwise the first line of stdin (`printf '%s\n' "$PW" | fieldbook ingest --password …`).
 * The value is returned to the caller only: never echoed, stored, logged or audited.
 */

interface SecretInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

export class PasswordEntryCancelled extends Error {}

/** The first line of a piped stdin (without its line ending; spaces are part of a password). */
function readFirstLine(input: SecretInput): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (): void => {
      input.removeListener('data', onData);
      input.removeListener('end', done);
      input.removeListener('error', onError);
      input.pause();
      resolve(text.split(/\r?\n/)[0] ?? '');
    };
    const onData = (chunk: Buffer | string): void => {
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (/\r?\n/.test(text)) done();
    };
    const onError = (err: Error): void => reject(err);
    input.on('data', onData);
    input.once('end', done);
    input.once('error', onError);
    input.resume();
  });
}

/** Raw-mode terminal entry: Enter ends, Backspace deletes, Ctrl+C cancels; nothing is echoed. */
function readHidden(input: SecretInput, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chars: string[] = [];
    output.write(prompt);
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    const finish = (fn: () => void): void => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      fn();
    };
    const onData = (chunk: string | Buffer): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(() => resolve(chars.join('')));
        if (ch === '\u0003') return finish(() => reject(new PasswordEntryCancelled('password entry cancelled')));
        if (ch === '\u007f' || ch === '\b') chars.pop();
        else if (ch >= ' ') chars.push(ch);
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

export function readPassword(
  prompt: string,
  input: SecretInput = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  return input.isTTY && input.setRawMode ? readHidden(input, output, prompt) : readFirstLine(input);
}
