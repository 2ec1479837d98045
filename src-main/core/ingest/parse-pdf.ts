/**
 * PDF → blocks with pdf.js (legacy build for Node, eval disabled).
 * Per page: text items → lines (with column detection so two-column pages read
 * left column then right) → paragraphs and headings (by font size). Across pages:
 * repeated header/footer lines are dropped; hyphenated line ends are joined.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { IngestLimits } from '../config';
import { FieldbookError } from '../errors';
import { isCjkChar } from '../text/normalize';
import { joinText } from './chunker';
import { ocrPdfPage } from './ocr';
import type { OcrSettings } from '../config';
import type { Block, Box, ParsedDocument } from './types';

const pdfjsRoot = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const CMAP_URL = `${path.join(pdfjsRoot, 'cmaps')}${path.sep}`;
const STANDARD_FONT_URL = `${path.join(pdfjsRoot, 'standard_fonts')}${path.sep}`;

interface Item {
  str: string;
  x: number;
  top: number;
  w: number;
  size: number;
}

interface Line {
  text: string;
  x: number;
  top: number;
  right: number;
  size: number;
  column: number; // 0, 1, 2… from the left; -1 for a line spanning columns
}

interface PageLines {
  page: number;
  width: number;
  height: number;
  lines: Line[];
  /** Mean OCR confidence when the page was read by OCR. */
  ocrConfidence?: number;
}

interface TextItemLike {
  str: string;
  transform: number[];
  width: number;
  height: number;
}

function isTextItem(item: unknown): item is TextItemLike {
  return typeof item === 'object' && item !== null && 'str' in item && 'transform' in item;
}

/**
 * Find vertical gutters that split the page into text columns: empty vertical
 * strips (no narrow text item crosses them) with enough text on both sides.
 */
function findGutters(items: Item[], pageWidth: number, pageHeight: number): number[] {
  // Running headers/footers often cross the gutter: look only at the body of the page.
  const narrow = items.filter((it) => it.w < pageWidth * 0.45 && it.str.trim() && !inMarginBand(it.top, pageHeight));
  if (narrow.length < 12) return [];
  const minX = Math.min(...narrow.map((i) => i.x));
  const maxX = Math.max(...narrow.map((i) => i.x + i.w));
  const span = maxX - minX;
  if (span < pageWidth * 0.4) return [];
  const cover = new Uint16Array(Math.ceil(span) + 1);
  for (const it of narrow) {
    for (let x = Math.floor(it.x - minX); x < Math.ceil(it.x + it.w - minX); x++) cover[x] = (cover[x] ?? 0) + 1;
  }
  const gutters: number[] = [];
  let runStart = -1;
  const lo = Math.floor(span * 0.12);
  const hi = Math.ceil(span * 0.88);
  for (let x = lo; x <= hi + 1; x++) {
    // A strip crossed by at most one stray item (a caption, a figure label) still counts as empty.
    if (x <= hi && (cover[x] ?? 0) <= 1) {
      if (runStart < 0) runStart = x;
    } else if (runStart >= 0) {
      if (x - runStart >= 8) gutters.push(minX + (runStart + x) / 2);
      runStart = -1;
    }
  }
  // Keep gutters with a real column of text on each side.
  const kept: number[] = [];
  for (const g of gutters) {
    const prev = kept[kept.length - 1] ?? -Infinity;
    const next = gutters.find((x) => x > g) ?? Infinity;
    const left = narrow.filter((i) => i.x >= prev && i.x + i.w <= g).length;
    const right = narrow.filter((i) => i.x >= g && i.x + i.w <= next).length;
    if (left >= narrow.length * 0.12 && right >= narrow.length * 0.12) kept.push(g);
  }
  return kept;
}

/** Top and bottom bands of a page where running headers and footers live. */
function inMarginBand(top: number, pageHeight: number): boolean {
  return top < pageHeight * 0.09 || top > pageHeight * 0.9;
}

