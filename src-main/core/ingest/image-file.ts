/**
 * PNG, JPEG and TIFF pages with sharp (libvips): page count, upright size and resolution
 * read from the headers, one page decoded for OCR (upright, grey, on white), and a
 * browser-friendly rendition for the citation viewer (browsers cannot show TIFF).
 * Decoding failures become specific errors (damaged, cut off, too large).
 */
import type { Metadata, Sharp } from 'sharp';
import { FieldbookError } from '../errors';
import { imageFormatOf, type ImageFormat } from './detect';

type SharpFactory = (typeof import('sharp'))['default'];
let sharpLoaded: Promise<SharpFactory> | null = null;

/** sharp (libvips), loaded on first use: a parser process that reads only text PDFs never loads it. */
export function loadSharp(): Promise<SharpFactory> {
  sharpLoaded ??= import('sharp').then(({ default: sharp }) => {
    // Files are read once each: keeping decoded images in libvips' cache only costs memory.
    sharp.cache(false);
    return sharp;
  });
  return sharpLoaded;
}

/** Pages with more pixels are refused: decoding them would take gigabytes (e.g. 14 000 × 14 000). */
export const MAX_IMAGE_PIXELS = 200_000_000;
/** Pages with more pixels are reduced before OCR (an A3 page at 600 dpi is 70 megapixels). */
export const MAX_OCR_PIXELS = 40_000_000;
/** The citation viewer gets at most this many pixels on the long side. */
const MAX_VIEW_SIDE = 4096;
/** A resolution field outside this range (72 and 96 are screen defaults) says nothing about the scan. */
const PLAUSIBLE_DPI = { min: 100, max: 2400 };

export interface ImagePage {
  /** 1-based page (TIFF pages; PNG and JPEG have one). */
  page: number;
  /** Size of the upright page (EXIF orientation applied), in pixels. */
  width: number;
  height: number;
  /** The scan resolution when the file records a plausible one, else null. */
  dpi: number | null;
  /** EXIF orientation (1 = upright) when recorded. */
  orientation: number | null;
}

function megapixels(pixels: number): string {
  return `${(pixels / 1e6).toFixed(0)} megapixels`;
}

/** Turn a libvips failure into IMAGE_CORRUPT / IMAGE_TOO_LARGE with words saying what is wrong. */
function decodeError(err: unknown, file: string, data: Buffer): FieldbookError {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]?.trim() ?? '';
  if (/pixel limit/i.test(message)) {
    return new FieldbookError('IMAGE_TOO_LARGE', { file, detail: `over ${megapixels(MAX_IMAGE_PIXELS)}`, cause: err });
  }
  const format = imageFormatOf(data);
  let detail = message;
  if (format === 'png' && !data.subarray(-64).includes('IEND'))
    detail = `cut off: the PNG end marker is missing (${message})`;
  else if (format === 'jpeg' && /premature end/i.test(message)) detail = `cut off: ${message}`;
  else if (format === 'tiff' && /unsupported image format|corrupt header/i.test(message)) {
    detail = `damaged or cut off TIFF: its page directory cannot be read (${message})`;
  }
  return new FieldbookError('IMAGE_CORRUPT', { file, detail, cause: err });
}

/**
 * Walk a TIFF's chain of page directories (classic and BigTIFF). libtiff stops quietly at a
 * directory past the end of the file, so a cut-off multi-page TIFF would otherwise just look
 * shorter. Returns the number of complete directories and whether the chain was cut off.
 */
export function tiffDirectories(data: Buffer): { pages: number; cutOff: boolean } {
  const little = data[0] === 0x49;
  const u16 = (at: number): number => (little ? data.readUInt16LE(at) : data.readUInt16BE(at));
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const u64 = (at: number): number => Number(little ? data.readBigUInt64LE(at) : data.readBigUInt64BE(at));
  const big = data.length >= 16 && u16(2) === 43;
  const fits = (at: number, bytes: number): boolean => at > 0 && at + bytes <= data.length;
  if (data.length < (big ? 16 : 8)) return { pages: 0, cutOff: true };
  let offset = big ? u64(8) : u32(4);
  const seen = new Set<number>();
  let pages = 0;
  while (offset !== 0 && !seen.has(offset) && pages < 100_000) {
    seen.add(offset);
    if (!fits(offset, big ? 8 : 2)) return { pages, cutOff: true };
    const count = big ? u64(offset) : u16(offset);
    const entries = big ? 8 + count * 20 : 2 + count * 12;
    if (!fits(offset, entries + (big ? 8 : 4))) return { pages, cutOff: true };
    pages++;
    offset = big ? u64(offset + entries) : u32(offset + entries);
  }
  return { pages, cutOff: false };
}

