import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PasswordEntryCancelled, readPassword } from './read-password';

/** A terminal-like stdin: raw mode is recorded; typed keys are pushed as the terminal sends them. */
function fakeTerminal(): { input: PassThrough & { isTTY: boolean; setRawMode: (m: boolean) => void }; raw: boolean[] } {
  const raw: boolean[] = [];
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (m: boolean) => void raw.push(m) });
  return { input, raw };
}

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return () => text;
}

describe('readPassword', () => {
  it('issue 16.5: on a terminal nothing typed is echoed; Backspace edits; raw mode is switched off again', async () => {
    const { input, raw } = fakeTerminal();
    const output = new PassThrough();
    const shown = collect(output);
    const pending = readPassword('Password: ', input, output);
    input.write('pä');
    input.write('x\u007fsswört\r');
    await expect(pending).resolves.toBe('pässwört');
    expect(shown()).toBe('Password: \n');
    expect(raw).toEqual([true, false]);
  });

  it('issue 16.5: Ctrl+C at the prompt cancels instead of ingesting without a password', async () => {
    const { input } = fakeTerminal();
    const pending = readPassword('Password: ', input, new PassThrough());
    input.write('abc\u0003');
    await expect(pending).rejects.toBeInstanceOf(PasswordEntryCancelled);
  });

  it('issue 16.5: from a pipe it takes the first line as is (spaces kept, line ending dropped)', async () => {
    const input = new PassThrough();
    const pending = readPassword('Password: ', input, new PassThrough());
    input.end(' two words \r\nsecond line\n');
    await expect(pending).resolves.toBe(' two words ');
  });
});
