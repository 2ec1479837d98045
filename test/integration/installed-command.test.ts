/**
 * The installed `fieldbook` command (bin/fieldbook.js) works from any folder: it is run here
 * in a real child process whose working directory is outside the checkout.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../support/paths';

const run = promisify(execFile);

describe('installed command', () => {
  const tmp = tempDir('fieldbook-cwd-');
  afterAll(() => tmp.cleanup());

  it('issue 14.21: bin/fieldbook.js run from another folder parses files (no "parser exited with code 1")', async () => {
    fs.writeFileSync(path.join(tmp.dir, 'pump.txt'), 'Pump P-101: replace the filter element every 500 hours.\n');
    const { stdout } = await run(
      process.execPath,
      [path.join(repoRoot, 'bin', 'fieldbook.js'), 'ingest', 'pump.txt', '--json'],
      { cwd: tmp.dir, env: { ...process.env, FIELDBOOK_HOME: path.join(tmp.dir, 'home') }, timeout: 120_000 },
    );
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      counts: { added: number; failed: number };
      files: Array<{ file: string; outcome: string }>;
    };
    expect(report.counts).toMatchObject({ added: 1, failed: 0 });
    expect(report.files[0]).toMatchObject({ file: path.join(tmp.dir, 'pump.txt'), outcome: 'added' });
  });
});
