/**
 * Generated bad (and good) input files for ingestion tests: each one must be refused with
 * its own specific error, or parsed without leaking anything (XXE).
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);

interface PdfKitDoc {
  text(s: string, x?: number, y?: number): PdfKitDoc;
  addPage(): PdfKitDoc;
  rect(x: number, y: number, w: number, h: number): PdfKitDoc;
  fill(color?: string): PdfKitDoc;
  pipe(stream: NodeJS.WritableStream): void;
  end(): void;
}
type PdfKitCtor = new (opts?: Record<string, unknown>) => PdfKitDoc;

/** Write a PDF with pdfkit (devDependency) and wait until it is on disk. */
export function writePdf(
  file: string,
  draw: (doc: PdfKitDoc) => void,
  opts: Record<string, unknown> = {},
): Promise<void> {
  const PDFDocument = require('pdfkit') as PdfKitCtor;
  const doc = new PDFDocument({ compress: false, ...opts });
  const out = fs.createWriteStream(file);
  doc.pipe(out);
  draw(doc);
  doc.end();
  return new Promise((resolve, reject) => {
    out.on('finish', () => resolve());
    out.on('error', reject);
  });
}

const crc32 = (buf: Buffer): number => zlib.crc32(buf);

export interface ZipEntryInput {
  name: string;
  data: Buffer;
  /** Pre-deflated data with its real uncompressed size and CRC (for zip bombs). */
  deflated?: { data: Buffer; size: number; crc: number };
}

/** A minimal ZIP writer (deflate), enough for DOCX packages. */
export function zip(entries: ZipEntryInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const compressed = e.deflated?.data ?? zlib.deflateRawSync(e.data);
    const size = e.deflated?.size ?? e.data.length;
    const crc = e.deflated?.crc ?? crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export const CONTENT_TYPES = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`;
export const RELS = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`;

function documentXml(body: string, prolog = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${prolog}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`;
}

export const para = (text: string): string => `<w:p><w:r><w:t>${text}</w:t></w:r></w:p>`;

export function docx(body: string, prolog = ''): Buffer {
  return zip([
    { name: '[Content_Types].xml', data: Buffer.from(CONTENT_TYPES) },
    { name: '_rels/.rels', data: Buffer.from(RELS) },
    { name: 'word/document.xml', data: Buffer.from(documentXml(body, prolog)) },
  ]);
}

/** document.xml content that inflates to `megabytes` MB of spaces: pre-deflated data, real size and CRC. */
function zipBomb(megabytes: number): { data: Buffer; size: number; crc: number } {
  const plain = Buffer.alloc(megabytes << 20, 0x20);
  return { data: zlib.deflateRawSync(plain, { level: 9 }), size: plain.length, crc: zlib.crc32(plain) };
}

export interface BadInputs {
  dir: string;
  missing: string;
  zeroByte: string;
  corruptPdf: string;
  encryptedPdf: string;
  scannedPdf: string;
  renamedPdf: string;
  legacyDoc: string;
  encryptedDocx: string;
  corruptDocx: string;
  notZipDocx: string;
  zipBombDocx: string;
  xxeDocx: string;
  oversizePdf: string;
  unsupported: string;
  goodPdf: string;
  goodDocx: string;
}

export async function writeBadInputs(dir: string, opts: { oversizeBytes: number }): Promise<BadInputs> {
  fs.mkdirSync(dir, { recursive: true });
  const p = (name: string): string => path.join(dir, name);
  const files: BadInputs = {
    dir,
    missing: p('does-not-exist.pdf'),
    zeroByte: p('empty.pdf'),
    corruptPdf: p('corrupt.pdf'),
    encryptedPdf: p('encrypted.pdf'),
    scannedPdf: p('scanned.pdf'),
    renamedPdf: p('picture-renamed.pdf'),
    legacyDoc: p('old-format.doc'),
    encryptedDocx: p('protected.docx'),
    corruptDocx: p('broken.docx'),
    notZipDocx: p('plain-text.docx'),
    zipBombDocx: p('bomb.docx'),
    xxeDocx: p('xxe.docx'),
    oversizePdf: p('huge.pdf'),
    unsupported: p('drawing.dwg'),
    goodPdf: p('ok.pdf'),
    goodDocx: p('ok.docx'),
  };
  fs.writeFileSync(files.zeroByte, '');
  fs.writeFileSync(
    files.corruptPdf,
    '%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\nthis is not a pdf body\n%%EOF garbage',
  );
  await writePdf(files.encryptedPdf, (d) => d.text('Secret pump procedure'), {
    userPassword: 'plant',
    ownerPassword: 'owner',
    pdfVersion: '1.7',
  });
  await writePdf(files.scannedPdf, (d) => {
    d.rect(50, 50, 300, 200).fill('#333333');
    d.addPage();
    d.rect(80, 80, 200, 300).fill('#777777');
  });
  fs.writeFileSync(
    files.renamedPdf,
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 1)]),
  );
  const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(4096, 0)]);
  fs.writeFileSync(files.legacyDoc, ole);
  fs.writeFileSync(files.encryptedDocx, ole);
  fs.writeFileSync(files.corruptDocx, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(300, 0x41)]));
  fs.writeFileSync(files.notZipDocx, 'This is just text saved with a .docx name.\n');
  fs.writeFileSync(
    files.zipBombDocx,
    zip([
      { name: '[Content_Types].xml', data: Buffer.from(CONTENT_TYPES) },
      { name: '_rels/.rels', data: Buffer.from(RELS) },
      { name: 'word/document.xml', data: Buffer.alloc(0), deflated: zipBomb(64) },
    ]),
  );
  fs.writeFileSync(
    files.xxeDocx,
    docx(
      `${para('Safe paragraph')}<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>`,
      '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ),
  );
  const fd = fs.openSync(files.oversizePdf, 'w');
  fs.writeSync(fd, '%PDF-1.7\n');
  fs.ftruncateSync(fd, opts.oversizeBytes);
  fs.closeSync(fd);
  fs.writeFileSync(files.unsupported, 'AC1027');
  await writePdf(files.goodPdf, (d) => {
    d.text('Page one: hydraulic pump inspection', 72, 72);
    d.addPage();
    d.text('Page two: replace the filter element', 72, 72);
  });
  fs.writeFileSync(
    files.goodDocx,
    docx(`${para('Pump maintenance')}${para('Replace the filter element every 500 hours.')}`),
  );
  return files;
}
