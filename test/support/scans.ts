/**
 * Scanned-document fixtures made at test time: page images (see `images.ts`) placed in PDFs
 * with pdfkit as scanners do (one image filling each page, optionally under a line of real
 * text), turned pages, a blank form, and PDFs whose pages are huge or many. Small: a few pages
 * at modest resolution, generated per run, nothing stored in the repo.
 */
import fs from 'node:fs';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import sharp from 'sharp';
import { writePdf } from './bad-inputs';
import { textPage, type TextLine } from './images';

/** An English maintenance page as it would be scanned at 150 dpi (a half-letter page, 1275 × 975 px). */
export const ENGLISH_LINES: TextLine[] = [
  { text: 'Hydraulic unit maintenance', x: 90, y: 120, size: 44, bold: true },
  { text: 'Inspect the hydraulic unit every week. Check the oil', x: 90, y: 220, size: 30 },
  { text: 'level, the filter indicator and the hoses for leaks.', x: 90, y: 265, size: 30 },
  { text: 'Error E-417 means the pressure is too low: top up', x: 90, y: 310, size: 30 },
  { text: 'with ISO VG 46 oil and bleed the circuit before', x: 90, y: 355, size: 30 },
  { text: 'restarting the press. Replace the return filter', x: 90, y: 400, size: 30 },
  { text: 'every 500 operating hours and record the date.', x: 90, y: 445, size: 30 },
];

export function englishTruth(lines: TextLine[] = ENGLISH_LINES): string {
  return lines.map((l) => l.text).join(' ');
}

export function englishScan(lines: TextLine[] = ENGLISH_LINES): Promise<Buffer> {
  return textPage(lines, 1275, 600);
}

/**
 * The English page on a form: section rules, check boxes, a logo block and a footer with
 * symbols. Read with eng+chi_tra, the rules, boxes and symbols come back as stray CJK
 * characters (口 圖 「); read with eng alone they do not.
 */
export async function englishFormScan(): Promise<Buffer> {
  const base = await loadImage(await englishScan());
  const canvas = createCanvas(1275, 760);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, 1275, 760);
  ctx.drawImage(base, 0, 0);
  ctx.fillStyle = '#000000';
  for (const y of [160, 480, 600]) ctx.fillRect(60, y, 1150, 4);
  ctx.strokeStyle = '#000000';
  ctx.lineWidth = 3;
  for (let i = 0; i < 6; i++) ctx.strokeRect(70, 200 + i * 45, 14, 14);
  ctx.fillRect(1050, 30, 120, 90);
  ctx.clearRect(1070, 50, 30, 50);
  ctx.font = '26px "DejaVu Sans", sans-serif';
  ctx.fillText('Form HU-7  Rev. 3   Page 1 / 2   \u2713 \u2717 \u2610 \u25a0 \u2192 \u203b', 90, 650);
  return canvas.encode('png');
}

/** The page image turned clockwise by `degrees`, as a page fed into the scanner sideways or upside down. */
export async function turned(png: Buffer, degrees: 90 | 180 | 270): Promise<Buffer> {
  return sharp(png).rotate(degrees).png().toBuffer();
}

/**
 * A blank inspection form as scanned: ruled boxes and check boxes with no writing, a grey
 * cast and scanner specks — the kind of page tesseract reads as a few letters at low confidence.
 */
export async function blankFormScan(width = 1275, height = 1650, seed = 7): Promise<Buffer> {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#f4f4f0';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = '#202020';
  ctx.lineWidth = 3;
  for (let row = 0; row < 12; row++) {
    const y = 150 + row * 110;
    ctx.strokeRect(90, y, width - 180, 90);
    ctx.strokeRect(110, y + 30, 30, 30);
    ctx.beginPath();
    ctx.moveTo(width / 2, y);
    ctx.lineTo(width / 2, y + 90);
    ctx.stroke();
  }
  let s = seed;
  const rand = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  ctx.fillStyle = '#333333';
  for (let i = 0; i < 400; i++) ctx.fillRect(rand() * width, rand() * height, 2 + rand() * 4, 2 + rand() * 4);
  return canvas.encode('png');
}

/** The pdfkit calls used here (pdfkit has no bundled types). */
interface PdfPages {
  addPage(opts: { size: [number, number]; margin: number }): PdfPages;
  image(png: Buffer, x: number, y: number, opts: { width: number }): PdfPages;
  fontSize(size: number): PdfPages;
  text(s: string, x: number, y: number, opts: { lineBreak?: boolean; width?: number }): PdfPages;
  rect(x: number, y: number, w: number, h: number): PdfPages;
  fill(color: string): PdfPages;
}

export interface ScanPage {
  /** The page image (PNG). */
  png: Buffer;
  /** Its scan resolution: the PDF page is the image's size at this resolution. */
  dpi: number;
  /** Real text drawn above the image (a stamp or a header), in points from the top-left. */
  text?: { str: string; x: number; y: number; size: number };
  /** Image placed from this many points below the top (leaves room for the text). */
  imageTop?: number;
}

/** A PDF of scanned pages: each page holds its image (and optionally a line of real text). */
export async function scanPdf(file: string, pages: ScanPage[]): Promise<void> {
  const sizes = await Promise.all(pages.map((p) => sharp(p.png).metadata()));
  const dims = pages.map((p, i) => {
    const w = ((sizes[i]?.width ?? 1) * 72) / p.dpi;
    const h = ((sizes[i]?.height ?? 1) * 72) / p.dpi;
    return { w, h: h + (p.imageTop ?? 0) };
  });
  const first = dims[0] ?? { w: 612, h: 792 };
  await writePdf(
    file,
    (pdf) => {
      const d = pdf as unknown as PdfPages;
      pages.forEach((p, i) => {
        const dim = dims[i] ?? first;
        if (i > 0) d.addPage({ size: [dim.w, dim.h], margin: 0 });
        d.image(p.png, 0, p.imageTop ?? 0, { width: dim.w });
        if (p.text) d.fontSize(p.text.size).text(p.text.str, p.text.x, p.text.y, { lineBreak: false });
      });
    },
    { size: [first.w, first.h], margin: 0 },
  );
}

/**
 * A PDF of pages at the given sizes in points without a text layer: blank, or `marked` with a
 * grey bar (so the page is rendered and read by OCR, and finds nothing); the first page may
 * hold a line of real text.
 */
export async function drawnPdf(
  file: string,
  sizes: Array<[number, number]>,
  firstPageText?: string,
  marked = false,
): Promise<void> {
  const [first = [612, 792]] = sizes;
  await writePdf(
    file,
    (pdf) => {
      const d = pdf as unknown as PdfPages;
      sizes.forEach(([w, h], i) => {
        if (i > 0) d.addPage({ size: [w, h], margin: 0 });
        if (i === 0 && firstPageText) d.fontSize(14).text(firstPageText, 72, 72, { width: w - 144 });
        else if (marked) d.rect(w * 0.1, h * 0.1, w * 0.3, h * 0.02).fill('#555555');
      });
    },
    { size: first, margin: 0 },
  );
}

/** Bytes of a written file (for size assertions in messages). */
export function fileSize(file: string): number {
  return fs.statSync(file).size;
}
