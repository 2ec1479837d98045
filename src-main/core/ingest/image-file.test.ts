/**
 * Image detection and decoding without OCR: signatures, specific errors for broken, cut-off
 * and oversized images, page sizes (EXIF orientation, TIFF pages), the OCR scale, and the
 * viewer's rendition.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngClaimingSize, sidewaysJpeg, textPage, tiffPages } from '../../../test/support/images';
import { tempDir } from '../../../test/support/paths';
import { DEFAULT_SETTINGS } from '../config';
import { FieldbookError } from '../errors';
import { detectFile, imageFormatOf, SCANNED_EXTENSIONS } from './detect';
import {
  decodeForOcr,
  imagePage,
  MAX_IMAGE_PIXELS,
  MAX_OCR_PIXELS,
  probeImage,
  tiffDirectories,
  viewerImage,
} from './image-file';
import { ocrScale, parseImage } from './parse-image';

const limits = DEFAULT_SETTINGS.limits;

async function errorOf(p: Promise<unknown>): Promise<FieldbookError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof FieldbookError)) throw new Error(`expected a FieldbookError, got ${String(err)}`);
  return err;
}

describe('image files', () => {
  const tmp = tempDir();
  let png: Buffer;
  beforeAll(async () => {
    png = await textPage([{ text: 'Check the relief valve.', x: 20, y: 60, size: 32 }], 600, 200);
  });
  afterAll(() => tmp.cleanup());

  const write = (name: string, data: Buffer | string): string => {
    const file = path.join(tmp.dir, name);
    fs.writeFileSync(file, data);
    return file;
  };

  it('recognises PNG, JPEG and TIFF by their first bytes and extension', async () => {
    const jpeg = await sharp(png).jpeg().toBuffer();
    const tiff = await tiffPages([png], 300, 'lzw');
    expect(imageFormatOf(png)).toBe('png');
    expect(imageFormatOf(jpeg)).toBe('jpeg');
    expect(imageFormatOf(tiff)).toBe('tiff');
    expect(imageFormatOf(Buffer.from('%PDF-1.7'))).toBeNull();
    for (const ext of ['.png', '.jpg', '.jpeg', '.tif', '.tiff']) expect(SCANNED_EXTENSIONS.has(ext)).toBe(true);
    expect(detectFile(write('a.PNG', png), limits).type).toBe('image');
    expect(detectFile(write('b.jpeg', jpeg), limits).type).toBe('image');
    expect(detectFile(write('c.tif', tiff), limits).type).toBe('image');
    // A PNG saved as .jpg is still an image.
    expect(detectFile(write('d.jpg', png), limits).type).toBe('image');
  });

  it('refuses non-images behind an image extension, and empty files, before parsing', () => {
    expect(() => detectFile(write('fake.png', 'just some text'), limits)).toThrow(
      expect.objectContaining({ code: 'WRONG_EXTENSION', detail: 'not a PNG, JPEG or TIFF image' }),
    );
    expect(() => detectFile(write('doc.tiff', '%PDF-1.7\n'), limits)).toThrow(
      expect.objectContaining({ code: 'WRONG_EXTENSION' }),
    );
    expect(() => detectFile(write('empty.jpg', ''), limits)).toThrow(expect.objectContaining({ code: 'FILE_EMPTY' }));
  });

  it('reports cut-off and damaged images as IMAGE_CORRUPT, saying what is wrong', async () => {
    const cutPng = png.subarray(0, Math.floor(png.length * 0.6));
    const page = await imagePage(cutPng, 'cut.png', 1); // the header is intact…
    const err = await errorOf(decodeForOcr(cutPng, 'cut.png', page, 1, 300)); // …the pixels are not
    expect(err.code).toBe('IMAGE_CORRUPT');
    expect(err.detail).toMatch(/^cut off: the PNG end marker is missing/);

    const jpeg = await sharp(png).jpeg().toBuffer();
    const cutJpeg = jpeg.subarray(0, Math.floor(jpeg.length * 0.5));
    const jerr = await errorOf(decodeForOcr(cutJpeg, 'cut.jpg', await imagePage(cutJpeg, 'cut.jpg', 1), 1, 300));
    expect(jerr.code).toBe('IMAGE_CORRUPT');
    expect(jerr.detail).toMatch(/^cut off: .*premature end/i);

    // libtiff alone would read a cut-off multi-page TIFF as a shorter one.
    const tiff = await tiffPages([png, png, png], 300, 'lzw');
    expect(tiffDirectories(tiff)).toEqual({ pages: 3, cutOff: false });
    for (const cut of [0.5, 0.7, 0.99]) {
      const terr = await errorOf(probeImage(tiff.subarray(0, Math.floor(tiff.length * cut)), 'cut.tif'));
      expect(terr.code).toBe('IMAGE_CORRUPT');
      expect(terr.detail).toMatch(/^cut off: the TIFF ends inside page [123] \([012] complete\)$/);
    }
    const noDirectory = Buffer.concat([tiff.subarray(0, 8), Buffer.alloc(32)]);
    expect((await errorOf(probeImage(noDirectory, 'bad.tif'))).code).toBe('IMAGE_CORRUPT');

    const header = Buffer.concat([png.subarray(0, 8), Buffer.alloc(40, 7)]);
    expect((await errorOf(probeImage(header, 'garbage.png'))).code).toBe('IMAGE_CORRUPT');
  });

  it('refuses a page whose pixel count would blow memory, from its header alone', async () => {
    const huge = await pngClaimingSize(20_000, 20_000);
    expect((await probeImage(huge, 'huge.png')).pages).toBe(1);
    const err = await errorOf(imagePage(huge, 'huge.png', 1));
    expect(err.code).toBe('IMAGE_TOO_LARGE');
    expect(err.detail).toBe('page 1: 20000 × 20000 px = 400 megapixels > 200 megapixels');
    const viaParser = await errorOf(parseImage(huge, limits, 'huge.png', undefined, DEFAULT_SETTINGS.ocr));
    expect(viaParser.code).toBe('IMAGE_TOO_LARGE');
    expect(20_000 * 20_000).toBeGreaterThan(MAX_IMAGE_PIXELS);
  });

  it('fails with OCR_DISABLED when OCR is off, before reading the pixels', async () => {
    const off = { ...DEFAULT_SETTINGS.ocr, enabled: false };
    expect((await errorOf(parseImage(png, limits, 'a.png', undefined, off))).code).toBe('OCR_DISABLED');
    expect((await errorOf(parseImage(png, limits, 'a.png'))).code).toBe('OCR_DISABLED');
  });

  it('reads upright sizes (EXIF orientation), TIFF pages and scan resolution', async () => {
    const sideways = await sidewaysJpeg(png);
    const raw = await sharp(sideways).metadata();
    expect([raw.width, raw.height, raw.orientation]).toEqual([200, 600, 6]);
    expect(await imagePage(sideways, 's.jpg', 1)).toMatchObject({ width: 600, height: 200, orientation: 6 });
    const decoded = await decodeForOcr(sideways, 's.jpg', await imagePage(sideways, 's.jpg', 1), 1, 200);
    expect(await sharp(decoded.png).metadata()).toMatchObject({ width: 600, height: 200, channels: 1 });

    const g4 = await tiffPages([png, png, png], 300, 'ccittfax4');
    expect(await probeImage(g4, 'scan.tif')).toEqual({ format: 'tiff', pages: 3 });
    expect(await imagePage(g4, 'scan.tif', 3)).toMatchObject({ page: 3, width: 600, height: 200, dpi: 300 });
    // Screen resolutions (72 dpi) say nothing about a scan.
    expect((await imagePage(png, 'a.png', 1)).dpi).toBeNull();
  });

  it('scales pages to the OCR resolution when the scan records one, and down from huge sizes', () => {
    const ocr = { ...DEFAULT_SETTINGS.ocr, dpi: 200 };
    expect(ocrScale({ width: 2480, height: 3508, dpi: 300 }, ocr)).toBeCloseTo(2 / 3);
    expect(ocrScale({ width: 2480, height: 3508, dpi: 600 }, ocr)).toBe(0.5); // never below half
    expect(ocrScale({ width: 850, height: 1100, dpi: 100 }, ocr)).toBe(2);
    expect(ocrScale({ width: 4000, height: 3000, dpi: null }, ocr)).toBe(1); // a photo: as it is
    const huge = ocrScale({ width: 12_000, height: 9_000, dpi: null }, ocr);
    expect(12_000 * 9_000 * huge * huge).toBeCloseTo(MAX_OCR_PIXELS, -3);
  });

  it('gives the viewer PNG/JPEG as they are and TIFF pages or rotated photos as PNG, with the page size', async () => {
    expect(await viewerImage(png, 'a.png', 1)).toMatchObject({ mime: 'image/png', data: png, width: 600, height: 200 });
    const g4 = await tiffPages([png, png], 300, 'ccittfax4');
    const page2 = await viewerImage(g4, 'scan.tif', 2);
    expect(page2).toMatchObject({ mime: 'image/png', width: 600, height: 200 });
    expect(await sharp(page2.data).metadata()).toMatchObject({ format: 'png', width: 600, height: 200 });
    const sideways = await viewerImage(await sidewaysJpeg(png), 's.jpg', 1);
    expect(await sharp(sideways.data).metadata()).toMatchObject({ format: 'png', width: 600, height: 200 });
    expect((await errorOf(viewerImage(g4, 'scan.tif', 3))).code).toBe('INVALID_INPUT');
  });
});
