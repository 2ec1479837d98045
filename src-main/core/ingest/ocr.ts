/**
 * Offline OCR with tesseract.js and language data installed from npm (@tesseract.js-data/*);
 * nothing is fetched at run time. Runs inside the parser process. Scanned PDF pages are
 * rendered by pdf.js onto a canvas (@napi-rs/canvas) first; images arrive as PNG from
 * `image-file.ts`. Words come back with their boxes in points, so the shared page layout
 * puts them in reading order and citations can box the passage.
 *
 * Per page (`readPage`): a blank page is not sent to tesseract; a weak read is checked for a
 * page turned 90/180/270° (four small probes on a reduced copy, only when the upright read is
 * weak); a read with a few CJK characters among mostly Latin text is read again with the
 * Latin-script languages alone and the better-scoring read kept (eng+chi_tra reads rules,
 * boxes and symbols on English pages as stray CJK characters). Callers leave pages under
 * OCR_CONFIDENCE_FLOOR out of search, and share one `OcrBudget` per file.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api';
import type { Worker } from 'tesseract.js';
import type { OcrSettings } from '../config';
import { FieldbookError } from '../errors';
import { isCjkChar } from '../text/normalize';
import { loadSharp, MAX_OCR_PIXELS } from './image-file';
import type { Box } from './types';

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

/** Clockwise turn applied to a page image before it read upright. */
export type Rotation = 0 | 90 | 180 | 270;

/** One page read by OCR: words in points of the upright page, their confidence, how it was read. */
export interface PageRead {
  words: OcrWord[];
  /** Character-weighted mean word confidence (0–100); 0 when nothing was recognised. */
  confidence: number;
  rotation: Rotation;
  languages: string[];
  /** True when the page image was blank and tesseract was not run. */
  blank: boolean;
}

/** Pages read with a lower confidence than this are kept out of search (and listed on the document). */
export const OCR_CONFIDENCE_FLOOR = 45;
/** An upright read below this confidence is checked for a turned page. */
const ORIENTATION_CHECK_BELOW = 75;
/** A turned probe must beat the upright probe by this much to turn the page. */
const ORIENTATION_MARGIN = 8;
/** …and the turned page must then read at least this well, and this many characters: junk read sideways is still junk. */
const TURNED_MIN_CONFIDENCE = 60;
const TURNED_MIN_CHARS = 20;
/** A turned probe reading this well (and better than upright) ends the search early. */
const CLEAR_PROBE_CONFIDENCE = 85;
/** Orientation probes are read on a copy reduced to this many pixels. */
const PROBE_PIXELS = 1_500_000;
/** A page whose characters are less CJK than this is also read with the Latin-script languages alone. */
const CJK_SHARE_FOR_LATIN_CHECK = 0.3;
/** The Latin-only read is kept unless it scores this much lower than the mixed read. */
const LATIN_READ_MARGIN = 5;
/** Pages drawn at fewer pixels per inch than this (after the pixel cap) are not read: text would be a few pixels tall. */
const MIN_RENDER_DPI = 50;

/**
 * Per-file OCR budget defaults: past either, the remaining pages are reported as not read.
 * 3000 megapixels is about 800 letter pages at 200 dpi; 20 minutes is a few hundred scanned pages.
 */
export const DEFAULT_OCR_BUDGET = { seconds: 1200, megapixels: 3000 };

const CJK_LANGUAGE_RE = /^(chi_|jpn|kor)/;

const require = createRequire(import.meta.url);

let languageDir: string | null = null;

/**
 * tesseract.js wants all languages in one folder. The npm packages keep each language in its
 * own, so their files are linked into a private folder made fresh for this process
 * (mkdtemp: a new name, mode 0700, owned by this user), never a fixed shared name that
 * another local user could create first and fill with their own data.
 */
