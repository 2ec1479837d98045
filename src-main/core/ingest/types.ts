/** The data that flows through ingestion: file → parsed blocks → chunks (`Chunk`, `Box`, `DocType`: `../domain`). */
import type { Box, Chunk, DocType } from '../domain';

// Kept until ocr.ts (being edited for OCR) imports Box from '../domain'; new code imports '../domain'.
export { DOC_TYPES, isDocType, type Box, type Chunk, type DocType } from '../domain';

export type BlockKind = 'heading' | 'paragraph' | 'list' | 'table' | 'code';

/** One structural piece of a document, in reading order. */
export interface Block {
  kind: BlockKind;
  text: string;
  /** Heading level (1 = top) for headings. */
  level?: number;
  /** 1-based page, or null for formats without pages (DOCX, text). */
  page: number | null;
  /** Where the text sits on its page (PDFs and images), for highlighting. */
  boxes: Box[];
  /** Set when the text was read by OCR: the recogniser's mean confidence (0–100). */
  ocrConfidence?: number;
}

export interface ParsedDocument {
  type: DocType;
  title: string;
  /** Page count for PDFs and images, null otherwise. */
  pages: number | null;
  /** Page sizes in box units (PDF points, image pixels), index 0 = page 1. */
  pageSizes: Array<{ w: number; h: number }>;
  blocks: Block[];
  /** Non-fatal findings, e.g. pages without a text layer. */
  warnings: string[];
}

export interface ParseResult {
  doc: ParsedDocument;
  chunks: Chunk[];
  language: string;
}