async function open(data: Buffer, page: number): Promise<Sharp> {
  const sharp = await loadSharp();
  return sharp(data, { page: page - 1, failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS });
}

/** Format and page count, from the headers. */
export async function probeImage(data: Buffer, file: string): Promise<{ format: ImageFormat; pages: number }> {
  const format = imageFormatOf(data);
  if (!format) throw new FieldbookError('WRONG_EXTENSION', { file, detail: 'not a PNG, JPEG or TIFF image' });
  if (format === 'tiff') {
    const chain = tiffDirectories(data);
    if (chain.cutOff) {
      throw new FieldbookError('IMAGE_CORRUPT', {
        file,
        detail: `cut off: the TIFF ends inside page ${chain.pages + 1} (${chain.pages} complete)`,
      });
    }
  }
  try {
    const meta = await (await loadSharp())(data, { limitInputPixels: false }).metadata();
    return { format, pages: format === 'tiff' ? Math.max(1, meta.pages ?? 1) : 1 };
  } catch (err) {
    throw decodeError(err, file, data);
  }
}

/** One page's upright size, resolution and orientation; refuses pages too large to decode. */
export async function imagePage(data: Buffer, file: string, page: number): Promise<ImagePage> {
  let meta: Metadata;
  try {
    meta = await (await loadSharp())(data, { page: page - 1, limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeError(err, file, data);
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new FieldbookError('IMAGE_CORRUPT', { file, detail: `page ${page} has no size` });
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new FieldbookError('IMAGE_TOO_LARGE', {
      file,
      detail: `page ${page}: ${width} × ${height} px = ${megapixels(width * height)} > ${megapixels(MAX_IMAGE_PIXELS)}`,
    });
  }
  const density = meta.density;
  const dpi = density && density >= PLAUSIBLE_DPI.min && density <= PLAUSIBLE_DPI.max ? density : null;
  return { page, width, height, dpi, orientation: meta.orientation ?? null };
}

/**
 * Decode one page for OCR: upright, transparent parts on white, grey, resized by `scale`,
 * labelled with the resolution it then has (`dpi` × scale; tesseract uses it). Returns a PNG
 * and the scale really applied (sizes are whole pixels).
 */
export async function decodeForOcr(
  data: Buffer,
  file: string,
  page: ImagePage,
  scale: number,
  dpi: number,
): Promise<{ png: Buffer; scale: number }> {
  const width = Math.max(1, Math.round(page.width * scale));
  let img = (await open(data, page.page)).autoOrient().flatten({ background: '#ffffff' }).toColourspace('b-w');
  if (width !== page.width) img = img.resize({ width, kernel: scale < 1 ? 'lanczos3' : 'cubic' });
  try {
    const { data: png, info } = await img
      .withDensity(Math.round(dpi * (width / page.width)))
      .png({ compressionLevel: 1 })
      .toBuffer({ resolveWithObject: true });
    return { png, scale: info.width / page.width };
  } catch (err) {
    throw decodeError(err, file, data);
  }
}

/**
 * One page for the citation viewer. PNG and JPEG files of a reasonable size are sent as they
 * are (the browser shows them upright); TIFF pages, rotated and very large images become a PNG.
 * `width` and `height` are the upright page's pixels: the unit of the passage boxes.
 */
export async function viewerImage(
  data: Buffer,
  file: string,
  pageNumber: number,
): Promise<{ mime: 'image/png' | 'image/jpeg'; data: Buffer; width: number; height: number }> {
  const { format, pages } = await probeImage(data, file);
  if (pageNumber > pages) throw new FieldbookError('INVALID_INPUT', { file, detail: `page ${pageNumber} of ${pages}` });
  const page = await imagePage(data, file, pageNumber);
  const size = { width: page.width, height: page.height };
  const upright = page.orientation === null || page.orientation === 1;
  if ((format === 'png' || format === 'jpeg') && upright && page.width * page.height <= MAX_VIEW_SIDE ** 2) {
    return { mime: format === 'png' ? 'image/png' : 'image/jpeg', data, ...size };
  }
  try {
    const png = await (
      await open(data, pageNumber)
    )
      .autoOrient()
      .resize({ width: MAX_VIEW_SIDE, height: MAX_VIEW_SIDE, fit: 'inside', withoutEnlargement: true })
      .png()
      .toBuffer();
    return { mime: 'image/png', data: png, ...size };
  } catch (err) {
    throw decodeError(err, file, data);
  }
}
