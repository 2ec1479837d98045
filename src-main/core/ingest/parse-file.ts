/**
 * One file → parsed document → chunks. This is what the parser process runs;
 * it has no database access and no side effects besides reading the file.
 */
import fs from 'node:fs';
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import { FieldbookError } from '../errors';
import { detectLanguage } from '../text/normalize';
import { chunkBlocks } from './chunker';
import { detectFile } from './detect';
import { parseDocx } from './parse-docx';
import { parseImage } from './parse-image';
import { parsePdf } from './parse-pdf';
import { parseText } from './parse-text';
import type { ParseProgress } from './parser-protocol';
import type { ParsedDocument, ParseResult } from './types';

export async function parseDocument(
  file: string,
  limits: IngestLimits,
  onPage?: (p: ParseProgress) => void,
  ocr?: OcrSettings,
  password?: string,
): Promise<ParsedDocument> {
  const detected = detectFile(file, limits);
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    throw new FieldbookError('FILE_UNREADABLE', { file, cause: err, detail: (err as NodeJS.ErrnoException).code });
  }
  switch (detected.type) {
    case 'pdf':
      return parsePdf(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        limits,
        file,
        onPage,
        ocr,
        password,
      );
    case 'docx':
      return parseDocx(data, limits, file);
    case 'txt':
    case 'md':
      return parseText(data, detected.type, file);
    case 'image':
      return parseImage(data, limits, file, onPage, ocr);
  }
}

export async function parseAndChunk(
  file: string,
  limits: IngestLimits,
  chunk: ChunkSettings,
  onPage?: (p: ParseProgress) => void,
  ocr?: OcrSettings,
  password?: string,
): Promise<ParseResult> {
  const doc = await parseDocument(file, limits, onPage, ocr, password);
  let chunks = chunkBlocks(doc.blocks, chunk);
  if (chunks.length === 0 && doc.blocks.some((b) => b.kind === 'heading')) {
    // Only headings (a title page, a one-line notice): they are the text, so index them as such.
    chunks = chunkBlocks(
      doc.blocks.map((b) => (b.kind === 'heading' ? { ...b, kind: 'paragraph' as const } : b)),
      chunk,
    );
  }
  if (chunks.length === 0) throw new FieldbookError('DOCUMENT_EMPTY', { file });
  const language = detectLanguage(chunks.map((c) => c.text).join('\n'));
  return { doc, chunks, language };
}