function languageFolder(languages: string[]): string {
  if (languageDir === null || !fs.existsSync(languageDir)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-ocr-'));
    languageDir = dir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  for (const lang of languages) {
    if (!/^[a-z_]+$/.test(lang)) throw new FieldbookError('PARSE_FAILED', { detail: `bad OCR language "${lang}"` });
    let info: { langPath: string };
    try {
      info = require(`@tesseract.js-data/${lang}`) as { langPath: string };
    } catch {
      throw new FieldbookError('PARSE_FAILED', {
        detail: `OCR language data "${lang}" is not installed (npm package @tesseract.js-data/${lang})`,
      });
    }
    const file = `${lang}.traineddata.gz`;
    const target = path.join(languageDir, file);
    if (!fs.existsSync(target)) linkOrCopy(path.join(info.langPath, file), target);
  }
  return languageDir;
}

/** Link a language file; a sandboxed parser process may not create links (Node's permission model), so it copies. */
function linkOrCopy(source: string, target: string): void {
  try {
    fs.symlinkSync(source, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_ACCESS_DENIED') throw err;
    fs.copyFileSync(source, target);
  }
}

/** The private folder holding the language data links (null before the first OCR of this process). */
export function ocrLanguageFolder(): string | null {
  return languageDir;
}

/** One worker per language set, kept for the life of the parser process. */
const workers = new Map<string, Promise<Worker>>();

function getWorker(languages: string[]): Promise<Worker> {
  const key = languages.join('+');
  let w = workers.get(key);
  if (!w) {
    // tesseract.js is loaded with the first OCR: a parser that reads only text pages never loads it.
    w = import('tesseract.js')
      .then(({ createWorker }) =>
        createWorker(languages, 1, { langPath: languageFolder(languages), gzip: true, cacheMethod: 'none' }),
      )
      .then(async (created) => {
        // Leptonica's tiled (local) Otsu instead of one global threshold: JPEG ringing around table
        // rules and uneven light otherwise make tesseract skip whole rows (character error rate of
        // an A4 JPEG in `npm run bench` 12.8 → 3.8 %); clean scans read the same (Linn 38.4 → 38.3 %).
        await created.setParameters({ thresholding_method: '1' });
        return created;
      });
    workers.set(key, w);
  }
  return w;
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

/** Letters (not modifier marks) and digits: what a confidence is about. */
const TEXT_CHAR_RE = /[\p{L}\p{N}]/u;
const MODIFIER_RE = /\p{Lm}/u;

/**
 * Mean word confidence weighted by each word's letters and digits (0 for none). Marks read off
 * rules, boxes and specks (| ˍ ( ̅) carry no text and are left out: a blank form is otherwise
 * scored by the confidence of its table rules.
 */
export function wordsConfidence(words: Array<Pick<OcrWord, 'text' | 'confidence'>>): number {
  let chars = 0;
  let sum = 0;
  for (const w of words) {
    const n = Array.from(w.text).filter((c) => TEXT_CHAR_RE.test(c) && !MODIFIER_RE.test(c)).length;
    chars += n;
    sum += w.confidence * n;
  }
  return chars === 0 ? 0 : sum / chars;
}

/** CJK characters among the words' characters: how many, and their share. */
function cjkChars(words: OcrWord[]): { count: number; share: number } {
  const chars = words.flatMap((w) => Array.from(w.text));
  const count = chars.filter((c) => isCjkChar(c)).length;
  return { count, share: chars.length === 0 ? 0 : count / chars.length };
}

/**
 * Read one image (PNG/JPEG bytes) with the given languages. `pointsPerPixel` converts the
 * image's pixels to the page's points, so the same line, column and paragraph logic as for
 * text layers applies.
 */
export async function recognizeImage(image: Buffer, languages: string[], pointsPerPixel: number): Promise<OcrWord[]> {
  const w = await getWorker(languages);
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

/** Whether a page image holds no ink worth reading (a blank or nearly blank page). */
async function isBlank(image: Buffer): Promise<boolean> {
  const sharp = await loadSharp();
  const stats = await sharp(image).greyscale().stats();
  const grey = stats.channels[0];
  if (!grey) return true;
  // A blank page is uniform (a rendered one) or has nothing darker than pale paper noise;
  // faint pencil or a light grey print (~170) still goes to tesseract.
  return grey.stdev < 1 || grey.min > 215;
}

async function rotated(image: Buffer, rotation: Rotation): Promise<Buffer> {
  if (rotation === 0) return image;
  const sharp = await loadSharp();
  return sharp(image).rotate(rotation).png({ compressionLevel: 1 }).toBuffer();
}

/**
 * Which way a page is turned: the page reduced to PROBE_PIXELS is read at each rotation and
 * the best-scoring one wins when it clearly beats the upright read. Costs at most four small reads
 * (a turn that reads clearly well ends it), and runs only for pages whose upright read is weak.
 */
async function detectRotation(image: Buffer, languages: string[]): Promise<Rotation> {
  const sharp = await loadSharp();
  const meta = await sharp(image).metadata();
  const pixels = (meta.width ?? 1) * (meta.height ?? 1);
  const scale = Math.min(1, Math.sqrt(PROBE_PIXELS / pixels));
  const probe =
    scale < 1
      ? await sharp(image)
          .resize({ width: Math.max(1, Math.round((meta.width ?? 1) * scale)) })
          .png({ compressionLevel: 1 })
          .toBuffer()
      : image;
  const scores = new Map<Rotation, number>();
  const upright = wordsConfidence(await recognizeImage(probe, languages, 1));
  scores.set(0, upright);
  for (const r of [90, 270, 180] as const) {
    const score = wordsConfidence(await recognizeImage(await rotated(probe, r), languages, 1));
    scores.set(r, score);
    // A turn that reads clearly well settles it: the other probes are skipped.
    if (score >= CLEAR_PROBE_CONFIDENCE && score >= upright + ORIENTATION_MARGIN) return r;
  }
  let best: Rotation = 0;
  for (const [r, s] of scores) if (s > (scores.get(best) ?? 0)) best = r;
  return best !== 0 && (scores.get(best) ?? 0) >= upright + ORIENTATION_MARGIN ? best : 0;
}

function read(words: OcrWord[], rotation: Rotation, languages: string[]): PageRead {
  return { words, confidence: wordsConfidence(words), rotation, languages, blank: false };
}

/**
 * Read one page image: orientation and language chosen per page (see the file comment).
 * Word positions are in points of the upright page (`pointsPerPixel` × pixels).
 */
export async function readPage(
  image: Buffer,
  settings: OcrSettings,
  pointsPerPixel: number,
  opts: { mayTurn: boolean },
): Promise<PageRead> {
  const all = settings.languages;
  if (await isBlank(image)) return { words: [], confidence: 0, rotation: 0, languages: all, blank: true };
  let upright = image;
  let best = read(await recognizeImage(image, all, pointsPerPixel), 0, all);
  if (opts.mayTurn && best.confidence < ORIENTATION_CHECK_BELOW && best.words.length > 0) {
    const rotation = await detectRotation(image, all);
    if (rotation !== 0) {
      const turned = await rotated(image, rotation);
      const again = read(await recognizeImage(turned, all, pointsPerPixel), rotation, all);
      const chars = again.words.reduce((a, w) => a + Array.from(w.text).length, 0);
      if (
        again.confidence > best.confidence &&
        again.confidence >= TURNED_MIN_CONFIDENCE &&
        chars >= TURNED_MIN_CHARS
      ) {
        best = again;
        upright = turned;
      }
    }
  }
  const latin = all.filter((l) => !CJK_LANGUAGE_RE.test(l));
  // Only a read with a few CJK characters is read again: without any, the Latin read would be the same.
  const cjk = cjkChars(best.words);
  if (latin.length > 0 && latin.length < all.length && cjk.count > 0 && cjk.share < CJK_SHARE_FOR_LATIN_CHECK) {
    const alt = read(await recognizeImage(upright, latin, pointsPerPixel), best.rotation, latin);
    if (alt.words.length > 0 && alt.confidence >= best.confidence - LATIN_READ_MARGIN) best = alt;
  }
  return best;
}

/**
 * A box on the upright page (after `rotation`) → the same box on the page as stored
 * (`width` × `height` in the page's own orientation, same units).
 */
export function unrotateBox(box: Box, rotation: Rotation, width: number, height: number): Box {
  const { page, x, y, w, h } = box;
  switch (rotation) {
    case 0:
      return box;
    case 90: // upright (x', y') = (height − y, x)
      return { page, x: y, y: height - x - w, w: h, h: w };
    case 180:
      return { page, x: width - x - w, y: height - y - h, w, h };
    case 270: // upright (x', y') = (y, width − x)
      return { page, x: width - y - h, y: x, w: h, h: w };
  }
}

/**
 * The OCR budget of one file: time spent and pixels decoded for OCR. Past either limit the
 * remaining pages are not read (a few-kilobyte file of thousands of blank or huge pages would
 * otherwise keep a parser busy for many minutes); the caller lists them on the document.
 */
export class OcrBudget {
  private readonly started = performance.now();
  private pixels = 0;
  constructor(
    readonly seconds: number,
    readonly megapixels: number,
  ) {}

  static of(settings: OcrSettings): OcrBudget {
    return new OcrBudget(
      settings.budget?.seconds ?? DEFAULT_OCR_BUDGET.seconds,
      settings.budget?.megapixels ?? DEFAULT_OCR_BUDGET.megapixels,
    );
  }

  /** Whether a page of `pixels` may still be read; counts it when so. */
  take(pixels: number): boolean {
    if (this.exhausted() || this.pixels + pixels > this.megapixels * 1e6) return false;
    this.pixels += pixels;
    return true;
  }

  private exhausted(): boolean {
    return (performance.now() - this.started) / 1000 > this.seconds || this.pixels >= this.megapixels * 1e6;
  }

  /** Words for the warning that lists the pages not read. */
  describe(): string {
    return `the file's OCR budget (${this.seconds} s, ${this.megapixels} megapixels) was used up`;
  }
}

/** How a PDF page is rendered for OCR: its size in pixels at the resolution used (capped to MAX_OCR_PIXELS). */
export function renderPlan(
  widthPt: number,
  heightPt: number,
  dpi: number,
): { dpi: number; width: number; height: number; reduced: boolean; tooLarge: boolean } {
  const full = ((widthPt * dpi) / 72) * ((heightPt * dpi) / 72);
  const used = full > MAX_OCR_PIXELS ? dpi * Math.sqrt(MAX_OCR_PIXELS / full) : dpi;
  return {
    dpi: used,
    tooLarge: used < MIN_RENDER_DPI,
    width: Math.ceil((widthPt * used) / 72),
    height: Math.ceil((heightPt * used) / 72),
    reduced: used < dpi,
  };
}

/**
 * Render one PDF page to PNG at `dpi` (pdf.js on @napi-rs/canvas), reduced to at most
 * MAX_OCR_PIXELS as images are (`renderPlan` gives the resolution really used): a
 * 5000 × 5000 pt page at 200 dpi would take gigabytes. A page so large that even reduced its
 * text would be under MIN_RENDER_DPI is refused.
 */
export async function renderPdfPage(pdf: PDFDocumentProxy, pageNumber: number, dpi: number): Promise<Buffer> {
  const page = await pdf.getPage(pageNumber);
  const size = page.getViewport({ scale: 1 });
  const plan = renderPlan(size.width, size.height, dpi);
  if (plan.tooLarge) {
    page.cleanup();
    throw new FieldbookError('PARSE_FAILED', { detail: tooLargeDetail(pageNumber, size.width, size.height) });
  }
  const viewport = page.getViewport({ scale: plan.dpi / 72 });
  const factory = (
    pdf as unknown as {
      canvasFactory: {
        create(w: number, h: number): { canvas: { encode(f: 'png'): Promise<Buffer> }; context: unknown };
      };
    }
  ).canvasFactory;
  const { canvas, context } = factory.create(plan.width, plan.height);
  await page.render({ canvasContext: context as CanvasRenderingContext2D, viewport } as Parameters<
    typeof page.render
  >[0]).promise;
  const png = await canvas.encode('png');
  page.cleanup();
  return png;
}

/** Why a page is not rendered for OCR (see MIN_RENDER_DPI). */
export function tooLargeDetail(pageNumber: number, widthPt: number, heightPt: number): string {
  return `page ${pageNumber} is ${Math.round(widthPt)} × ${Math.round(heightPt)} pt (${Math.round(widthPt / 72)} × ${Math.round(heightPt / 72)} in): too large to read by OCR`;
}

export async function closeOcr(): Promise<void> {
  const all = [...workers.values()];
  workers.clear();
  for (const w of all) await (await w).terminate();
  if (languageDir) fs.rmSync(languageDir, { recursive: true, force: true });
  languageDir = null;
}
