/**
 * PNG / JPEG / TIFF images as documents, read by OCR in the parser processes. Real images are
 * made at test time: English text drawn on a canvas (as PNG, as a sideways phone JPEG with
 * EXIF orientation, and as a 2-page CCITT G4 TIFF at 300 dpi) and a zh-TW page rendered from
 * the sample PDF (its text layer is the ground truth). A cut-off PNG in the same folder fails
 * with its own error without stopping the batch; with OCR off images fail clearly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadPdfjs } from '../../src-main/core/ingest/pdfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src-main/api/handlers';
import { createAccessSession } from '../../src-main/core/access/roles';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import type { IngestReport } from '../../src-main/core/ingest/ingest-service';
import { renderPdfPage } from '../../src-main/core/ingest/ocr';
import { parseDocument } from '../../src-main/core/ingest/parse-file';
import { getDocumentByPath } from '../../src-main/core/store/documents';
import type { DocumentFile } from '../../src-preload/contract';
import { characterErrorRate } from '../support/cer';
import { sidewaysJpeg, textPage, tiffPages, type TextLine } from '../support/images';
import { samplesDir, tempDir } from '../support/paths';

const PUMP: TextLine[] = [
  { text: 'Hydraulic Press HP-400', x: 60, y: 110, size: 56, bold: true },
  { text: 'Error E-417 means the hydraulic pressure is too low.', x: 60, y: 220, size: 34 },
  { text: 'Check the relief valve and top up with ISO VG 46 oil.', x: 60, y: 280, size: 34 },
  { text: 'Replace the return filter every 500 operating hours.', x: 60, y: 340, size: 34 },
];
const RELIEF_LINE = PUMP[2] as TextLine;

const CONVEYOR: TextLine[] = [
  { text: 'Conveyor CV-9 belt tension', x: 50, y: 90, size: 44, bold: true },
  { text: 'Press the belt at midspan: it should deflect 12 mm.', x: 50, y: 180, size: 30 },
  { text: 'Adjust the take-up screws evenly on both sides.', x: 50, y: 235, size: 30 },
];

const COOLANT_1: TextLine[] = [
  { text: 'Coolant system', x: 80, y: 120, size: 50, bold: true },
  { text: 'Drain and clean the coolant tank every month.', x: 80, y: 220, size: 32 },
];
const COOLANT_2: TextLine[] = [
  { text: 'Coolant pump CP-7', x: 80, y: 120, size: 50, bold: true },
  { text: 'Replace the shaft seal of the pump when it leaks.', x: 80, y: 220, size: 32 },
];

describe('images as documents (offline OCR)', () => {
  const tmp = tempDir();
  const folder = path.join(tmp.dir, 'scans');
  const file = (name: string): string => path.join(folder, name);
  let fb: Fieldbook;
  let report: IngestReport;
  let zhTruth = '';

  beforeAll(async () => {
    fs.mkdirSync(folder);
    const pump = await textPage(PUMP, 1400, 420);
    fs.writeFileSync(file('pump-sheet.png'), pump);
    fs.writeFileSync(file('conveyor-photo.jpg'), await sidewaysJpeg(await textPage(CONVEYOR, 1100, 300)));
    fs.writeFileSync(
      file('coolant-scan.tif'),
      await tiffPages([await textPage(COOLANT_1, 1200, 300), await textPage(COOLANT_2, 1200, 300)], 300, 'ccittfax4'),
    );
    // A zh-TW page: page 3 of the sample procedure rendered at 200 dpi; its text layer is the truth.
    const sample = path.join(samplesDir, 'plc-fault-reset_zh-TW.pdf');
    const { getDocument } = await loadPdfjs();
    const pdf = await getDocument({ data: new Uint8Array(fs.readFileSync(sample)), isEvalSupported: false }).promise;
    fs.writeFileSync(file('press-reset-p3_zh-TW.png'), await renderPdfPage(pdf, 3, 200));
    await pdf.destroy();
    const textLayer = await parseDocument(sample, DEFAULT_SETTINGS.limits);
    zhTruth = textLayer.blocks
      .filter((b) => b.page === 3)
      .map((b) => b.text)
      .join('');
    // A copy cut off at 60% (an interrupted USB copy) and a text note next to the images.
    fs.writeFileSync(file('broken-copy.png'), pump.subarray(0, Math.floor(pump.length * 0.6)));
    fs.writeFileSync(file('notes.txt'), 'Shift notes: the HP-400 press was serviced on Monday.');

    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    fb.updateSettings({ ocr: { enabled: true, languages: ['eng', 'chi_tra'], dpi: 200 } });
    const t0 = performance.now();
    report = await fb.ingest.ingest([folder]);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `ingested 4 images (5 pages) + 1 text file in ${seconds.toFixed(1)} s on 2 parser processes, incl. OCR worker start`,
    );
  }, 240_000);

  afterAll(async () => {
    await fb?.close();
    tmp.cleanup();
  });

  const outcome = (name: string) => report.files.find((f) => f.file === file(name));

  it('indexes every image of the folder; the cut-off copy fails with its own error and the batch goes on', () => {
    expect(report.counts).toMatchObject({ added: 5, failed: 1 });
    expect(outcome('broken-copy.png')).toMatchObject({
      outcome: 'failed',
      error: { code: 'IMAGE_CORRUPT', detail: expect.stringMatching(/^cut off: the PNG end marker is missing/) },
    });
    const failure = fb.db
      .prepare('SELECT code FROM ingest_failures WHERE source_path = ?')
      .get(file('broken-copy.png'));
    expect(failure).toEqual({ code: 'IMAGE_CORRUPT' });
    expect(outcome('coolant-scan.tif')).toMatchObject({ outcome: 'added', pages: 2 });
    for (const name of ['pump-sheet.png', 'conveyor-photo.jpg', 'press-reset-p3_zh-TW.png']) {
      expect(outcome(name)).toMatchObject({ outcome: 'added', pages: 1 });
    }
    const doc = getDocumentByPath(fb.db, file('pump-sheet.png'));
    expect(doc).toMatchObject({ type: 'image', pages: 1, title: 'Hydraulic Press HP-400', language: 'en' });
    expect(doc?.warnings.join(' ')).toMatch(/Pages read by OCR: 1 \(mean confidence \d+%\)/);
  });

  it('answers a question from the English image with the page, OCR confidence and the passage boxed', async () => {
    const res = await fb.search.search('relief valve E-417 oil', { k: 3 });
    const top = res.hits[0];
    expect(top?.sourcePath).toBe(file('pump-sheet.png'));
    expect(top?.docType).toBe('image');
    expect(top?.pageStart).toBe(1);
    expect(top?.ocrConfidence).toBeGreaterThan(70);
    // Boxes are in pixels of the image: the relief-valve line is drawn with its top near y = 280 − 34.
    const box = top?.boxes.find((b) => b.y <= RELIEF_LINE.y - RELIEF_LINE.size + 12 && b.y + b.h >= RELIEF_LINE.y);
    expect(box).toBeDefined();
    expect(box?.x).toBeGreaterThan(RELIEF_LINE.x - 10);
    expect(box?.x).toBeLessThan(RELIEF_LINE.x + 10);

    const answer = await fb.answers.ask('How do I fix error E-417?');
    expect(answer.mode).toBe('extractive');
    expect(answer.citations[0]).toMatchObject({ sourcePath: file('pump-sheet.png'), page: 1 });
    expect(answer.citations[0]?.ocrConfidence).toBeGreaterThan(70);
    expect(answer.answer).toMatch(/relief valve/i);
  });

  it('reads a sideways phone photo upright (EXIF orientation) and boxes it in upright pixels', async () => {
    const top = (await fb.search.search('conveyor belt deflect midspan', { k: 3 })).hits[0];
    expect(top?.sourcePath).toBe(file('conveyor-photo.jpg'));
    expect(top?.text).toMatch(/deflect 12 mm/);
    for (const b of top?.boxes ?? []) {
      expect(b.x + b.w).toBeLessThanOrEqual(1100);
      expect(b.y + b.h).toBeLessThanOrEqual(300);
    }
  });

  it('reads each page of a multi-page G4 TIFF and cites the right page', async () => {
    const top = (await fb.search.search('coolant pump shaft seal', { k: 3 })).hits[0];
    expect(top?.sourcePath).toBe(file('coolant-scan.tif'));
    expect(top?.pageStart).toBe(2);
    expect(top?.boxes.every((b) => b.page === 2)).toBe(true);
    // 300-dpi scan read at the 200-dpi OCR setting; boxes are still in the file's own pixels.
    const box = top?.boxes[0];
    expect(box?.x).toBeGreaterThan(70);
    expect(box?.x).toBeLessThan(90);
    const month = (await fb.search.search('drain coolant tank month', { k: 3 })).hits[0];
    expect(month?.pageStart).toBe(1);
  });

  it('recognises the zh-TW page with chi_tra close to its text layer', async () => {
    const doc = getDocumentByPath(fb.db, file('press-reset-p3_zh-TW.png'));
    expect(doc?.language).toBe('zh-TW');
    const text = (
      fb.db.prepare('SELECT text FROM chunks WHERE doc_id = ? ORDER BY ord').all(doc?.id) as Array<{ text: string }>
    )
      .map((r) => r.text)
      .join('');
    // Compare without spaces (OCR spaces CJK text differently) and with the chunks' overlap removed by CER's nature.
    const squash = (s: string): string => s.normalize('NFKC').replace(/\s+/g, '');
    const cer = characterErrorRate(squash(text), squash(zhTruth));
    console.log(`zh-TW image (chi_tra): character error rate ${(cer * 100).toFixed(1)}% against the PDF text layer`);
    expect(cer).toBeLessThan(0.2);
    const top = (await fb.search.search('安全迴路中斷 復位', { k: 3 })).hits[0];
    expect(top?.sourcePath).toBe(file('press-reset-p3_zh-TW.png'));
    expect(top?.boxes.length).toBeGreaterThan(0);
  });

  it('serves the viewer the cited page (TIFF as PNG) with its pixel size, for indexed documents only', async () => {
    const session = createAccessSession({ db: fb.db, actor: 't', idleMs: 60_000, now: () => new Date() });
    const api = createApi(fb, { transport: 'http' });
    const call = async (method: string, input: unknown): Promise<unknown> => {
      const env = await api.invoke(method, input, session);
      if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
      return env.result;
    };
    const tif = getDocumentByPath(fb.db, file('coolant-scan.tif'));
    const page2 = (await call('getDocumentFile', { docId: tif?.id, page: 2 })) as DocumentFile;
    expect(page2).toMatchObject({ type: 'image', mime: 'image/png', pageSize: { w: 1200, h: 300 } });
    expect(await sharp(Buffer.from(page2.base64, 'base64')).metadata()).toMatchObject({ width: 1200, height: 300 });
    await expect(call('getDocumentFile', { docId: tif?.id, page: 3 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(call('getDocumentFile', { docId: 9999 })).rejects.toMatchObject({ code: 'DOCUMENT_NOT_FOUND' });
    await expect(call('getDocumentFile', { path: file('broken-copy.png') })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    const png = getDocumentByPath(fb.db, file('pump-sheet.png'));
    const whole = (await call('getDocumentFile', { docId: png?.id })) as DocumentFile;
    expect(whole).toMatchObject({ mime: 'image/png', pageSize: { w: 1400, h: 420 } });
    expect(Buffer.from(whole.base64, 'base64').equals(fs.readFileSync(file('pump-sheet.png')))).toBe(true);
    const chunkId = (fb.db.prepare('SELECT id FROM chunks WHERE doc_id = ?').get(png?.id) as { id: number }).id;
    const view = (await call('openCitation', { chunkId })) as { type: string; documentText: string | null };
    expect(view).toMatchObject({ type: 'image', documentText: null, pages: 1 });
  });

  it('with OCR off, an image fails with OCR_DISABLED and folder scans leave images out', async () => {
    fb.updateSettings({ ocr: { enabled: false } });
    try {
      const named = await fb.ingest.ingest([file('pump-sheet.png')], { force: true });
      expect(named.files[0]).toMatchObject({ outcome: 'failed', error: { code: 'OCR_DISABLED' } });
      // The indexed copy stays; a folder scan neither fails the images nor removes them as missing.
      expect(getDocumentByPath(fb.db, file('pump-sheet.png'))?.chunkCount).toBeGreaterThan(0);
      const scan = await fb.ingest.ingest([folder], { removeMissing: true });
      expect(scan.files.map((f) => path.basename(f.file))).toEqual(['notes.txt']);
      expect(scan.removed).toEqual([]);
      expect(getDocumentByPath(fb.db, file('coolant-scan.tif'))).not.toBeNull();
    } finally {
      fb.updateSettings({ ocr: { enabled: true } });
    }
  });
});
