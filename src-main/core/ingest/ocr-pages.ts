/**
 * The OCR side of one paged file (a PDF with scanned pages, an image, a TIFF): which pages or
 * parts of pages are read, the file's OCR budget, the confidence floor, pages turned upright,
 * and the notes the document carries about all of it. `parse-pdf.ts` and `parse-image.ts`
 * keep their page loops and call this per page.
 */
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/types/src/display/api';
import type { OcrSettings } from '../config';
import { FieldbookError } from '../errors';
import {
  OCR_CONFIDENCE_FLOOR,
  OcrBudget,
  readPage,
  renderPdfPage,
  renderPlan,
  tooLargeDetail,
  unrotateBox,
  wordsConfidence,
  type OcrWord,
  type PageRead,
  type Rotation,
} from './ocr';
import { ocrPageLines, ocrWarning, pageLinesFrom, type LayoutItem, type PageLines } from './page-layout';
import { inRegion, regionsToRead, type Region } from './pdf-image-regions';
import type { Block } from './types';

/** What OCR made of one page: its lines (null when nothing usable was read). */
export interface OcrPageOutcome {
  lines: PageLines | null;
}

function message(err: unknown): string {
  return err instanceof FieldbookError ? (err.detail ?? err.message) : err instanceof Error ? err.message : String(err);
}

