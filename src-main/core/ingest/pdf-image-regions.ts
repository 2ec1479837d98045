/**
 * Where a PDF page paints images, from its operator list (the current transform is tracked
 * through save/restore, cm and form XObjects; an image fills the unit square of its
 * transform). Used to decide which part of a page needs OCR: a scanned body under a few
 * words of real text (a stamp, a header) is an image region holding no text-layer text.
 */
import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api';
import type { LayoutItem } from './page-layout';
import { loadPdfjs } from './pdfjs';

/** A rectangle in viewport points (top-left origin), like layout items. */
export interface Region {
  x: number;
  top: number;
  w: number;
  h: number;
}

type PageViewport = ReturnType<PDFPageProxy['getViewport']>;

type Matrix = [number, number, number, number, number, number];

const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

function multiply(m: Matrix, n: Matrix): Matrix {
  return [
    m[0] * n[0] + m[2] * n[1],
    m[1] * n[0] + m[3] * n[1],
    m[0] * n[2] + m[2] * n[3],
    m[1] * n[2] + m[3] * n[3],
    m[0] * n[4] + m[2] * n[5] + m[4],
    m[1] * n[4] + m[3] * n[5] + m[5],
  ];
}

function asMatrix(value: unknown): Matrix | null {
  if (!value || typeof value !== 'object' || !('length' in value)) return null;
  const arr = Array.from(value as ArrayLike<number>);
  return arr.length === 6 && arr.every((v) => Number.isFinite(v)) ? (arr as Matrix) : null;
}

type Ops = Awaited<ReturnType<typeof loadPdfjs>>['OPS'];

interface Operators {
  OPS: Ops;
  /** Operators that put marks on the page (a path painted, text shown, a shading); images are below. */
  paint: Set<number>;
  image: Set<number>;
}

let operators: Promise<Operators> | null = null;

/** pdf.js's operator codes and the sets of them a page's drawing is read for, built once. */
function pageOperators(): Promise<Operators> {
  operators ??= loadPdfjs().then(({ OPS }) => ({
    OPS,
    paint: new Set([
      OPS.stroke,
      OPS.closeStroke,
      OPS.fill,
      OPS.eoFill,
      OPS.fillStroke,
      OPS.eoFillStroke,
      OPS.closeFillStroke,
      OPS.closeEOFillStroke,
      OPS.shadingFill,
      OPS.showText,
      OPS.showSpacedText,
      OPS.nextLineShowText,
      OPS.nextLineSetSpacingShowText,
    ]),
    image: new Set([
      OPS.paintImageXObject,
      OPS.paintInlineImageXObject,
      OPS.paintImageMaskXObject,
      OPS.paintImageXObjectRepeat,
      OPS.paintImageMaskXObjectRepeat,
      OPS.paintSolidColorImageMask,
    ]),
  }));
  return operators;
}

/**
 * What the page draws: its images as rectangles clipped to the page (viewport points), and
 * whether it paints anything at all (a page that paints nothing is blank without rendering it).
 */