function buildLines(items: Item[], gutters: number[], pageHeight: number): Line[] {
  const columnOf = (it: Item): number => {
    if (gutters.length === 0) return 0;
    if (inMarginBand(it.top, pageHeight)) return -1; // headers/footers read as one line across the page
    let col = 0;
    for (const g of gutters) {
      if (it.x >= g - 1) col++;
      else if (it.x + it.w > g + 1) return -1; // crosses a gutter: spans columns
    }
    return col;
  };
  const sorted = [...items].sort((a, b) => a.top - b.top || a.x - b.x);
  const lines: Array<{ items: Item[]; column: number; top: number; size: number }> = [];
  for (const it of sorted) {
    const column = columnOf(it);
    const line = lines.find(
      (l) => l.column === column && Math.abs(l.top - it.top) < Math.max(2, Math.min(l.size, it.size) * 0.5),
    );
    if (line) {
      line.items.push(it);
      line.size = Math.max(line.size, it.size);
    } else lines.push({ items: [it], column, top: it.top, size: it.size });
  }
  // A line whose items all sit in one column on a page with a gutter but that crosses it is spanning.
  return lines.map((l) => {
    const parts = l.items.sort((a, b) => a.x - b.x);
    let text = '';
    let prevEnd = -Infinity;
    for (const p of parts) {
      const gap = p.x - prevEnd;
      if (text) {
        const last = text[text.length - 1] as string;
        const first = p.str[0] ?? '';
        if (gap > l.size * 2.5) text += ' | ';
        else if (gap > l.size * 0.15 && !(isCjkChar(last) && isCjkChar(first)) && !/\s$/.test(text)) text += ' ';
      }
      text += p.str;
      prevEnd = p.x + p.w;
    }
    const x = Math.min(...parts.map((p) => p.x));
    const right = Math.max(...parts.map((p) => p.x + p.w));
    return { text: text.replace(/\s+/g, ' ').trim(), x, top: l.top, right, size: l.size, column: l.column };
  });
}

/** Reading order: bands separated by spanning lines; in each band the left column, then the right. */
function readingOrder(lines: Line[]): Line[] {
  const byTop = [...lines].sort((a, b) => a.top - b.top || a.x - b.x);
  const out: Line[] = [];
  let band: Line[] = [];
  const flush = (): void => {
    const columns = [...new Set(band.map((l) => l.column))].sort((a, b) => a - b);
    for (const col of columns) out.push(...band.filter((l) => l.column === col));
    band = [];
  };
  for (const line of byTop) {
    if (line.column === -1) {
      flush();
      out.push(line);
    } else band.push(line);
  }
  flush();
  return out;
}

const PAGE_NUMBER_RE =
  /^(?:page\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|\/)\s*\d{1,4})?$|^第\s*\d+\s*頁|^\d{1,3}-\d{1,3}$/i;

function marginKey(text: string): string {
  // Page numbers and letter-spacing differ from page to page; the words do not.
  return text.replace(/[\d\s|]+/g, '').toLowerCase();
}

