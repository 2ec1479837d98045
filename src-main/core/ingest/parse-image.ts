/**
 * PNG / JPEG / TIFF → blocks by OCR: one page per image, one per TIFF page. Each page is
 * decoded upright (`image-file.ts`), brought to the OCR resolution when the file records its
 * scan resolution, reduced when it is very large, and read by tesseract.js (`ocr.ts`). The
 * words go through the same page layout as scanned PDF pages; passage boxes are stored in
 * pixels of the upright image so the viewer can box them on the picture.
 */
import type { IngestLimits, OcrSettings } from '../config';
import { FieldbookError } from '../errors';
import { decodeForOcr, imagePage, MAX_OCR_PIXELS, probeImage, type ImagePage } from './image-file';
import { OcrPages, pageList } from './ocr-pages';
import { documentTitle, layoutBlocks, type PageLines } from './page-layout';
import type { Box } from '../domain';
import type { ParsedDocument } from './types';

/**
 * How much to resize a page before OCR: to the OCR resolution when the scan's own is known
 * (never more than 2× either way), and down to MAX_OCR_PIXELS. An image without a usable
 * resolution (photos, screenshots) is read at its own size.
 */
export function ocrScale(page: Pick<ImagePage, 'width' | 'height' | 'dpi'>, ocr: OcrSettings): number {
  const byDpi = page.dpi ? Math.min(2, Math.max(0.5, ocr.dpi / page.dpi)) : 1;
  const byPixels = Math.sqrt(MAX_OCR_PIXELS / (page.width * page.height));
  return Math.min(byDpi, byPixels);
}

function scaleBox(box: Box, factor: number): Box {
  return { page: box.page, x: box.x * factor, y: box.y * factor, w: box.w * factor, h: box.h * factor };
}

function message(err: unknown): string {
  return err instanceof FieldbookError ? (err.detail ?? err.message) : err instanceof Error ? err.message : String(err);
}

export async function parseImage(
  data: Buffer,
  limits: IngestLimits,
  fileName: string,
  onPage?: (p: { page: number; pages: number }) => void,
  ocr?: OcrSettings,
): Promise<ParsedDocument> {
  if (!ocr?.enabled) throw new FieldbookError('OCR_DISABLED', { file: fileName });
  const { pages: pageCount } = await probeImage(data, fileName);
  if (pageCount > limits.maxPages) {
    throw new FieldbookError('IMAGE_TOO_LARGE', { file: fileName, detail: `${pageCount} pages > ${limits.maxPages}` });
  }
  const pages: PageLines[] = [];
  const pageSizes: Array<{ w: number; h: number }> = [];
  /** Pixels per point, per page: layout works in points, boxes are stored in pixels. */
  const pixelsPerPoint = new Map<number, number>();
  const ocrPages = new OcrPages(ocr);
  const failures: Array<{ page: number; err: unknown }> = [];
  const emptyPages: number[] = [];
  const reduced: string[] = [];
  for (let n = 1; n <= pageCount; n++) {
    try {
      const page = await imagePage(data, fileName, n);
      pageSizes.push({ w: page.width, h: page.height });
      // Without a recorded resolution the picture is taken to be at the OCR resolution.
      const dpi = page.dpi ?? ocr.dpi;
      pixelsPerPoint.set(n, dpi / 72);
      const outcome = await ocrPages.imagePage(
        n,
        async () => {
          const decoded = await decodeForOcr(data, fileName, page, ocrScale(page, ocr), dpi);
          if (decoded.scale < 0.99 && page.width * page.height > MAX_OCR_PIXELS) {
            reduced.push(
              `${n} (${page.width} × ${page.height} → ${Math.round(page.width * decoded.scale)} × ${Math.round(page.height * decoded.scale)} px)`,
            );
          }
          return { png: decoded.png, pointsPerPixel: 72 / (dpi * decoded.scale) };
        },
        page.width * page.height,
        (page.width * 72) / dpi,
        (page.height * 72) / dpi,
      );
      if (outcome.lines) pages.push(outcome.lines);
      else emptyPages.push(n);
    } catch (err) {
      // A single image fails with its own error; a TIFF page that cannot be read is reported and the rest count.
      if (pageCount === 1) throw err;
      if (pageSizes.length < n) pageSizes.push({ w: 0, h: 0 });
      failures.push({ page: n, err });
    }
    onPage?.({ page: n, pages: pageCount });
  }
  if (pages.length === 0) {
    const first = failures[0];
    if (first && failures.length === pageCount) throw first.err;
    throw ocrPages.noTextError(fileName, 'IMAGE_NO_TEXT', pageCount > 1 ? `${pageCount} pages` : undefined);
  }
  const blocks = layoutBlocks(pages);
  ocrPages.boxesToPage(blocks);
  for (const block of blocks) {
    const factor = block.page === null ? undefined : pixelsPerPoint.get(block.page);
    if (factor !== undefined) block.boxes = block.boxes.map((b) => scaleBox(b, factor));
  }
  const warnings: string[] = [];
  if (failures.length) {
    warnings.push(`Pages that could not be read: ${failures.map((f) => `${f.page} (${message(f.err)})`).join(', ')}`);
  }
  const noText = emptyPages.filter((p) => !ocrPages.noted(p));
  if (noText.length) warnings.push(`No text recognised on page ${pageList(noText)}`);
  if (reduced.length) warnings.push(`Very large pages reduced for OCR: ${reduced.join(', ')}`);
  warnings.push(...ocrPages.warnings());
  return {
    type: 'image',
    title: documentTitle(blocks, null, fileName),
    pages: pageCount,
    pageSizes,
    blocks,
    warnings,
  };
}
