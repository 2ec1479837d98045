/**
 * The domain types every layer shares: what kind of document a file is, where text sits on a page,
 * and the chunk — the unit that is indexed, searched and cited. They sit at the base of core (beside
 * `errors.ts`) so that storage, ingestion, search and sync all import them downwards.
 */

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

/** A passage of a document as it is indexed: text, pages, heading path and where it sits on its pages. */
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
