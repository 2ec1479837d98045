/**
 * OCR of real-world scan shapes (issue 16), for `npm run bench`: character error rate and stray
 * CJK characters with the fixed eng+chi_tra set against the per-page language choice, and the
 * cost of orientation detection on a turned page.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadPdfjs } from '../../src-main/core/ingest/pdfjs';
import sharp from 'sharp';
import type { OcrSettings } from '../../src-main/core/config';
import { closeOcr, readPage, recognizeImage, renderPdfPage, type OcrWord } from '../../src-main/core/ingest/ocr';
import { layoutBlocks, ocrPageLines } from '../../src-main/core/ingest/page-layout';
import { parseDocument } from '../../src-main/core/ingest/parse-file';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import { characterErrorRate } from '../support/cer';
import { corpusDir, samplesDir } from '../support/paths';
import { englishFormScan, englishScan, englishTruth, turned } from '../support/scans';

const OCR: OcrSettings = { enabled: true, languages: ['eng', 'chi_tra'], dpi: 200 };

/** Words → text through the same page layout as ingestion (page size in points). */
async function pageText(words: OcrWord[], png: Buffer, dpi: number): Promise<string> {
  const meta = await sharp(png).metadata();
  const size = (px: number | undefined): number => ((px ?? 1) * 72) / dpi;
  return layoutBlocks([ocrPageLines(1, size(meta.width), size(meta.height), words)])
    .map((b) => b.text)
    .join(' ');
}

const squash = (t: string): string => t.normalize('NFKC').replace(/\s+/g, '');
const cjk = (t: string): number => (t.match(/[\u3400-\u9fff\uf900-\ufaff]/g) ?? []).length;

async function pdfPage(file: string, n: number, dpi: number): Promise<Buffer> {
  const { getDocument } = await loadPdfjs();
  const pdf = await getDocument({ data: new Uint8Array(fs.readFileSync(file)), isEvalSupported: false }).promise;
  try {
    return await renderPdfPage(pdf, n, dpi);
  } finally {
    await pdf.destroy();
  }
}

async function textLayer(file: string, n: number): Promise<string> {
  const doc = await parseDocument(file, DEFAULT_SETTINGS.limits);
  return doc.blocks
    .filter((b) => b.page === n)
    .map((b) => b.text)
    .join(' ');
}

export async function benchOcrScanShapes(): Promise<void> {
  console.log('\n## OCR language per page and orientation (tesseract.js; eng+chi_tra configured)');
  const pages: Array<{ label: string; png: Buffer; dpi: number; truth: string; cjkText: boolean }> = [
    {
      label: 'English sample page (conveyor p1, 200 dpi)',
      png: await pdfPage(path.join(samplesDir, 'conveyor-maintenance_en.pdf'), 1, 200),
      dpi: 200,
      truth: await textLayer(path.join(samplesDir, 'conveyor-maintenance_en.pdf'), 1),
      cjkText: false,
    },
    {
      label: 'English page on a form (150 dpi)',
      png: await englishFormScan(),
      dpi: 150,
      truth: englishTruth(),
      cjkText: false,
    },
    {
      label: 'zh-TW sample page (PLC p3, 200 dpi)',
      png: await pdfPage(path.join(samplesDir, 'plc-fault-reset_zh-TW.pdf'), 3, 200),
      dpi: 200,
      truth: await textLayer(path.join(samplesDir, 'plc-fault-reset_zh-TW.pdf'), 3),
      cjkText: true,
    },
  ];
  const linn = path.join(corpusDir, 'linn_sequencer_brochure_scan.pdf');
  if (fs.existsSync(linn)) {
    pages.push({
      label: 'Linn brochure scan (English, 200 dpi)',
      png: await pdfPage(linn, 1, 200),
      dpi: 200,
      truth: fs.readFileSync(path.join(corpusDir, 'linn_sequencer_brochure_scan.groundtruth.txt'), 'utf8'),
      cjkText: false,
    });
  }
  // Start both workers first so the figures are per page.
  await recognizeImage(await englishScan(), ['eng'], 1);
  await recognizeImage(await englishScan(), OCR.languages, 1);
  for (const p of pages) {
    const compare = (t: string): number =>
      p.cjkText ? characterErrorRate(squash(t), squash(p.truth)) : characterErrorRate(t, p.truth);
    const t0 = performance.now();
    const fixed = await pageText(await recognizeImage(p.png, OCR.languages, 72 / p.dpi), p.png, p.dpi);
    const s0 = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const chosen = await readPage(p.png, OCR, 72 / p.dpi, { mayTurn: true });
    const s1 = (performance.now() - t1) / 1000;
    const text = await pageText(chosen.words, p.png, p.dpi);
    console.log(
      `${p.label}: eng+chi_tra always ${(compare(fixed) * 100).toFixed(1)}% CER, ${cjk(fixed)} CJK chars, ${s0.toFixed(1)} s` +
        ` | per page (${chosen.languages.join('+')}, confidence ${Math.round(chosen.confidence)}%) ${(compare(text) * 100).toFixed(1)}% CER, ${cjk(text)} CJK chars, ${s1.toFixed(1)} s`,
    );
  }
  const upright = await englishScan();
  for (const r of [0, 90, 180, 270] as const) {
    const png = r === 0 ? upright : await turned(upright, r);
    const t0 = performance.now();
    const read = await readPage(png, OCR, 72 / 150, { mayTurn: true });
    const s = (performance.now() - t0) / 1000;
    const cer = characterErrorRate(await pageText(read.words, upright, 150), englishTruth());
    console.log(
      `English page turned ${r}°: read turned ${read.rotation}°, ${(cer * 100).toFixed(1)}% CER, ${s.toFixed(1)} s (orientation check included)`,
    );
  }
  await closeOcr();
}
