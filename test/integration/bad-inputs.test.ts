/**
 * Every bad input gets its own clear error naming the file, the batch goes on, and no
 * partial rows are left behind. (Generated files; the real scanned PDF from the corpus too.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src-main/core/errors';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import type { IngestReport } from '../../src-main/core/ingest/ingest-service';
import { listDocuments } from '../../src-main/core/store/documents';
import { writeBadInputs, type BadInputs } from '../support/bad-inputs';
import { corpusFile, hasCorpus, tempDir } from '../support/paths';

const LIMIT = 4 * 1024 * 1024;

describe('bad inputs', () => {
  const tmp = tempDir();
  let fb: Fieldbook;
  let files: BadInputs;
  let report: IngestReport;

  const outcome = (file: string): { code?: ErrorCode; outcome: string; file?: string } => {
    const r = report.files.find((f) => f.file === file);
    const out: { code?: ErrorCode; outcome: string; file?: string } = { outcome: r?.outcome ?? 'missing' };
    if (r?.error) {
      out.code = r.error.code;
      if (r.error.file) out.file = r.error.file;
    }
    return out;
  };

  beforeAll(async () => {
    files = await writeBadInputs(path.join(tmp.dir, 'in'), { oversizeBytes: LIMIT * 2 });
    if (hasCorpus)
      fs.copyFileSync(corpusFile('linn_sequencer_brochure_scan.pdf'), path.join(files.dir, 'real-scan.pdf'));
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    // OCR off: scanned files must be reported as needing OCR (ocr.test.ts covers OCR on).
    fb.updateSettings({ limits: { maxFileBytes: LIMIT }, ocr: { enabled: false } });
    report = await fb.ingest.ingest([files.dir, files.missing, files.unsupported]);
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it.each([
    ['missing path', 'missing', 'PATH_NOT_FOUND'],
    ['zero-byte file', 'zeroByte', 'FILE_EMPTY'],
    ['corrupt PDF', 'corruptPdf', 'PDF_CORRUPT'],
    ['password-protected PDF', 'encryptedPdf', 'PDF_ENCRYPTED'],
    ['PDF without a text layer', 'scannedPdf', 'PDF_NO_TEXT'],
    ['non-PDF renamed .pdf', 'renamedPdf', 'WRONG_EXTENSION'],
    ['legacy .doc', 'legacyDoc', 'LEGACY_DOC'],
    ['password-protected DOCX', 'encryptedDocx', 'DOCX_ENCRYPTED'],
    ['damaged DOCX', 'corruptDocx', 'DOCX_CORRUPT'],
    ['text renamed .docx', 'notZipDocx', 'WRONG_EXTENSION'],
    ['DOCX zip bomb', 'zipBombDocx', 'DOCX_TOO_LARGE_UNPACKED'],
    ['file over the size limit', 'oversizePdf', 'FILE_TOO_LARGE'],
    ['unsupported type named explicitly', 'unsupported', 'UNSUPPORTED_TYPE'],
  ] as const)('%s → %s', (_label, key, code) => {
    const file = files[key];
    expect(outcome(file)).toEqual({ outcome: 'failed', code, file });
  });

  it.skipIf(!hasCorpus)('reports a real scanned brochure as "scanned, needs OCR"', () => {
    const r = report.files.find((f) => f.file.endsWith('real-scan.pdf'));
    expect(r?.error?.code).toBe('PDF_NO_TEXT');
    expect(r?.error?.message).toMatch(/scanned.*OCR/);
  });

  it('still ingests the good files of the same batch', () => {
    expect(outcome(files.goodPdf).outcome).toBe('added');
    expect(outcome(files.goodDocx).outcome).toBe('added');
    expect(
      listDocuments(fb.db)
        .map((d) => path.basename(d.sourcePath))
        .sort(),
    ).toEqual(['ok.docx', 'ok.pdf']);
  });

  it('leaves no partial rows: every chunk has a document and an index row, nothing else exists', () => {
    const one = (sql: string): number => (fb.db.prepare(sql).get() as { n: number }).n;
    expect(one('SELECT COUNT(*) AS n FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)')).toBe(0);
    const chunks = one('SELECT COUNT(*) AS n FROM chunks');
    expect(
      one('SELECT COUNT(*) AS n FROM chunk_fts WHERE chunk_fts MATCH \'body : ("pump" OR "filter")\''),
    ).toBeGreaterThan(0);
    expect(chunks).toBeGreaterThanOrEqual(2);
    // Failures are recorded for the library view, with their codes.
    expect(one('SELECT COUNT(*) AS n FROM ingest_failures')).toBe(report.counts.failed);
  });

  it('never resolves external entities in DOCX XML', async () => {
    const r = report.files.find((f) => f.file === files.xxeDocx);
    expect(r?.outcome === 'added' || r?.error?.code === 'DOCX_CORRUPT').toBe(true);
    const text = (fb.db.prepare('SELECT group_concat(text) AS t FROM chunks').get() as { t: string }).t;
    expect(text).not.toMatch(/root:x:0:0/);
  });

  it('says which page of a PDF has no text layer when others have text', async () => {
    const mixed = path.join(tmp.dir, 'mixed.pdf');
    const { writePdf } = await import('../support/bad-inputs');
    await writePdf(mixed, (d) => {
      d.text('Valve V-101 inspection record', 72, 72);
      d.addPage();
      d.rect(50, 50, 300, 300).fill('#222222');
    });
    const r = await fb.ingest.ingest([mixed]);
    expect(r.files[0]?.outcome).toBe('added');
    expect(r.files[0]?.warnings).toEqual(['Pages without a text layer (need OCR): 2']);
  });
});