/** Pages as a short list: "1, 2, 5–9". */
export function pageList(pages: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < pages.length) {
    let j = i;
    while (j + 1 < pages.length && (pages[j + 1] as number) === (pages[j] as number) + 1) j++;
    parts.push(j - i >= 2 ? `${pages[i]}–${pages[j]}` : pages.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return parts.join(', ');
}

/** Whether two runs overlap by more than half of the smaller one. */
function overlaps(
  a: Pick<LayoutItem, 'x' | 'top' | 'w' | 'size'>,
  b: Pick<LayoutItem, 'x' | 'top' | 'w' | 'size'>,
): boolean {
  const ix = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const iy = Math.min(a.top + a.size, b.top + b.size) - Math.max(a.top, b.top);
  if (ix <= 0 || iy <= 0) return false;
  return ix * iy > 0.5 * Math.min(a.w * a.size, b.w * b.size);
}

export class OcrPages {
  private readonly budget: OcrBudget;
  private readonly read: Array<{ page: number; confidence: number }> = [];
  private readonly low: Array<{ page: number; confidence: number }> = [];
  private readonly turned = new Map<number, { rotation: Rotation; width: number; height: number }>();
  private readonly overBudget: number[] = [];
  private readonly tooLarge: string[] = [];
  private readonly reduced: string[] = [];
  private readonly failed: string[] = [];

  constructor(private readonly settings: OcrSettings) {
    this.budget = OcrBudget.of(settings);
  }

  /** Whether this page (of `pixels` to decode) may still be read; pages past the budget are noted. */
  private allowed(page: number, pixels: number): boolean {
    if (this.budget.take(pixels)) return true;
    this.overBudget.push(page);
    return false;
  }

  /**
   * Apply the confidence floor to a page read: below it the page is noted and left out.
   * Returns the words to keep (all or none).
   */
  private accept(page: number, result: PageRead, width: number, height: number): OcrWord[] {
    if (result.blank || result.words.length === 0) return [];
    if (result.confidence < OCR_CONFIDENCE_FLOOR) {
      this.low.push({ page, confidence: result.confidence });
      return [];
    }
    this.read.push({ page, confidence: result.confidence });
    if (result.rotation !== 0) this.turned.set(page, { rotation: result.rotation, width, height });
    return result.words;
  }

  /**
   * A PDF page: read by OCR the image regions the text layer does not cover (or the whole
   * page without a text layer), keep the text layer, and add the OCR words of those regions.
   * Returns null when the page needs no OCR.
   */
  async pdfPage(
    pdf: PDFDocumentProxy,
    page: PDFPageProxy,
    n: number,
    items: LayoutItem[],
  ): Promise<OcrPageOutcome | null> {
    const viewport = page.getViewport({ scale: 1 });
    let regions: Region[] | null;
    try {
      regions = await regionsToRead(page, viewport, items);
    } catch (err) {
      this.failed.push(`${n} (${message(err)})`);
      return null;
    }
    if (!regions) return null;
    const { width, height } = viewport;
    const plan = renderPlan(width, height, this.settings.dpi);
    if (plan.tooLarge) {
      this.tooLarge.push(tooLargeDetail(n, width, height));
      return { lines: null };
    }
    if (!this.allowed(n, plan.width * plan.height)) return { lines: null };
    if (plan.reduced)
      this.reduced.push(`${n} (${Math.round(width)} × ${Math.round(height)} pt at ${Math.round(plan.dpi)} dpi)`);
    let result: PageRead;
    try {
      const png = await renderPdfPage(pdf, n, this.settings.dpi);
      // Only a page without text-layer text may be turned: the text layer is upright as it is.
      result = await readPage(png, this.settings, 72 / plan.dpi, { mayTurn: items.length === 0 });
    } catch (err) {
      this.failed.push(`${n} (${message(err)})`);
      return { lines: null };
    }
    const upright =
      result.rotation === 90 || result.rotation === 270 ? { w: height, h: width } : { w: width, h: height };
    if (items.length === 0) {
      const words = this.accept(n, result, width, height);
      return { lines: words.length ? ocrPageLines(n, upright.w, upright.h, words) : null };
    }
    // Mixed page: OCR words inside the unread regions that do not repeat a text-layer run.
    const inside = result.words.filter(
      (w) => regions.some((r) => inRegion(r, w)) && !items.some((it) => overlaps(it, w)),
    );
    const words = this.accept(n, { ...result, words: inside, confidence: wordsConfidence(inside) }, width, height);
    if (words.length === 0) return null;
    const lines = ocrPageLines(n, width, height, words);
    const merged = pageLinesFrom(n, width, height, [
      ...items,
      ...words.map((w) => ({ str: w.text, x: w.x, top: w.top, w: w.w, size: w.size })),
    ]);
    if (lines.ocrConfidence !== undefined) merged.ocrConfidence = lines.ocrConfidence;
    return { lines: merged };
  }

  /**
   * An image page already decoded for OCR (`png`, `pointsPerPixel`), of `pixels` decoded
   * pixels and `width` × `height` points. Returns null lines when nothing usable was read.
   */
  async imagePage(
    n: number,
    decode: () => Promise<{ png: Buffer; pointsPerPixel: number }>,
    pixels: number,
    width: number,
    height: number,
  ): Promise<OcrPageOutcome> {
    if (!this.allowed(n, pixels)) return { lines: null };
    const { png, pointsPerPixel } = await decode();
    const result = await readPage(png, this.settings, pointsPerPixel, { mayTurn: true });
    const upright =
      result.rotation === 90 || result.rotation === 270 ? { w: height, h: width } : { w: width, h: height };
    const words = this.accept(n, result, width, height);
    return { lines: words.length ? ocrPageLines(n, upright.w, upright.h, words) : null };
  }

  /** Boxes of pages read turned: back to the page as stored (call on the laid-out blocks). */
  boxesToPage(blocks: Block[]): void {
    for (const block of blocks) {
      const t = block.page === null ? undefined : this.turned.get(block.page);
      if (t) block.boxes = block.boxes.map((b) => unrotateBox(b, t.rotation, t.width, t.height));
    }
  }

  /**
   * The error for a file none of whose pages gave text: OCR_PAGES_NOT_READ when pages were
   * skipped for size or budget, else `otherwise` (nothing readable); the notes go in the detail.
   */
  noTextError(file: string, otherwise: 'PDF_OCR_NO_TEXT' | 'IMAGE_NO_TEXT', context?: string): FieldbookError {
    const detail = [context ?? '', ...this.warnings()].filter(Boolean).join('; ');
    const code = this.overBudget.length > 0 || this.tooLarge.length > 0 ? 'OCR_PAGES_NOT_READ' : otherwise;
    return new FieldbookError(code, { file, ...(detail ? { detail } : {}) });
  }

  /** Whether page `n` is already named in a note (left out, over budget, too large, failed). */
  noted(n: number): boolean {
    const prefix = `${n} (`;
    return (
      this.low.some((p) => p.page === n) ||
      this.overBudget.includes(n) ||
      this.tooLarge.some((t) => t.startsWith(`page ${n} `)) ||
      this.failed.some((f) => f.startsWith(prefix))
    );
  }

  /** The document's notes about OCR, one line each. */
  warnings(): string[] {
    const out: string[] = [];
    const readNote = ocrWarning(this.read);
    if (readNote) out.push(readNote);
    if (this.turned.size) {
      out.push(`Pages turned upright for OCR: ${[...this.turned].map(([p, t]) => `${p} (${t.rotation}°)`).join(', ')}`);
    }
    if (this.low.length) {
      out.push(
        `Pages left out of search, OCR confidence below ${OCR_CONFIDENCE_FLOOR}%: ${this.low
          .map((p) => `${p.page} (${Math.round(p.confidence)}%)`)
          .join(', ')}`,
      );
    }
    if (this.overBudget.length) {
      out.push(`Pages not read by OCR, ${this.budget.describe()}: ${pageList(this.overBudget)}`);
    }
    if (this.tooLarge.length) out.push(`Pages not read by OCR: ${this.tooLarge.join('; ')}`);
    if (this.reduced.length) out.push(`Very large pages reduced for OCR: ${this.reduced.join(', ')}`);
    if (this.failed.length) out.push(`OCR failed on page ${this.failed.join(', ')}`);
    return out;
  }
}
