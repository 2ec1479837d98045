/**
 * Decide what a file is from its extension AND its first bytes, and turn every
 * mismatch into a specific error before any parser sees the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IngestLimits } from '../config';
import { FieldbookError } from '../errors';
import type { DocType } from '../domain';

const EXTENSION_TYPES: Record<string, DocType> = {
  '.pdf': 'pdf',
  '.docx': 'docx',
  '.txt': 'txt',
  '.text': 'txt',
  '.md': 'md',
  '.markdown': 'md',
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
  '.tif': 'image',
  '.tiff': 'image',
};

/** Image extensions (read by OCR; a folder scan skips them while OCR is off). */
export const IMAGE_EXTENSIONS = new Set(
  Object.entries(EXTENSION_TYPES)
    .filter(([, type]) => type === 'image')
    .map(([ext]) => ext),
);

/** Extensions a folder scan picks up (.doc is included so it gets its own clear error). */
export const SCANNED_EXTENSIONS = new Set([...Object.keys(EXTENSION_TYPES), '.doc']);

const OLE_SIGNATURE = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const ZIP_SIGNATURE = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

export type ImageFormat = 'png' | 'jpeg' | 'tiff';

const IMAGE_SIGNATURES: Array<{ format: ImageFormat; bytes: number[] }> = [
  { format: 'png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { format: 'jpeg', bytes: [0xff, 0xd8, 0xff] },
  { format: 'tiff', bytes: [0x49, 0x49, 0x2a, 0x00] }, // little-endian TIFF
  { format: 'tiff', bytes: [0x4d, 0x4d, 0x00, 0x2a] }, // big-endian TIFF
  { format: 'tiff', bytes: [0x49, 0x49, 0x2b, 0x00] }, // BigTIFF
  { format: 'tiff', bytes: [0x4d, 0x4d, 0x00, 0x2b] },
];

/** The image format from a file's first bytes, or null when they are not a PNG, JPEG or TIFF signature. */
export function imageFormatOf(head: Uint8Array): ImageFormat | null {
  const sig = IMAGE_SIGNATURES.find((s) => s.bytes.every((b, i) => head[i] === b));
  return sig?.format ?? null;
}

export interface DetectedFile {
  path: string;
  type: DocType;
  size: number;
}

/** Reads `bytes` bytes at `position` of the file being checked (fewer at its end). */
type ByteReader = (bytes: number, position: number) => Buffer;

/** Check existence, readability, size and signature; return the document type. */
export function detectFile(file: string, limits: IngestLimits): DetectedFile {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    throw new FieldbookError('PATH_NOT_FOUND', { file, cause: err });
  }
  if (!stat.isFile()) throw new FieldbookError('UNSUPPORTED_TYPE', { file, detail: 'not a regular file' });
  return detectContent(file, stat.size, (bytes, position) => safeRead(file, bytes, position), limits);
}

/**
 * Check a file (type, size, signature) and read it: done by the process that may read the
 * user's files, so the parser process itself needs no access to them.
 */
export function readForParsing(file: string, limits: IngestLimits): Buffer {
  detectFile(file, limits);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new FieldbookError('FILE_UNREADABLE', { file, cause: err, detail: (err as NodeJS.ErrnoException).code });
  }
}

/** The same checks on a file's contents already read (the parser process gets bytes, not file access). */
export function detectBytes(file: string, data: Uint8Array, limits: IngestLimits): DetectedFile {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return detectContent(file, buf.length, (bytes, position) => buf.subarray(position, position + bytes), limits);
}

function detectContent(file: string, size: number, read: ByteReader, limits: IngestLimits): DetectedFile {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.doc') {
    // A .docx renamed to .doc still parses; a real Word 97-2003 file does not.
    if (size > 0 && read(4, 0).equals(ZIP_SIGNATURE)) return { path: file, type: 'docx', size };
    throw new FieldbookError('LEGACY_DOC', { file });
  }
  const type = EXTENSION_TYPES[ext];
  if (!type) throw new FieldbookError('UNSUPPORTED_TYPE', { file, detail: ext || 'no extension' });
  if (size === 0) throw new FieldbookError('FILE_EMPTY', { file });
  if (size > limits.maxFileBytes) {
    throw new FieldbookError('FILE_TOO_LARGE', {
      file,
      detail: `${(size / 1048576).toFixed(1)} MB > ${(limits.maxFileBytes / 1048576).toFixed(0)} MB`,
    });
  }
  const head = read(1024, 0);
  if (type === 'pdf') {
    if (!looksLikePdf(head, size, read)) {
      throw new FieldbookError('WRONG_EXTENSION', { file, detail: 'no %PDF header or trailer' });
    }
  } else if (type === 'docx') {
    if (head.subarray(0, 8).equals(OLE_SIGNATURE)) throw new FieldbookError('DOCX_ENCRYPTED', { file });
    if (!head.subarray(0, 4).equals(ZIP_SIGNATURE)) {
      throw new FieldbookError('WRONG_EXTENSION', { file, detail: 'not a Word (.docx) package' });
    }
  } else if (type === 'image') {
    // A PNG saved as .jpg is still an image; anything else behind an image extension is not.
    if (!imageFormatOf(head)) {
      throw new FieldbookError('WRONG_EXTENSION', { file, detail: 'not a PNG, JPEG or TIFF image' });
    }
  } else if (head.includes(0)) {
    // Text files never contain NUL bytes (UTF-16 files start with a BOM and are handled by the text reader).
    const utf16 = (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);
    if (!utf16) throw new FieldbookError('WRONG_EXTENSION', { file, detail: 'binary content in a text file' });
  }
  return { path: file, type, size };
}

/**
 * A PDF has "%PDF-" near its start — but files with leading junk (a mail header, a print
 * spooler's preamble) still open in readers, which find the document from its trailer. So a
 * file counts as a PDF when either end says so.
 */
function looksLikePdf(head: Buffer, size: number, read: ByteReader): boolean {
  if (head.includes('%PDF-')) return true;
  const tail = read(2048, Math.max(0, size - 2048));
  return tail.includes('%%EOF') && (tail.includes('startxref') || read(65_536, 0).includes('%PDF-'));
}

function safeRead(file: string, bytes: number, position: number): Buffer {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      return buf.subarray(0, fs.readSync(fd, buf, 0, bytes, position));
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new FieldbookError('FILE_UNREADABLE', { file, cause: err, detail: (err as NodeJS.ErrnoException).code });
  }
}
