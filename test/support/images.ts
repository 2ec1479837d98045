/**
 * Real image fixtures made at test time: text drawn with @napi-rs/canvas (system Latin
 * fonts), encoded as PNG/JPEG, multi-page TIFF (CCITT G4, the usual scanner format, or LZW)
 * with sharp, and PNG headers that claim a huge size. Nothing large is stored in the repo.
 */
import zlib from 'node:zlib';
import { createCanvas } from '@napi-rs/canvas';
import sharp from 'sharp';

export interface TextLine {
  text: string;
  /** Baseline position and font size in pixels. */
  x: number;
  y: number;
  size: number;
  bold?: boolean;
}

/** A white page with black text, as PNG. */
export async function textPage(lines: TextLine[], width: number, height: number): Promise<Buffer> {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#000000';
  for (const l of lines) {
    ctx.font = `${l.bold ? 'bold ' : ''}${l.size}px "DejaVu Sans", "Liberation Sans", sans-serif`;
    ctx.fillText(l.text, l.x, l.y);
  }
  return canvas.encode('png');
}

/** Pages of the same size as one multi-page TIFF at `dpi`: bitonal CCITT G4, or grey LZW. */
export async function tiffPages(pages: Buffer[], dpi: number, compression: 'ccittfax4' | 'lzw'): Promise<Buffer> {
  const joined = pages.length === 1 ? sharp(pages[0]) : sharp(pages, { join: { animated: true } });
  const pxPerMm = dpi / 25.4;
  if (compression === 'ccittfax4') {
    return joined
      .extractChannel(0)
      .threshold(128)
      .tiff({ compression, bitdepth: 1, xres: pxPerMm, yres: pxPerMm })
      .toBuffer();
  }
  return joined.greyscale().tiff({ compression, xres: pxPerMm, yres: pxPerMm }).toBuffer();
}

/**
 * A JPEG stored lying on its side with EXIF orientation 6 ("rotate 90° clockwise to view"),
 * as phones save photos: it looks upright in a viewer but its pixels are rotated.
 */
export async function sidewaysJpeg(png: Buffer): Promise<Buffer> {
  const stored = await sharp(png).rotate(270).jpeg({ quality: 90 }).toBuffer();
  return sharp(stored).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer();
}

/** A valid 1×1 PNG whose header claims `width` × `height` (decoding it would need gigabytes). */
export async function pngClaimingSize(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } })
      .png()
      .toBuffer(),
  );
  // Signature (8) + IHDR length (4) + "IHDR" (4): width and height follow, the CRC covers type + data.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}
