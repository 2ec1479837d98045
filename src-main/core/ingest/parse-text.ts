/**
 * Plain text and Markdown → blocks. Text is read as UTF-8 (or UTF-16 with a BOM),
 * falling back to Big5, the common legacy encoding of Traditional Chinese files.
 */
import path from 'node:path';
import { FieldbookError } from '../errors';
import type { DocType } from '../domain';
import type { Block, ParsedDocument } from './types';

export function decodeText(data: Buffer): string {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return data.subarray(3).toString('utf8');
  if (data[0] === 0xff && data[1] === 0xfe) return new TextDecoder('utf-16le').decode(data.subarray(2));
  if (data[0] === 0xfe && data[1] === 0xff) return new TextDecoder('utf-16be').decode(data.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return new TextDecoder('big5').decode(data);
  }
}

const MD_HEADING_RE = /^(#{1,6})\s+(.+?)\s*#*\s*$/;
const MD_LIST_RE = /^\s*(?:[-*+]|\d{1,3}[.)])\s+/;

function stripInlineMarkdown(s: string): string {
  return s
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/`([^`]+)`/g, '$1');
}

export function markdownToBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let para: string[] = [];
  let kind: Block['kind'] = 'paragraph';
  const flush = (): void => {
    const t = para.join('\n').trim();
    if (t) blocks.push({ kind, text: kind === 'code' ? t : stripInlineMarkdown(t), page: null, boxes: [] });
    para = [];
    kind = 'paragraph';
  };
  let inFence = false;
  for (const line of lines) {
    if (/^\s*(```|~~~)/.test(line)) {
      if (inFence) {
        flush();
        inFence = false;
      } else {
        flush();
        inFence = true;
        kind = 'code';
      }
      continue;
    }
    if (inFence) {
      para.push(line);
      continue;
    }
    const h = MD_HEADING_RE.exec(line);
    if (h) {
      flush();
      blocks.push({
        kind: 'heading',
        level: (h[1] as string).length,
        text: stripInlineMarkdown(h[2] as string),
        page: null,
        boxes: [],
      });
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line)) {
      if (kind !== 'table') flush();
      kind = 'table';
      if (/^\s*\|[\s:|-]+\|\s*$/.test(line)) continue; // separator row
      para.push(
        line
          .trim()
          .replace(/^\||\|$/g, '')
          .split('|')
          .map((c) => c.trim())
          .join(' | '),
      );
      continue;
    }
    if (MD_LIST_RE.test(line)) {
      if (kind !== 'list') flush();
      kind = 'list';
      para.push(line.trimEnd());
      continue;
    }
    if (kind === 'table') flush();
    para.push(line.trim());
  }
  flush();
  return blocks;
}

/** Plain text: paragraphs separated by blank lines. */
export function plainTextToBlocks(text: string): Block[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => ({ kind: 'paragraph' as const, text: p, page: null, boxes: [] }));
}

export function parseText(data: Buffer, type: Extract<DocType, 'txt' | 'md'>, fileName: string): ParsedDocument {
  const text = decodeText(data);
  const blocks = type === 'md' ? markdownToBlocks(text) : plainTextToBlocks(text);
  if (blocks.length === 0) throw new FieldbookError('DOCUMENT_EMPTY', { file: fileName });
  const firstHeading = blocks.find((b) => b.kind === 'heading');
  const title = firstHeading?.text ?? path.basename(fileName, path.extname(fileName));
  return { type, title, pages: null, pageSizes: [], blocks, warnings: [] };
}
