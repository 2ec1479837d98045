/**
 * DOCX → blocks with mammoth: headings keep their level (the heading path),
 * lists keep their numbering, tables become readable "cell | cell" rows.
 * The package is checked by the zip guard first; images and external files are refused.
 */
import path from 'node:path';
import type { IngestLimits } from '../config';
import { FieldbookError } from '../errors';
import type { Block, ParsedDocument } from './types';
import { checkZip, ZipEncryptedError, ZipLimitError } from './zip-guard';

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return ENTITY[e.toLowerCase()] ?? m;
  });
}

/** Convert mammoth's (regular, well-formed) HTML into blocks. */
export function htmlToBlocks(html: string): Block[] {
  const blocks: Block[] = [];
  const listStack: Array<{ ordered: boolean; n: number }> = [];
  let listLines: string[] = [];
  let tableRows: string[][] | null = null;
  let row: string[] | null = null;
  let text = '';
  let heading = 0;

  const push = (kind: Block['kind'], t: string, level?: number): void => {
    const clean = t
      .replace(/[ \t]+/g, ' ')
      .replace(/ *\n */g, '\n')
      .trim();
    if (!clean) return;
    const block: Block = { kind, text: clean, page: null, boxes: [] };
    if (level !== undefined) block.level = level;
    blocks.push(block);
  };
  const flushList = (): void => {
    if (listLines.length) push('list', listLines.join('\n'));
    listLines = [];
  };

  const re = /<(\/?)([a-zA-Z0-9]+)[^>]*?(\/?)>|([^<]+)/g;
  for (const m of html.matchAll(re)) {
    const [, close, rawTag, selfClose, chunk] = m;
    if (chunk !== undefined) {
      text += decodeEntities(chunk);
      continue;
    }
    const tag = (rawTag ?? '').toLowerCase();
    const closing = close === '/';
    if (tag === 'br') {
      text += '\n';
      continue;
    }
    if (selfClose) continue;
    if (/^h[1-6]$/.test(tag)) {
      if (!closing) {
        flushList();
        text = '';
        heading = Number(tag[1]);
      } else {
        push('heading', text, heading);
        text = '';
        heading = 0;
      }
    } else if (tag === 'ul' || tag === 'ol') {
      if (!closing) {
        if (listStack.length === 0) flushList();
        if (text.trim() && listStack.length > 0) {
          // Text of the parent item before its nested list.
          const parent = listStack[listStack.length - 1] as { ordered: boolean; n: number };
          listLines.push(`${'  '.repeat(listStack.length - 1)}${parent.ordered ? `${parent.n}.` : '-'} ${text.trim()}`);
          text = '';
        }
        listStack.push({ ordered: tag === 'ol', n: 0 });
      } else {
        listStack.pop();
        if (listStack.length === 0) flushList();
      }
    } else if (tag === 'li') {
      const cur = listStack[listStack.length - 1];
      if (!closing) {
        if (cur) cur.n++;
        text = '';
      } else if (cur && text.trim()) {
        listLines.push(`${'  '.repeat(listStack.length - 1)}${cur.ordered ? `${cur.n}.` : '-'} ${text.trim()}`);
        text = '';
      }
    } else if (tag === 'table') {
      if (!closing) {
        flushList();
        tableRows = [];
      } else {
        if (tableRows) push('table', tableRows.map((r) => r.join(' | ')).join('\n'));
        tableRows = null;
      }
    } else if (tag === 'tr') {
      if (!closing) row = [];
      else if (row && tableRows) {
        if (row.some((c) => c)) tableRows.push(row);
        row = null;
      }
    } else if (tag === 'td' || tag === 'th') {
      if (!closing) text = '';
      else if (row) {
        row.push(text.replace(/\s+/g, ' ').trim());
        text = '';
      }
    } else if (tag === 'p') {
      if (closing && !tableRows && listStack.length === 0) {
        push('paragraph', text);
        text = '';
      } else if (closing && (tableRows || listStack.length > 0)) {
        text += ' ';
      }
    }
  }
  flushList();
  if (text.trim()) push('paragraph', text);
  return blocks;
}

export async function parseDocx(data: Buffer, limits: IngestLimits, fileName: string): Promise<ParsedDocument> {
  let names: string[];
  try {
    names = checkZip(data, {
      maxEntries: 5000,
      maxUnpackedBytes: limits.maxUnpackedBytes,
      maxCompressionRatio: limits.maxCompressionRatio,
    }).map((e) => e.name);
  } catch (err) {
    if (err instanceof ZipLimitError)
      throw new FieldbookError('DOCX_TOO_LARGE_UNPACKED', { file: fileName, detail: err.message });
    if (err instanceof ZipEncryptedError)
      throw new FieldbookError('ARCHIVE_ENCRYPTED', { file: fileName, detail: err.message });
    throw new FieldbookError('DOCX_CORRUPT', { file: fileName, detail: (err as Error).message });
  }
  if (!names.includes('word/document.xml')) {
    // A ZIP that is no Office package at all was renamed; one that is has lost its main part.
    if (!names.includes('[Content_Types].xml'))
      throw new FieldbookError('WRONG_EXTENSION', { file: fileName, detail: 'a ZIP archive, not a Word package' });
    throw new FieldbookError('DOCX_CORRUPT', { file: fileName, detail: 'word/document.xml is missing' });
  }
  let html: string;
  const warnings: string[] = [];
  // mammoth is loaded with the first Word file: a parser that reads only PDFs never loads it.
  const { default: mammoth } = await import('mammoth');
  try {
    const result = await mammoth.convertToHtml({ buffer: data }, {
      // Images carry no searchable text; dropping them also refuses linked (external) images.
      convertImage: mammoth.images.imgElement(() => Promise.resolve({ src: '' })),
      externalFileAccess: false,
    } as Parameters<typeof mammoth.convertToHtml>[1]);
    html = result.value;
    const externals = result.messages.filter((msg) => /external|linked/i.test(msg.message));
    if (externals.length) warnings.push(`Ignored ${externals.length} external reference(s)`);
  } catch (err) {
    throw new FieldbookError('DOCX_CORRUPT', { file: fileName, detail: (err as Error).message });
  }
  const blocks = htmlToBlocks(html);
  if (blocks.length === 0) throw new FieldbookError('DOCUMENT_EMPTY', { file: fileName });
  const first =
    blocks.find((b) => b.kind === 'heading' && (b.level ?? 1) === 1) ?? blocks.find((b) => b.kind === 'heading');
  const title = first?.text.split('\n')[0] ?? path.basename(fileName, path.extname(fileName));
  return { type: 'docx', title, pages: null, pageSizes: [], blocks, warnings };
}
