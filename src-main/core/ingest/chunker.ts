/**
 * Structure-following chunker: chunks never cross a heading, paragraphs are kept
 * whole when they fit, long paragraphs are split at sentence ends (。！？；.!?), and a
 * sentence that is still too long is split at spaces or CJK punctuation — never
 * inside a Latin word. Size and overlap are in approximate tokens (see sizeOf).
 */
import type { ChunkSettings } from '../config';
import { isCjkChar } from '../text/normalize';
import type { Box, Chunk } from '../domain';
import type { Block } from './types';

/** Approximate token count: a CJK character ≈ 1 token, other characters ≈ 1/4 token. */
export function sizeOf(text: string): number {
  let cjk = 0;
  let other = 0;
  for (const ch of text) {
    if (isCjkChar(ch)) cjk++;
    else other++;
  }
  return cjk + other / 4;
}

/** Join two pieces of text: no space between CJK characters, one space otherwise. */
export function joinText(a: string, b: string): string {
  if (!a) return b;
  if (!b) return a;
  const last = a[a.length - 1] as string;
  const first = b[0] as string;
  if (/\s/.test(last) || /\s/.test(first)) return a + b;
  if (isCjkChar(last) || isCjkChar(first) || /[。！？；，、：]/.test(last)) return a + b;
  return `${a} ${b}`;
}

// Latin sentence ends need a word before the stop, so list numbers ("1. Press…") stay with their text.
const SENTENCE_END_RE = /(?<=[。！？；!?])|(?<=[\p{L}\p{N}\p{Pe}"'”][.:;])(?<!(?:^|[\s。！？；])\d{1,3}[.:;])(?=\s)/u;

/** Split a block's text into sentences (keeping their punctuation). */
export function splitSentences(text: string): string[] {
  return text
    .split(SENTENCE_END_RE)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Split an over-long sentence at word boundaries (spaces) or CJK punctuation/characters. */
export function splitLong(sentence: string, maxSize: number): string[] {
  const pieces: string[] = [];
  // Tokens: Latin words with trailing spaces, or single CJK characters (with trailing punctuation).
  const tokens =
    sentence.match(/[^\s\u3400-\u9fff\uf900-\ufaff]+\s*|[\u3400-\u9fff\uf900-\ufaff][，、：,]?\s*|\s+/gu) ?? [];
  let current = '';
  for (const tok of tokens) {
    if (current && sizeOf(current + tok) > maxSize) {
      pieces.push(current.trim());
      current = '';
    }
    current += tok;
  }
  if (current.trim()) pieces.push(current.trim());
  return pieces;
}

interface Unit {
  text: string;
  size: number;
  page: number | null;
  boxes: Box[];
  /** Index of the block the unit came from (units of one block join inline, or by line for tables/lists/code). */
  block: number;
  lineBased: boolean;
  /** OCR confidence of the unit's block, when its text came from OCR. */
  ocr?: number;
}

function blockUnits(block: Block, index: number, chunkSize: number): Unit[] {
  const lineBased = block.kind === 'table' || block.kind === 'list' || block.kind === 'code';
  const make = (text: string): Unit => ({
    text,
    size: sizeOf(text),
    page: block.page,
    boxes: block.boxes,
    block: index,
    lineBased,
    ...(block.ocrConfidence !== undefined ? { ocr: block.ocrConfidence } : {}),
  });
  if (sizeOf(block.text) <= chunkSize) return [make(block.text)];
  // Tables and lists split on their own lines first, so rows stay whole.
  const lines = lineBased ? block.text.split('\n') : [block.text];
  const units: Unit[] = [];
  for (const line of lines) {
    for (const sentence of splitSentences(line)) {
      if (sizeOf(sentence) <= chunkSize) units.push(make(sentence));
      else for (const piece of splitLong(sentence, chunkSize)) units.push(make(piece));
    }
  }
  return units;
}

function unitsText(units: Unit[]): string {
  let text = '';
  let prevBlock = -1;
  for (const u of units) {
    if (!text) text = u.text;
    else if (prevBlock === u.block && !u.lineBased) text = joinText(text, u.text);
    else text = `${text}\n${u.text}`;
    prevBlock = u.block;
  }
  return text;
}

/** The lowest OCR confidence among the units, or null when none came from OCR. */
function ocrOf(units: Unit[]): number | null {
  const values = units.map((u) => u.ocr).filter((v): v is number => v !== undefined);
  return values.length ? Math.round(Math.min(...values)) : null;
}

function uniqueBoxes(units: Unit[]): Box[] {
  const seen = new Set<Box>();
  for (const u of units) for (const b of u.boxes) seen.add(b);
  return [...seen];
}

/** Cut parsed blocks into chunks. */
export function chunkBlocks(blocks: Block[], settings: ChunkSettings): Chunk[] {
  const { chunkSize, chunkOverlap } = settings;
  const chunks: Chunk[] = [];
  const headingStack: Array<{ level: number; text: string }> = [];
  let current: Unit[] = [];
  let currentSize = 0;
  let hasNewContent = false;

  const headingPath = (): string[] => headingStack.map((h) => h.text);

  const emit = (): void => {
    if (current.length === 0 || !hasNewContent) return;
    const pages = current.map((u) => u.page).filter((p): p is number => p !== null);
    chunks.push({
      ord: chunks.length,
      text: unitsText(current),
      pageStart: pages.length ? Math.min(...pages) : null,
      pageEnd: pages.length ? Math.max(...pages) : null,
      headingPath: headingPath(),
      boxes: uniqueBoxes(current),
      ocrConfidence: ocrOf(current),
    });
  };

  const startWithOverlap = (): void => {
    const carried: Unit[] = [];
    let carriedSize = 0;
    for (let i = current.length - 1; i >= 0; i--) {
      const u = current[i] as Unit;
      if (carriedSize + u.size > chunkOverlap) break;
      carried.unshift(u);
      carriedSize += u.size;
    }
    current = carried;
    currentSize = carriedSize;
    hasNewContent = false;
  };

  blocks.forEach((block, index) => {
    if (!block.text.trim()) return;
    if (block.kind === 'heading') {
      emit();
      current = [];
      currentSize = 0;
      hasNewContent = false;
      const level = block.level ?? 1;
      while (headingStack.length > 0 && (headingStack[headingStack.length - 1] as { level: number }).level >= level) {
        headingStack.pop();
      }
      headingStack.push({ level, text: block.text.trim() });
      // The heading line opens the section's first chunk so the chunk reads on its own.
      current.push({
        text: block.text.trim(),
        size: sizeOf(block.text),
        page: block.page,
        boxes: block.boxes,
        block: index,
        lineBased: false,
      });
      currentSize = sizeOf(block.text);
      return;
    }
    for (const unit of blockUnits(block, index, chunkSize)) {
      if (hasNewContent && currentSize + unit.size > chunkSize) {
        emit();
        startWithOverlap();
      }
      current.push(unit);
      currentSize += unit.size;
      hasNewContent = true;
    }
  });
  emit();
  return chunks;
}
