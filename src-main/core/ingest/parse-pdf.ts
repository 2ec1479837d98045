/**
 * PDF → blocks with pdf.js (legacy build for Node, eval disabled). Each page's text items
 * (or, for a page without a text layer, its OCR words) go through the shared page layout
 * (`page-layout.ts`): lines, columns, reading order, headings, headers and footers.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { IngestLimits, OcrSettings } from '../config';
import { FieldbookError } from '../errors';
import { OcrPages, pageList } from './ocr-pages';
import { loadPdfjs } from './pdfjs';
import { documentTitle, layoutBlocks, pageLinesFrom, type LayoutItem, type PageLines } from './page-layout';
import type { ParsedDocument } from './types';

const pdfjsRoot = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const CMAP_URL = `${path.join(pdfjsRoot, 'cmaps')}${path.sep}`;
const STANDARD_FONT_URL = `${path.join(pdfjsRoot, 'standard_fonts')}${path.sep}`;

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
 * The forms of a typed password that pdf.js may need: as typed (revisions 2–4 and 6; pdf.js
 * encodes it itself), and as a UTF-8 byte string for AES-256 revision 5, where pdf.js uses the
 * string's low bytes. Each form in NFC and NFKC (close to SASLprep), duplicates dropped.
 */
export function passwordForms(password: string): string[] {
  const utf8Bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
  const forms = [password.normalize('NFC'), password.normalize('NFKC'), password];
  return [...new Set([...forms, ...forms.map(utf8Bytes)])];
}

/** Open the document; a password-protected one with the given password (tried in each of its forms). */
async function openPdf(data: Uint8Array, fileName: string, password: string | undefined): Promise<PDFDocumentProxy> {
  const { getDocument } = await loadPdfjs();
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
  const forms = password === undefined || password === '' ? [] : passwordForms(password);
  let refused: FieldbookError | null = null;
  task.onPassword = (update: (password: string | Error) => void) => {
    const next = forms.shift();
    if (next !== undefined) return update(next);
    refused = new FieldbookError(password ? 'PDF_WRONG_PASSWORD' : 'PDF_ENCRYPTED', { file: fileName });
    update(refused);
  };
  try {
    return await task.promise;
  } catch (err) {
    if (refused) throw refused;
    const name = (err as { name?: string }).name;
    if (name === 'PasswordException') throw new FieldbookError('PDF_ENCRYPTED', { file: fileName });
    throw new FieldbookError('PDF_CORRUPT', { file: fileName, detail: (err as Error).message });
  }
}

export async function parsePdf(
  data: Uint8Array,
  limits: IngestLimits,
  fileName: string,
  onPage?: (p: { page: number; pages: number }) => void,
  ocr?: OcrSettings,
  password?: string,
): Promise<ParsedDocument> {
  const pdf = await openPdf(data, fileName, password);
  try {
    if (pdf.numPages > limits.maxPages) {
      throw new FieldbookError('PDF_TOO_MANY_PAGES', {
        file: fileName,
        detail: `${pdf.numPages} > ${limits.maxPages}`,
      });
    }
    const pages: PageLines[] = [];
    const pageSizes: Array<{ w: number; h: number }> = [];
    const ocrPages = ocr?.enabled ? new OcrPages(ocr) : null;
    const emptyPages: number[] = [];
    // A page pdf.js cannot read (broken page tree, damaged content) is reported; the others count.
    const unreadablePages: Array<{ page: number; detail: string }> = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      let page: PDFPageProxy;
      let content: Awaited<ReturnType<PDFPageProxy['getTextContent']>>;
      try {
        page = await pdf.getPage(n);
        content = await page.getTextContent();
      } catch (err) {
        unreadablePages.push({ page: n, detail: err instanceof Error ? err.message : String(err) });
        pageSizes.push(pageSizes[pageSizes.length - 1] ?? { w: 595, h: 842 });
        onPage?.({ page: n, pages: pdf.numPages });
        continue;
      }
      const viewport = page.getViewport({ scale: 1 });
      const items: LayoutItem[] = [];
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
      let pageLines = pageLinesFrom(n, viewport.width, viewport.height, items);
      // OCR reads the parts of the page the text layer does not cover (scanned pages and scanned
      // bodies under a few words of text); a page OCR cannot read is reported, the others count.
      const read = ocrPages ? await ocrPages.pdfPage(pdf, page, n, items) : null;
      page.cleanup();
      if (read?.lines) pageLines = read.lines;
      if (textChars < 3 && !read?.lines) emptyPages.push(n);
      pages.push(pageLines);
      onPage?.({ page: n, pages: pdf.numPages });
    }
    if (unreadablePages.length === pdf.numPages) {
      const first = unreadablePages[0];
      throw new FieldbookError('PDF_PAGES_UNREADABLE', {
        file: fileName,
        detail: first && `page ${first.page}: ${first.detail}`,
      });
    }
    if (emptyPages.length + unreadablePages.length === pdf.numPages) {
      // With OCR on, the pages without text were already read by OCR: asking to "run OCR" would be wrong.
      throw ocrPages
        ? ocrPages.noTextError(fileName, 'PDF_OCR_NO_TEXT')
        : new FieldbookError('PDF_NO_TEXT', { file: fileName });
    }
    const blocks = layoutBlocks(pages);
    const meta = await pdf.getMetadata().catch(() => null);
    const info = (meta?.info ?? {}) as Record<string, unknown>;
    const title = documentTitle(blocks, info.Title, fileName);
    const warnings: string[] = [];
    if (unreadablePages.length > 0) {
      warnings.push(`Pages that could not be read (damaged): ${unreadablePages.map((p) => p.page).join(', ')}`);
    }
    ocrPages?.boxesToPage(blocks);
    const noText = emptyPages.filter((p) => !ocrPages?.noted(p));
    if (noText.length > 0) {
      warnings.push(
        ocrPages
          ? `No text recognised on page ${pageList(noText)}`
          : `Pages without a text layer (need OCR): ${noText.join(', ')}`,
      );
    }
    warnings.push(...(ocrPages?.warnings() ?? []));
    return { type: 'pdf', title, pages: pdf.numPages, pageSizes, blocks, warnings };
  } finally {
    await pdf.destroy();
  }
}
