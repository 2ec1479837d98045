/**
 * Page layout shared by every paged source (PDF text layers, OCR of scanned PDF pages and
 * of images): positioned text runs → lines (with column detection so two-column pages read
 * left column then right) → paragraphs, lists, tables and headings (by font size). Across
 * pages: repeated header/footer lines are dropped; hyphenated line ends are joined.
 * Units are points (1/72 inch), origin at the page's top-left corner.
 */
import path from 'node:path';
import { isCjkChar } from '../text/normalize';
import { joinText } from './chunker';
import { wordsConfidence, type OcrWord } from './ocr';
import type { Box } from '../domain';
import type { Block } from './types';

/** A run of text on a page (a text-layer item or an OCR word), in points from the top-left corner. */
export interface LayoutItem {
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

export interface PageLines {
  page: number;
  width: number;
  height: number;
  lines: Line[];
  /** Mean OCR confidence when the page was read by OCR. */
  ocrConfidence?: number;
}

/**
 * Find vertical gutters that split the page into text columns: empty vertical
 * strips (no narrow text item crosses them) with enough text on both sides.
 */
function findGutters(items: LayoutItem[], pageWidth: number, pageHeight: number, maxCrossing = 1): number[] {
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
    // A strip crossed by a stray item (a caption, a figure label) still counts as empty.
    if (x <= hi && (cover[x] ?? 0) <= maxCrossing) {
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

/**
 * Gutters for each item. Whole-page gutters when the page has them; otherwise per band —
 * a page that is one column at the top, two in the middle and one again below (a brochure)
 * has no gutter running the full height, so the page is cut at its full-width lines and
 * each band between them is checked on its own.
 */
function guttersByItem(
  items: LayoutItem[],
  pageWidth: number,
  pageHeight: number,
): (it: LayoutItem) => number[] | null {
  const out = new Map<LayoutItem, number[]>();
  const page = findGutters(items, pageWidth, pageHeight);
  if (page.length > 0) {
    return () => page;
  }
  const isWide = (it: LayoutItem): boolean => it.w >= pageWidth * 0.45;
  const body = items
    .filter((it) => it.str.trim() && !inMarginBand(it.top, pageHeight))
    .sort((a, b) => a.top - b.top || a.x - b.x);
  let band: LayoutItem[] = [];
  const flush = (): void => {
    // Short lines just above or below the columns may cross the gutter; they read as spanning lines.
    const found =
      band.length >= 12 ? findGutters(band, pageWidth, pageHeight, Math.max(1, Math.floor(band.length * 0.1))) : [];
    const gutters = found.every((g, i) => columnsOfText(band, found[i - 1] ?? -Infinity, g, found[i + 1] ?? Infinity))
      ? found
      : [];
    for (const it of band) out.set(it, gutters);
    band = [];
  };
  for (const it of body) {
    if (isWide(it)) {
      flush();
      out.set(it, []);
    } else band.push(it);
  }
  flush();
  // Where part of the page has columns, the one-column parts read as spanning lines (null),
  // so each column band is read column by column in its place on the page.
  const anyColumns = [...out.values()].some((g) => g.length > 0);
  return (it) => {
    const g = out.get(it);
    return anyColumns && (g === undefined || g.length === 0) ? null : (g ?? []);
  };
}

/**
 * Whether the two sides of a gutter hold running text (lines that fill their column) rather
 * than table cells (short runs): a table keeps its row order, text columns are read in turn.
 */
function columnsOfText(items: LayoutItem[], prev: number, gutter: number, next: number): boolean {
  // How much of the space between the column's outer edge and the gutter a typical line fills.
  const fill = (from: number, to: number, side: 'left' | 'right'): number => {
    const runs = items.filter((i) => i.x >= from && i.x + i.w <= to);
    if (runs.length === 0) return 0;
    const edge = side === 'left' ? Math.min(...runs.map((i) => i.x)) : Math.max(...runs.map((i) => i.x + i.w));
    return median(runs.map((i) => i.w)) / Math.max(1, Math.abs(gutter - edge));
  };
  return fill(prev, gutter, 'left') >= 0.6 && fill(gutter, next, 'right') >= 0.6;
}

/** Top and bottom bands of a page where running headers and footers live. */
function inMarginBand(top: number, pageHeight: number): boolean {
  return top < pageHeight * 0.09 || top > pageHeight * 0.9;
}

function buildLines(items: LayoutItem[], guttersOf: (it: LayoutItem) => number[] | null, pageHeight: number): Line[] {
  const columnOf = (it: LayoutItem): number => {
    const gutters = guttersOf(it);
    if (gutters === null) return -1;
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
  const lines: Array<{ items: LayoutItem[]; column: number; top: number; size: number }> = [];
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
    // OCR sizes come from row heights, which vary with the glyphs on a line, and a scan's
    // larger-type paragraphs are common: there a heading must also be short and not a list item.
    const maxHeadingChars = p.ocrConfidence !== undefined ? 60 : 120;
    const isHeading =
      line.size >= bodySize * 1.18 &&
      line.text.length <= maxHeadingChars &&
      !/[.。]$/.test(line.text) &&
      !(p.ocrConfidence !== undefined && (LIST_START_RE.test(line.text) || /^[®©¢•·*]\s/.test(line.text)));
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
  if (!t || /^(untitled|microsoft word - |document\d*$)/i.test(t) || /\.(docx?|pdf|png|jpe?g|tiff?)$/i.test(t))
    return null;
  if (/^(https?:\/\/|www\.)\S+$/i.test(t) || t.length > 200) return null;
  return t;
}

/** One page's text in reading order, from text runs. */
export function pageLinesFrom(page: number, width: number, height: number, items: LayoutItem[]): PageLines {
  return { page, width, height, lines: readingOrder(buildLines(items, guttersByItem(items, width, height), height)) };
}

/**
 * OCR words → runs like a text layer's items: the words of one recognised line, split where
 * the gap is wider than the line is high (a column gutter or a table gap). Column detection
 * then sees lines, not single words — on a sparse page (a label, a photo of a few lines) the
 * gaps between words would otherwise look like gutters.
 */
function ocrRuns(words: OcrWord[]): LayoutItem[] {
  const runs: LayoutItem[] = [];
  let run: (LayoutItem & { line: number }) | null = null;
  for (const w of words) {
    if (run && w.line === run.line && w.x - (run.x + run.w) <= w.size) {
      const last = run.str[run.str.length - 1] ?? '';
      run.str += isCjkChar(last) && isCjkChar(w.text[0] ?? '') ? w.text : ` ${w.text}`;
      run.w = w.x + w.w - run.x;
    } else {
      run = { str: w.text, x: w.x, top: w.top, w: w.w, size: w.size, line: w.line };
      runs.push(run);
    }
  }
  return runs.map(({ str, x, top, w, size }) => ({ str, x, top, w, size }));
}

/** One page's text in reading order, from OCR words; carries the words' mean confidence (`wordsConfidence`). */
export function ocrPageLines(page: number, width: number, height: number, words: OcrWord[]): PageLines {
  const lines = pageLinesFrom(page, width, height, ocrRuns(words));
  if (words.length) lines.ocrConfidence = wordsConfidence(words);
  return lines;
}

/** Pages in reading order → blocks: headers/footers dropped, headings found by size across the document. */
export function layoutBlocks(pages: PageLines[]): Block[] {
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
  return pages.flatMap((p) => pageBlocks(p, bodySize, headingSizes));
}

/** The document's title: its metadata title if meaningful, else the first meaningful heading, else the file name. */
export function documentTitle(blocks: Block[], metadataTitle: unknown, fileName: string): string {
  const firstHeading = blocks
    .filter((b) => b.kind === 'heading')
    .map((b) => usefulTitle(b.text))
    .find((t) => t !== null);
  return usefulTitle(metadataTitle) ?? firstHeading ?? path.basename(fileName, path.extname(fileName));
}

/** The warning that lists the pages read by OCR with their mean confidence (null when none were). */
export function ocrWarning(ocrPages: Array<{ page: number; confidence: number }>): string | null {
  if (ocrPages.length === 0) return null;
  const mean = ocrPages.reduce((a, p) => a + p.confidence, 0) / ocrPages.length;
  return `Pages read by OCR: ${ocrPages.map((p) => p.page).join(', ')} (mean confidence ${Math.round(mean)}%)`;
}