/** Drop running headers/footers (repeated in the margins) and bare page numbers. */
function dropHeadersAndFooters(pages: PageLines[]): void {
  const inMargin = (l: Line, p: PageLines): boolean => inMarginBand(l.top, p.height);
  const counts = new Map<string, number>();
  for (const p of pages) {
    const keys = new Set(p.lines.filter((l) => inMargin(l, p)).map((l) => marginKey(l.text)));
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const threshold = Math.max(2, Math.ceil(pages.length * 0.4));
  for (const p of pages) {
    p.lines = p.lines.filter((l) => {
      if (!inMargin(l, p)) return true;
      if (PAGE_NUMBER_RE.test(l.text)) return false;
      return pages.length < 2 || (counts.get(marginKey(l.text)) ?? 0) < threshold;
    });
  }
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const LIST_START_RE = /^(?:[•·▪●○■□\-–*]|\(?\d{1,2}[.)）]|[a-z][.)]|[（(]?[一二三四五六七八九十]+[、.)）])\s*/u;

/** Join the lines of a paragraph, undoing end-of-line hyphenation. */
function joinLines(a: string, b: string): string {
  if (/[A-Za-z]-$/.test(a) && /^[a-z]/.test(b)) return a.slice(0, -1) + b;
  return joinText(a, b);
}

function pageBlocks(p: PageLines, bodySize: number, headingSizes: number[]): Block[] {
  const blocks: Block[] = [];
  let current: { lines: Line[]; kind: Block['kind']; level?: number } | null = null;
  const flush = (): void => {
    if (!current) return;
    const text =
      current.kind === 'table'
        ? current.lines.map((l) => l.text).join('\n')
        : current.lines.reduce((acc, l) => (acc ? joinLines(acc, l.text) : l.text), '');
    const boxes: Box[] = [];
    // One box per column run keeps highlights tight on two-column pages.
    for (const col of [...new Set(current.lines.map((l) => l.column))]) {
      const ls = current.lines.filter((l) => l.column === col);
      if (ls.length === 0) continue;
      const x = Math.min(...ls.map((l) => l.x));
      const y = Math.min(...ls.map((l) => l.top));
      const right = Math.max(...ls.map((l) => l.right));
      const bottom = Math.max(...ls.map((l) => l.top + l.size));
      boxes.push({ page: p.page, x, y, w: right - x, h: bottom - y });
    }
    const block: Block = { kind: current.kind, text, page: p.page, boxes };
    if (p.ocrConfidence !== undefined) block.ocrConfidence = p.ocrConfidence;
    if (current.level !== undefined) block.level = current.level;
    blocks.push(block);
    current = null;
  };
  let prev: Line | null = null;
  for (const line of p.lines) {
    if (!line.text) continue;
    const isHeading = line.size >= bodySize * 1.18 && line.text.length <= 120 && !/[.。]$/.test(line.text);
    const level = isHeading ? Math.max(1, headingSizes.findIndex((s) => line.size >= s * 0.97) + 1) : undefined;
    const gap = prev ? line.top - (prev.top + prev.size) : 0;
    const sameFlow = prev !== null && prev.column === line.column && gap < line.size * 0.9 && gap > -line.size;
    const startsItem = LIST_START_RE.test(line.text);
    const isRow = line.text.includes(' | ');
    if (isHeading) {
      if (current?.kind === 'heading' && sameFlow && current.level === level) {
        current.lines.push(line);
      } else {
        flush();
        current = { lines: [line], kind: 'heading', level: level ?? 1 };
      }
    } else if (isRow && current?.kind === 'table' && sameFlow) {
      current.lines.push(line);
    } else if (
      current &&
      current.kind !== 'heading' &&
      current.kind !== 'table' &&
      !isRow &&
      sameFlow &&
      !startsItem &&
      Math.abs(line.size - (prev?.size ?? 0)) < 1.5
    ) {
      current.lines.push(line);
    } else {
      flush();
      current = { lines: [line], kind: isRow ? 'table' : startsItem ? 'list' : 'paragraph' };
    }
    prev = line;
  }
  flush();
  return blocks;
}

function usefulTitle(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const t = raw.trim();
  if (!t || /^(untitled|microsoft word - |document\d*$)/i.test(t) || /\.(docx?|pdf)$/i.test(t)) return null;
  if (/^(https?:\/\/|www\.)\S+$/i.test(t) || t.length > 200) return null;
  return t;
}

export async function parsePdf(
  data: Uint8Array,
  limits: IngestLimits,
  fileName: string,
  onPage?: (p: { page: number; pages: number }) => void,
  ocr?: OcrSettings,
): Promise<ParsedDocument> {
  const task = getDocument({
    data,
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    cMapUrl: CMAP_URL,
    cMapPacked: true,
    standardFontDataUrl: STANDARD_FONT_URL,
    verbosity: 0,
    stopAtErrors: false,
  });
  let pdf;
  try {
    pdf = await task.promise;
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'PasswordException') throw new FieldbookError('PDF_ENCRYPTED', { file: fileName });
    throw new FieldbookError('PDF_CORRUPT', { file: fileName, detail: (err as Error).message });
  }
  try {
    if (pdf.numPages > limits.maxPages) {
      throw new FieldbookError('PDF_TOO_MANY_PAGES', {
        file: fileName,
        detail: `${pdf.numPages} > ${limits.maxPages}`,
      });
    }
    const pages: PageLines[] = [];
    const pageSizes: Array<{ w: number; h: number }> = [];
    const ocrPages: Array<{ page: number; confidence: number }> = [];
    const ocrFailures: string[] = [];
    const emptyPages: number[] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const viewport = page.getViewport({ scale: 1 });
      const content = await page.getTextContent();
      const items: Item[] = [];
      for (const raw of content.items) {
        if (!isTextItem(raw) || !raw.str.trim()) continue;
        const [a = 0, b = 0, , d = 0, e = 0, f = 0] = raw.transform;
        // Rotated text (|b| large) is rare in manuals; it is still read in item order.
        const size = Math.max(Math.hypot(a, b), Math.abs(d), raw.height) || 10;
        const [vx, vy] = viewport.convertToViewportPoint(e, f) as [number, number];
        items.push({ str: raw.str, x: vx, top: vy - size, w: raw.width, size });
      }
      pageSizes.push({ w: viewport.width, h: viewport.height });
      const textChars = items.reduce((acc, it) => acc + it.str.trim().length, 0);
      const gutters = findGutters(items, viewport.width, viewport.height);
      const pageLines: PageLines = {
        page: n,
        width: viewport.width,
        height: viewport.height,
        lines: readingOrder(buildLines(items, gutters, viewport.height)),
      };
      page.cleanup();
      if (textChars < 3 && ocr?.enabled) {
        // No text layer: read the page image.
        // A page that OCR cannot read is reported; the other pages still count.
        const words = await ocrPdfPage(pdf, n, ocr).catch((err: unknown) => {
          ocrFailures.push(`${n} (${err instanceof Error ? err.message : String(err)})`);
          return [];
        });
        if (words.length) {
          const ocrItems: Item[] = words.map((w) => ({ str: w.text, x: w.x, top: w.top, w: w.w, size: w.size }));
          pageLines.lines = readingOrder(
            buildLines(ocrItems, findGutters(ocrItems, viewport.width, viewport.height), viewport.height),
          );
          pageLines.ocrConfidence = words.reduce((a, w) => a + w.confidence, 0) / words.length;
          ocrPages.push({ page: n, confidence: pageLines.ocrConfidence });
        } else emptyPages.push(n);
      } else if (textChars < 3) emptyPages.push(n);
      pages.push(pageLines);
      onPage?.({ page: n, pages: pdf.numPages });
    }
    if (emptyPages.length === pdf.numPages) throw new FieldbookError('PDF_NO_TEXT', { file: fileName });
    dropHeadersAndFooters(pages);
    const allLines = pages.flatMap((p) => p.lines);
    // Body size: the size carrying the most characters.
    const charsBySize = new Map<number, number>();
    for (const l of allLines) {
      const s = Math.round(l.size * 2) / 2;
      charsBySize.set(s, (charsBySize.get(s) ?? 0) + l.text.length);
    }
    const bodySize =
      [...charsBySize.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? median(allLines.map((l) => l.size));
    const headingSizes = [...new Set(allLines.filter((l) => l.size >= bodySize * 1.18).map((l) => Math.round(l.size)))]
      .sort((a, b) => b - a)
      .slice(0, 4);
    const blocks = pages.flatMap((p) => pageBlocks(p, bodySize, headingSizes));
    const meta = await pdf.getMetadata().catch(() => null);
    const info = (meta?.info ?? {}) as Record<string, unknown>;
    const firstHeading = blocks
      .filter((b) => b.kind === 'heading')
      .map((b) => usefulTitle(b.text))
      .find((t) => t !== null);
    const title = usefulTitle(info.Title) ?? firstHeading ?? path.basename(fileName, path.extname(fileName));
    const warnings: string[] = [];
    if (emptyPages.length > 0) warnings.push(`Pages without a text layer (need OCR): ${emptyPages.join(', ')}`);
    if (ocrFailures.length > 0) warnings.push(`OCR failed on page ${ocrFailures.join(', ')}`);
    if (ocrPages.length > 0) {
      const mean = ocrPages.reduce((a, p) => a + p.confidence, 0) / ocrPages.length;
      warnings.push(
        `Pages read by OCR: ${ocrPages.map((p) => p.page).join(', ')} (mean confidence ${Math.round(mean)}%)`,
      );
    }
    return { type: 'pdf', title, pages: pdf.numPages, pageSizes, blocks, warnings };
  } finally {
    await pdf.destroy();
  }
}
