/**
 * One file → parsed document → chunks. This is what the parser process runs; it has no
 * database access and no side effects. There it is given the file's bytes (read by the caller),
 * so it reads none of the user's files itself.
 */
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import { FieldbookError } from '../errors';
import { detectLanguage } from '../text/normalize';
import { chunkBlocks } from './chunker';
import { detectBytes, readForParsing } from './detect';
import { parseDocx } from './parse-docx';
import { parseImage } from './parse-image';
import { parsePdf } from './parse-pdf';
import { parseText } from './parse-text';
import type { ParseProgress } from './parser-protocol';
import type { ParsedDocument, ParseResult } from './types';

/** Parse one file; `contents` are its bytes when the caller has read them already (the parser process). */
export async function parseDocument(
  file: string,
  limits: IngestLimits,
  onPage?: (p: ParseProgress) => void,
  ocr?: OcrSettings,
  password?: string,
  contents?: Uint8Array,
): Promise<ParsedDocument> {
  const data = contents
    ? Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength)
    : readForParsing(file, limits);
  const detected = detectBytes(file, data, limits);
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
  contents?: Uint8Array,
): Promise<ParseResult> {
  const doc = await parseDocument(file, limits, onPage, ocr, password, contents);
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
