/**
 * Offline OCR with tesseract.js and language data installed from npm (@tesseract.js-data/*);
 * nothing is fetched at run time. Runs inside the parser process. Scanned PDF pages are
 * rendered by pdf.js onto a canvas (@napi-rs/canvas) first; images arrive as PNG from
 * `image-file.ts`. Words come back with their boxes in points, so the shared page layout
 * puts them in reading order and citations can box the passage.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api';
import { createWorker, type Worker } from 'tesseract.js';
import type { OcrSettings } from '../config';
import { FieldbookError } from '../errors';

/** A recognised word with its box in points (top-left origin), like a PDF text-layer item. */
export interface OcrWord {
  text: string;
  x: number;
  top: number;
  w: number;
  size: number;
  confidence: number;
  /** Which recognised line (numbered through the page) the word belongs to. */
  line: number;
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
      worker: createWorker(languages, 1, { langPath: languageFolder(languages), gzip: true, cacheMethod: 'none' }).then(
        async (w) => {
          // Leptonica's tiled (local) Otsu instead of one global threshold: JPEG ringing around table
          // rules and uneven light otherwise make tesseract skip whole rows (character error rate of
          // an A4 JPEG in `npm run bench` 12.8 → 3.8 %); clean scans read the same (Linn 38.4 → 38.3 %).
          await w.setParameters({ thresholding_method: '1' });
          return w;
        },
      ),
    };
  }
  return worker.worker;
}

/**
 * chi_tra reads punctuation as the CJK compatibility and small forms (﹒ ﹣ ﹔ ﹁, U+FE30–FE6F);
 * fold them to the ordinary characters (. - ; 「) so text and codes like E﹣117 read normally.
 */
function foldOcrPunctuation(text: string): string {
  return text.replace(/[\uFE30-\uFE6F]/g, (c) => c.normalize('NFKC'));
}

interface TessWord {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}

/**
 * Read one image (PNG/JPEG bytes). `pointsPerPixel` converts the image's pixels to the
 * page's points, so the same line, column and paragraph logic as for text layers applies.
 */
export async function recognizeImage(image: Buffer, settings: OcrSettings, pointsPerPixel: number): Promise<OcrWord[]> {
  const w = await getWorker(settings.languages);
  const { data } = await w.recognize(image, {}, { blocks: true, text: true });
  const words: OcrWord[] = [];
  let lineNumber = 0;
  for (const block of data.blocks ?? []) {
    for (const para of block.paragraphs) {
      for (const line of para.lines) {
        lineNumber++;
        // Font size: tesseract's row height (x-height + ascenders + descenders of the font) is the
        // same for every line set in one font; the line's box varies with the letters it holds.
        const rowHeight = line.rowAttributes?.rowHeight ?? 0;
        const size = Math.max(1, (rowHeight > 0 ? rowHeight : line.bbox.y1 - line.bbox.y0) * pointsPerPixel);
        for (const word of line.words as TessWord[]) {
          const text = foldOcrPunctuation(word.text.trim());
          if (!text) continue;
          const { x0, x1 } = word.bbox;
          words.push({
            text,
            x: x0 * pointsPerPixel,
            top: line.bbox.y0 * pointsPerPixel,
            w: (x1 - x0) * pointsPerPixel,
            size,
            confidence: word.confidence,
            line: lineNumber,
          });
        }
      }
    }
  }
  return words;
}

/** Render one PDF page to PNG at `dpi` (pdf.js on @napi-rs/canvas). */
export async function renderPdfPage(pdf: PDFDocumentProxy, pageNumber: number, dpi: number): Promise<Buffer> {
  const page = await pdf.getPage(pageNumber);
  const viewport = page.getViewport({ scale: dpi / 72 });
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
  return png;
}

/** OCR one PDF page without a text layer: rendered at the OCR resolution, words in PDF points. */
export async function ocrPdfPage(pdf: PDFDocumentProxy, pageNumber: number, settings: OcrSettings): Promise<OcrWord[]> {
  const png = await renderPdfPage(pdf, pageNumber, settings.dpi);
  return recognizeImage(png, settings, 72 / settings.dpi);
}

export async function closeOcr(): Promise<void> {
  if (worker) await (await worker.worker).terminate();
  worker = null;
}
