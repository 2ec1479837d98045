/**
 * Issue 14.20 (parser part): the parser process runs under Node's permission model with a
 * scrubbed environment. A probe started with the parser's own launch options tries what a
 * hostile document would want; the real parser process is then checked from /proc, and still
 * parses a file it cannot read itself (the bytes come with the request), OCR included.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import { describeError, FieldbookError } from '../../src-main/core/errors';
import { createParserPool, parserLaunch } from '../../src-main/core/ingest/parser-pool';
import { writePdf } from '../support/bad-inputs';
import { englishScan } from '../support/scans';
import { repoRoot, tempDir } from '../support/paths';

interface ProbeReport {
  readApp: string;
  readUserFile: string;
  writeOutside: string;
  writeScratch: string;
  spawn: string;
  worker: string;
  tmpdir: string;
  env: string[];
}

/** Parser processes that are children of this process, with their command line and environment (Linux). */
function parserChildren(): Array<{ args: string[]; env: string[] }> {
  const found: Array<{ args: string[]; env: string[] }> = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/PPid:\s+(\d+)/.exec(status)?.[1]) !== process.pid) continue;
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (!args.some((a) => a.includes('parser-process'))) continue;
      found.push({ args, env: fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

describe('parser process sandbox', () => {
  const tmp = tempDir('fieldbook-sandbox-');
  afterAll(() => tmp.cleanup());

  it('issue 14.20: with the parser launch options a process reads the app folder, but not user files; writes only its scratch folder; starts no processes; keeps no secrets in its environment', async () => {
    const userFile = path.join(tmp.dir, 'manual.txt');
    fs.writeFileSync(userFile, 'a user document');
    const launch = parserLaunch(256);
    process.env.FIELDBOOK_TEST_SECRET = 'token-123';
    const child = fork(path.join(repoRoot, 'test', 'support', 'sandbox-probe.mjs'), [], {
      execArgv: launch.execArgv,
      env: launch.env,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    delete process.env.FIELDBOOK_TEST_SECRET;
    const report = await new Promise<ProbeReport>((resolve, reject) => {
      child.once('message', (m) => resolve(m as ProbeReport));
      child.once('error', reject);
      child.send({ appFile: path.join(repoRoot, 'package.json'), userFile });
    });
    fs.rmSync(launch.scratch, { recursive: true, force: true });
    expect(report).toMatchObject({
      readApp: 'allowed',
      readUserFile: 'ERR_ACCESS_DENIED',
      writeOutside: 'ERR_ACCESS_DENIED',
      writeScratch: 'allowed',
      spawn: 'ERR_ACCESS_DENIED',
      worker: 'allowed', // tesseract.js runs in worker threads
      tmpdir: launch.scratch,
    });
    expect(fs.existsSync(path.join(tmp.dir, 'dropped.txt'))).toBe(false);
    expect(report.env.filter((k) => !['TMPDIR', 'TMP', 'TEMP', 'LANG', 'LC_ALL', 'TZ'].includes(k))).toEqual([]);
  });

  it('issue 16.7: a file the parser runs out of memory on fails with "needed more memory than allowed", not "parser exited with code null"', async () => {
    const pdf = path.join(tmp.dir, 'long.pdf');
    // 24 MB holds the parser and a short file (one page reads fine); 600 pages of text do not fit.
    await writePdf(pdf, (d) => {
      for (let i = 0; i < 600; i++)
        d.text(`Section ${i}: ${'torque the flange bolts crosswise; '.repeat(60)}`).addPage();
    });
    const pool = createParserPool({ size: 1, memoryMb: 24 });
    try {
      const limits = { ...DEFAULT_SETTINGS.limits, parserMemoryMb: 24 };
      const err = await pool.parse(pdf, limits, DEFAULT_SETTINGS.chunk).then(
        () => null,
        (e: unknown) => describeError(e),
      );
      expect(err).toMatchObject({
        code: 'PARSE_OUT_OF_MEMORY',
        message: 'Reading the document needed more memory than allowed and was stopped',
        detail: 'over 24 MB',
        file: pdf,
      });
      expect(describeError(new FieldbookError('PARSE_OUT_OF_MEMORY'), 'zh-TW').message).toBe(
        '讀取文件所需的記憶體超過上限，已停止',
      );
    } finally {
      pool.close();
    }
  });

  it.skipIf(process.platform !== 'linux')(
    'issue 14.20: the real parser process runs sandboxed (checked in /proc), parses and OCRs a file outside the app folder from the bytes it is sent, and leaves no scratch folder',
    async () => {
      const scan = path.join(tmp.dir, 'scan.png');
      fs.writeFileSync(scan, await englishScan());
      const text = path.join(tmp.dir, 'notes.md');
      fs.writeFileSync(text, '# Pump P-4\n\nCheck the seal every 200 hours.\n');
      process.env.FIELDBOOK_TEST_SECRET = 'token-123';
      const pool = createParserPool({ size: 1, memoryMb: 1024 });
      let scratch = '';
      delete process.env.FIELDBOOK_TEST_SECRET;
      try {
        const md = await pool.parse(text, DEFAULT_SETTINGS.limits, DEFAULT_SETTINGS.chunk);
        expect(md.chunks[0]?.text).toContain('Check the seal every 200 hours.');
        const [proc] = parserChildren();
        expect(proc?.args).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^--(experimental-)?permission$/),
            `--allow-fs-read=${repoRoot}${path.sep}`,
            '--allow-worker',
            '--allow-addons',
          ]),
        );
        expect(proc?.args.some((a) => a.startsWith('--allow-child-process'))).toBe(false);
        const writable = proc?.args.filter((a) => a.startsWith('--allow-fs-write=')) ?? [];
        expect(writable).toHaveLength(1);
        scratch = (writable[0] ?? '').slice('--allow-fs-write='.length, -1);
        expect(proc?.env).toContain(`TMPDIR=${scratch}`);
        expect(proc?.args.some((a) => a.startsWith('--allow-fs-read=') && tmp.dir.startsWith(a.slice(16, -1)))).toBe(
          false,
        );
        expect(proc?.env.some((e) => e.startsWith('FIELDBOOK_TEST_SECRET'))).toBe(false);
        const ocr = await pool.parse(scan, DEFAULT_SETTINGS.limits, DEFAULT_SETTINGS.chunk, undefined, {
          ...DEFAULT_SETTINGS.ocr,
          languages: ['eng'],
        });
        expect(ocr.chunks.map((c) => c.text).join(' ')).toMatch(/hydraulic unit/i);
      } finally {
        pool.close();
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(parserChildren()).toEqual([]);
      expect(scratch).toMatch(/fieldbook-parser-/);
      expect(fs.existsSync(scratch)).toBe(false);
    },
    120_000,
  );
});
