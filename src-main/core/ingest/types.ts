/** The data that flows through ingestion: file → parsed blocks → chunks. */

/** Document types; 'image' is a PNG, JPEG or TIFF read by OCR (one page per image or TIFF page). */
export const DOC_TYPES = ['pdf', 'docx', 'txt', 'md', 'image'] as const;
export type DocType = (typeof DOC_TYPES)[number];

export function isDocType(value: string): value is DocType {
  return (DOC_TYPES as readonly string[]).includes(value);
}

/**
 * A rectangle on a page, origin at the page's top-left corner: in PDF points for PDFs,
 * in pixels of the upright image for images.
 */
export interface Box {
  page: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

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

export interface Chunk {
  ord: number;
  text: string;
  pageStart: number | null;
  pageEnd: number | null;
  headingPath: string[];
  boxes: Box[];
  /** Lowest OCR confidence among the chunk's text, or null when it came from a text layer. */
  ocrConfidence: number | null;
}

export interface ParseResult {
  doc: ParsedDocument;
  chunks: Chunk[];
  language: string;
}
