/**
 * Offline OCR for PDF pages without a text layer: the page is rendered by pdf.js onto a
 * canvas (@napi-rs/canvas) and read by tesseract.js with language data installed from npm
 * (@tesseract.js-data/*) — nothing is fetched at run time. Runs inside the parser process.
 * Returns text lines with their boxes in PDF points, so citations can box the passage.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api';
import { createWorker, type Worker } from 'tesseract.js';
import type { OcrSettings } from '../config';
import { FieldbookError } from '../errors';

/** A recognised word with its box in PDF points (top-left origin), like a text-layer item. */
export interface OcrWord {
  text: string;
  x: number;
  top: number;
  w: number;
  size: number;
  confidence: number;
}

const require = createRequire(import.meta.url);

/** tesseract.js wants all languages in one folder: link the npm packages' files into one. */
function languageFolder(languages: string[]): string {
  const dir = path.join(os.tmpdir(), `fieldbook-ocr-${languages.join('+')}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const lang of languages) {
    let info: { langPath: string };
    try {
      info = require(`@tesseract.js-data/${lang}`) as { langPath: string };
    } catch {
      throw new FieldbookError('PARSE_FAILED', {
        detail: `OCR language data "${lang}" is not installed (npm package @tesseract.js-data/${lang})`,
      });
    }
    const file = `${lang}.traineddata.gz`;
    const target = path.join(dir, file);
    if (!fs.existsSync(target)) fs.symlinkSync(path.join(info.langPath, file), target);
  }
  return dir;
}

let worker: { langs: string; worker: Promise<Worker> } | null = null;

async function getWorker(languages: string[]): Promise<Worker> {
  const key = languages.join('+');
  if (worker?.langs !== key) {
    if (worker) await (await worker.worker).terminate();
    worker = {
      langs: key,
      worker: createWorker(languages, 1, { langPath: languageFolder(languages), gzip: true, cacheMethod: 'none' }),
    };
  }
  return worker.worker;
}

interface TessWord {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}

/**
 * OCR one page. Words come back with boxes in PDF points so the same line, column and
 * paragraph logic as for text layers puts them in reading order.
 */
export async function ocrPdfPage(pdf: PDFDocumentProxy, pageNumber: number, settings: OcrSettings): Promise<OcrWord[]> {
  const page = await pdf.getPage(pageNumber);
  const scale = settings.dpi / 72;
  const viewport = page.getViewport({ scale });
  const factory = (
    pdf as unknown as {
      canvasFactory: {
        create(w: number, h: number): { canvas: { encode(f: 'png'): Promise<Buffer> }; context: unknown };
      };
    }
  ).canvasFactory;
  const { canvas, context } = factory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
  await page.render({ canvasContext: context as CanvasRenderingContext2D, viewport } as Parameters<
    typeof page.render
  >[0]).promise;
  const png = await canvas.encode('png');
  page.cleanup();
  const w = await getWorker(settings.languages);
  const { data } = await w.recognize(png, {}, { blocks: true, text: true });
  const words: OcrWord[] = [];
  for (const block of data.blocks ?? []) {
    for (const para of block.paragraphs) {
      for (const line of para.lines) {
        // Word height varies with ascenders; the line's height is the font size.
        const size = Math.max(1, (line.bbox.y1 - line.bbox.y0) / scale);
        for (const word of line.words as TessWord[]) {
          const text = word.text.trim();
          if (!text) continue;
          const { x0, x1 } = word.bbox;
          words.push({
            text,
            x: x0 / scale,
            top: line.bbox.y0 / scale,
            w: (x1 - x0) / scale,
            size,
            confidence: word.confidence,
          });
        }
      }
    }
  }
  return words;
}

export async function closeOcr(): Promise<void> {
  if (worker) await (await worker.worker).terminate();
  worker = null;
}
