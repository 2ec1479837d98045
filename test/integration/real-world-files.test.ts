/**
 * Issue 16 (items 5–8): files in the shapes real-world test suites contain — password-protected
 * PDFs (UTF-8 password, AES-256 R5/R6), a circular page tree, leading junk before "%PDF", DOCX
 * packages with only a heading, in zip64 form, as an encrypted ZIP and with an undefined entity —
 * ingested through the real parser processes, each with its asserted outcome.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src-main/api/handlers';
import { runCli } from '../../src-main/cli/commands';
import { createAccessSession } from '../../src-main/core/access/roles';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import { describeError, FieldbookError, type ErrorReport } from '../../src-main/core/errors';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import type { FileReport, IngestReport } from '../../src-main/core/ingest/ingest-service';
import { closeOcr } from '../../src-main/core/ingest/ocr';
import { parseDocument } from '../../src-main/core/ingest/parse-file';
import { writePdf } from '../support/bad-inputs';
import { repoRoot, tempDir } from '../support/paths';
import {
  AES128_R4_FIXTURE,
  HEADING_TEXT,
  PASSWORD_TEXT,
  UTF8_PASSWORD,
  writeRealWorldShapes,
  type RealWorldShapes,
} from '../support/real-world-shapes';

describe('real-world file shapes', () => {
  const tmp = tempDir();
  let fb: Fieldbook;
  let files: RealWorldShapes;
  let report: IngestReport;

  const fileReport = (r: IngestReport, file: string): FileReport | undefined => r.files.find((f) => f.file === file);
  const errorOf = (file: string): ErrorReport | undefined => fileReport(report, file)?.error;

  beforeAll(async () => {
    files = await writeRealWorldShapes(path.join(tmp.dir, 'in'));
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    fb.updateSettings({ ocr: { enabled: false } });
    report = await fb.ingest.ingest([files.dir]);
  }, 120_000);
  afterAll(async () => {
    await fb.close();
    await closeOcr();
    tmp.cleanup();
  });

  it.each([
    ['utf8PasswordPdf', 'PDF_ENCRYPTED'],
    ['r4PasswordPdf', 'PDF_ENCRYPTED'],
    ['aes256Pdf', 'PDF_ENCRYPTED'],
    ['encryptedZipDocx', 'ARCHIVE_ENCRYPTED'],
    ['aesZipDocx', 'ARCHIVE_ENCRYPTED'],
    ['undefinedEntityDocx', 'DOCX_CORRUPT'],
  ] as const)('issue 16: %s without help → %s', (key, code) => {
    expect(fileReport(report, files[key])).toMatchObject({ outcome: 'failed', error: { code, file: files[key] } });
  });

  it('issue 16.5: the password PDFs open with the UTF-8 password "pässwört" (pdfkit AES-256 R5, AES-128 R4; qpdf AES-256 R6, AES-128 R4)', async () => {
    const r4Qpdf = path.join(files.dir, 'qpdf-aes128-r4.pdf');
    fs.copyFileSync(AES128_R4_FIXTURE, r4Qpdf);
    const pdfs = [files.utf8PasswordPdf, files.r4PasswordPdf, files.aes256Pdf, r4Qpdf];
    const withPassword = await fb.ingest.ingest(pdfs, { password: UTF8_PASSWORD });
    for (const pdf of pdfs) expect(fileReport(withPassword, pdf)).toMatchObject({ outcome: 'added', chunks: 1 });
    const hits = await fb.search.search('impeller torque', { mode: 'keyword' });
    expect(new Set(hits.hits.map((h) => h.sourcePath))).toEqual(new Set(pdfs));
    expect(hits.hits[0]?.snippet).toContain('45 Nm');
    expect(PASSWORD_TEXT).toContain('45 Nm');
  });

  it('issue 16.5: a wrong password gets its own error, and a password typed in another Unicode form (NFD) still opens the file', async () => {
    const again = path.join(files.dir, 'copy-r6.pdf');
    fs.copyFileSync(files.aes256Pdf, again);
    const wrong = await fb.ingest.ingest([again], { password: 'passwort' });
    expect(fileReport(wrong, again)?.error?.code).toBe('PDF_WRONG_PASSWORD');
    expect(describeError(new FieldbookError('PDF_WRONG_PASSWORD'), 'zh-TW').message).toBe('此 PDF 的密碼不正確');
    const nfd = await fb.ingest.ingest([again], { password: UTF8_PASSWORD.normalize('NFD') });
    expect(fileReport(nfd, again)?.outcome).toBe('added');
  });

  it('issue 16.5: the API takes the password with one ingest call (the Library\'s "Enter password"), audited without it', async () => {
    const api = createApi(fb, { transport: 'http' });
    const admin = createAccessSession({ db: fb.db, actor: 'admin', idleMs: 60_000, now: () => new Date() });
    const pdf = path.join(files.dir, 'library-r5.pdf');
    fs.copyFileSync(files.utf8PasswordPdf, pdf);
    const env = await api.invoke('ingest', { paths: [pdf], password: UTF8_PASSWORD }, admin);
    expect(env.ok && (env.result as IngestReport).files[0]).toMatchObject({ file: pdf, outcome: 'added' });
    const audit = fb.db.prepare("SELECT * FROM audit_log WHERE action = 'ingest'").all();
    expect(JSON.stringify(audit)).toContain('library-r5.pdf');
    expect(JSON.stringify(audit)).not.toContain(UTF8_PASSWORD);
  });

  it('issue 16.5: the password is not stored anywhere in the knowledge base (job options, failures, database files)', () => {
    const jobs = fb.db.prepare('SELECT options FROM ingest_jobs').all() as Array<{ options: string }>;
    expect(jobs.length).toBeGreaterThan(1);
    for (const j of jobs) expect(j.options).not.toContain('password');
    fb.db.pragma('wal_checkpoint(TRUNCATE)');
    const home = path.join(tmp.dir, 'home');
    const needle = Buffer.from(UTF8_PASSWORD, 'utf8');
    for (const name of fs.readdirSync(home).filter((n) => n.startsWith('fieldbook.db'))) {
      expect(fs.readFileSync(path.join(home, name)).includes(needle)).toBe(false);
    }
  });

  it('issue 16.5: `fieldbook ingest --password` reads the password from stdin and leaves no trace of it (output, database, audit)', () => {
    const home = path.join(tmp.dir, 'cli-password-home');
    const pdf = path.join(tmp.dir, 'cli-r6.pdf');
    fs.copyFileSync(files.aes256Pdf, pdf);
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'fieldbook.js'), 'ingest', pdf, '--password'], {
      input: `${UTF8_PASSWORD}\n`,
      env: { ...process.env, FIELDBOOK_HOME: home },
      timeout: 120_000,
    });
    const printed = `${run.stdout.toString('utf8')}${run.stderr.toString('utf8')}`;
    expect(run.status).toBe(0);
    expect(printed).toContain(`+ ${pdf} (1 chunks, 1 pages)`);
    const needle = Buffer.from(UTF8_PASSWORD, 'utf8');
    expect(Buffer.from(printed).includes(needle)).toBe(false);
    const written = fs.readdirSync(home, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    expect(written.some((d) => d.name === 'fieldbook.db')).toBe(true);
    for (const d of written) expect(fs.readFileSync(path.join(d.parentPath, d.name)).includes(needle)).toBe(false);
  });

  it('issue 16.6: a circular page tree keeps the readable page 1 and reports page 2', async () => {
    expect(fileReport(report, files.circularPageTreePdf)).toMatchObject({
      outcome: 'added',
      pages: 2,
      warnings: ['Pages that could not be read (damaged): 2'],
    });
    const hits = await fb.search.search('bleed hydraulic circuit', { mode: 'keyword' });
    expect(hits.hits[0]).toMatchObject({ sourcePath: files.circularPageTreePdf, pageStart: 1 });
  });

  it('issue 16.7: a PDF with 3 KB of junk before "%PDF" is read, not refused as renamed', async () => {
    expect(fileReport(report, files.leadingJunkPdf)?.outcome).toBe('added');
    const hits = await fb.search.search('belt tension deflection', { mode: 'keyword' });
    expect(hits.hits[0]?.sourcePath).toBe(files.leadingJunkPdf);
  });

  it('issue 16.7: a DOCX whose only content is a heading is indexed (plain and as a zip64 package)', async () => {
    for (const f of [files.headingOnlyDocx, files.zip64Docx]) {
      expect(fileReport(report, f)).toMatchObject({ outcome: 'added', chunks: 1 });
    }
    const hits = await fb.search.search('ES-7 emergency stop', { mode: 'keyword' });
    expect(new Set(hits.hits.map((h) => h.sourcePath))).toEqual(new Set([files.headingOnlyDocx, files.zip64Docx]));
    expect(hits.hits[0]?.snippet).toContain(HEADING_TEXT.slice(0, 20));
  });

  it('issue 16.7: encrypted ZIPs renamed .docx are "password-protected ZIP", not "document.xml missing" or "compression 99"', () => {
    for (const f of [files.encryptedZipDocx, files.aesZipDocx]) {
      const e = errorOf(f);
      expect(e?.message).toBe('The file is a password-protected ZIP archive, not a Word document');
      expect(e?.detail).not.toMatch(/document\.xml|compression 99/);
    }
  });

  it('issue 16.8: internal parser text stays in the JSON detail; the CLI names the file, says what happened and what to do', async () => {
    const e = errorOf(files.undefinedEntityDocx) as ErrorReport;
    expect(e.detail).toMatch(/xmldom/); // kept for the log / --json
    const lines: string[] = [];
    const o = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), color: false };
    const exit = await runCli(['--home', path.join(tmp.dir, 'cli-home'), 'ingest', files.undefinedEntityDocx], o, {});
    expect(exit).not.toBe(0);
    const shown = lines.join('\n');
    expect(shown).toContain(`${files.undefinedEntityDocx}: The Word document is damaged`);
    expect(shown).toContain('Open it in Word and save it again');
    expect(shown).not.toMatch(/xmldom|entity not found|line:undefined/);
    const zh = describeError(new FieldbookError(e.code, { file: e.file ?? '' }), 'zh-TW');
    expect([zh.message, zh.hint]).toEqual(['Word 文件已損壞', '請用 Word 開啟後重新儲存，或重新複製檔案。']);
  });

  it('issue 16.8: a blank PDF with OCR on (OCR ran and found nothing) is not told to "run OCR"', async () => {
    const blank = path.join(tmp.dir, 'blank.pdf');
    await writePdf(blank, (d) => {
      d.rect(100, 100, 40, 40).fill('#eeeeee');
    });
    const off = await parseDocument(blank, DEFAULT_SETTINGS.limits, undefined, {
      ...DEFAULT_SETTINGS.ocr,
      enabled: false,
    }).catch((err: unknown) => describeError(err));
    expect(off).toMatchObject({ code: 'PDF_NO_TEXT' });
    const on = await parseDocument(blank, DEFAULT_SETTINGS.limits, undefined, {
      ...DEFAULT_SETTINGS.ocr,
      languages: ['eng'],
    }).catch((err: unknown) => describeError(err));
    expect(on).toMatchObject({ code: 'PDF_OCR_NO_TEXT' });
    expect((on as ErrorReport).hint).not.toMatch(/Run OCR/i);
  }, 120_000);
});