export async function pageDrawing(
  page: PDFPageProxy,
  viewport: PageViewport,
): Promise<{ images: Region[]; paints: boolean }> {
  const { OPS, paint: PAINT_OPS, image: IMAGE_OPS } = await pageOperators();
  const list = await page.getOperatorList();
  const stack: Matrix[] = [];
  let ctm: Matrix = (asMatrix(viewport.transform) ?? IDENTITY) as Matrix;
  const regions: Region[] = [];
  let paints = false;
  for (let i = 0; i < list.fnArray.length; i++) {
    const fn = list.fnArray[i];
    const args = list.argsArray[i] as unknown[] | null;
    // pdf.js folds a path and its painting operator into constructPath (a clip-only path ends with endPath).
    if (fn !== undefined && PAINT_OPS.has(fn)) paints = true;
    else if (fn === OPS.constructPath && args?.[0] !== OPS.endPath) paints = true;
    if (fn === OPS.save) stack.push(ctm);
    else if (fn === OPS.restore) ctm = stack.pop() ?? ctm;
    else if (fn === OPS.transform) {
      const m = asMatrix(args);
      if (m) ctm = multiply(ctm, m);
    } else if (fn === OPS.paintFormXObjectBegin) {
      stack.push(ctm);
      const m = asMatrix(args?.[0]);
      if (m) ctm = multiply(ctm, m);
    } else if (fn === OPS.paintFormXObjectEnd) ctm = stack.pop() ?? ctm;
    else if (fn !== undefined && IMAGE_OPS.has(fn)) {
      paints = true;
      const corners = [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ].map(([u = 0, v = 0]) => [ctm[0] * u + ctm[2] * v + ctm[4], ctm[1] * u + ctm[3] * v + ctm[5]] as const);
      const xs = corners.map((c) => c[0]);
      const ys = corners.map((c) => c[1]);
      const x0 = Math.max(0, Math.min(...xs));
      const y0 = Math.max(0, Math.min(...ys));
      const x1 = Math.min(viewport.width, Math.max(...xs));
      const y1 = Math.min(viewport.height, Math.max(...ys));
      if (x1 > x0 && y1 > y0) regions.push({ x: x0, top: y0, w: x1 - x0, h: y1 - y0 });
    }
  }
  return { images: regions, paints };
}

/** Whether a text run's centre lies in the region. */
export function inRegion(r: Region, it: Pick<LayoutItem, 'x' | 'top' | 'w' | 'size'>): boolean {
  const cx = it.x + it.w / 2;
  const cy = it.top + it.size / 2;
  return cx >= r.x && cx <= r.x + r.w && cy >= r.top && cy <= r.top + r.h;
}

/** Share of the page's area covered by text runs (each run's width × size). */
export function textCoverage(items: LayoutItem[], width: number, height: number): number {
  return items.reduce((a, it) => a + Math.max(0, it.w) * it.size, 0) / Math.max(1, width * height);
}

/** A page whose text runs cover at least this share of it is a text page: no image check. */
const TEXT_PAGE_COVERAGE = 0.15;
/**
 * Image regions smaller than this share of the page are not read by OCR: logos, icons, photos and
 * the screenshots of a text manual (each under a quarter of the page in the shared corpus) give
 * junk lines that pollute search and headings, and cost seconds per page. A scanned body under a
 * header line or stamp covers most of its page.
 */
const MIN_REGION_SHARE = 0.4;
/** Text-layer characters per square point under which an image region counts as unread (a text page holds ≈ 0.015). */
const UNREAD_DENSITY = 0.002;

/**
 * Which parts of a PDF page to read by OCR: null when the text layer covers it or the page
 * paints nothing (blank: not even rendered); else the image regions that hold (almost) no
 * text-layer text, or the whole page when it has no text layer and no large images
 * (vector-drawn text, a drawing).
 */
export async function regionsToRead(
  page: PDFPageProxy,
  viewport: PageViewport,
  items: LayoutItem[],
): Promise<Region[] | null> {
  const chars = items.reduce((a, it) => a + it.str.trim().length, 0);
  if (chars >= 3 && textCoverage(items, viewport.width, viewport.height) >= TEXT_PAGE_COVERAGE) return null;
  const pageArea = viewport.width * viewport.height;
  const drawing = await pageDrawing(page, viewport);
  if (!drawing.paints) return null;
  const unread = drawing.images.filter((r) => {
    const area = r.w * r.h;
    if (area < pageArea * MIN_REGION_SHARE) return false;
    const inside = items.filter((it) => inRegion(r, it)).reduce((a, it) => a + it.str.trim().length, 0);
    return inside < area * UNREAD_DENSITY;
  });
  if (unread.length > 0) return unread;
  return chars < 3 ? [{ x: 0, top: 0, w: viewport.width, h: viewport.height }] : null;
}
