/**
 * Generated files in the shapes real-world documents take (issue 16): password-protected PDFs
 * with a UTF-8 password, a circular page tree, leading junk before "%PDF", DOCX packages with
 * only a heading, in zip64 form, as an encrypted ZIP, and with an undefined XML entity.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { readCentralDirectory } from '../../src-main/core/ingest/zip-guard';
import { docx, para, writePdf } from './bad-inputs';

export const UTF8_PASSWORD = 'pässwört';
export const PASSWORD_TEXT = 'Encrypted pump manual: torque the impeller nut to 45 Nm.';
export const HEADING_TEXT = 'Emergency stop test procedure ES-7';

/** Committed AES-256 revision 6 fixture (qpdf; see test/fixtures/generate-encrypted-pdfs.ts). */
export const AES256_R6_FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'encrypted', 'aes256-r6-utf8.pdf');
export const AES128_R4_FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'encrypted', 'aes128-r4-utf8.pdf');

/** Two pages: page 1 readable, page 2 a /Pages node whose only kid is itself. */
export function circularPageTreePdf(text: string): Buffer {
  const stream = `BT /F1 18 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    '<< /Type /Pages /Parent 2 0 R /Kids [6 0 R] /Count 1 >>',
  ];
  let body = '%PDF-1.7\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) body += `${String(off).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

interface PlainEntry {
  name: string;
  data: Buffer;
}

/** Unpack a (small, trusted, generated) ZIP into its entries. */
function unzipEntries(buf: Buffer): PlainEntry[] {
  return readCentralDirectory(buf).map((e) => {
    const p = e.localHeaderOffset;
    const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
    const raw = buf.subarray(start, start + e.compressedSize);
    return { name: e.name, data: e.method === 8 ? zlib.inflateRawSync(raw) : Buffer.from(raw) };
  });
}

/**
 * The same package written the way zip64 writers do: sizes and offsets saturated (0xFFFFFFFF)
 * in the classic fields with the real values in zip64 extra fields, and a zip64 end record.
 */
export function zip64(entries: PlainEntry[]): Buffer {
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const zip64Extra = (values: number[]): Buffer => {
    const extra = Buffer.alloc(4 + values.length * 8);
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(values.length * 8, 2);
    values.forEach((v, i) => extra.writeBigUInt64LE(BigInt(v), 4 + i * 8));
    return extra;
  };
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const compressed = zlib.deflateRawSync(e.data);
    const crc = zlib.crc32(e.data);
    const localExtra = zip64Extra([e.data.length, compressed.length]);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(0xffffffff, 18);
    local.writeUInt32LE(0xffffffff, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    const centralExtra = zip64Extra([e.data.length, compressed.length, offset]);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 4);
    central.writeUInt16LE(45, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(0xffffffff, 20);
    central.writeUInt32LE(0xffffffff, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
    central.writeUInt32LE(0xffffffff, 42);
    parts.push(local, name, localExtra, compressed);
    centrals.push(central, name, centralExtra);
    offset += local.length + name.length + localExtra.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(entries.length), 24);
  record.writeBigUInt64LE(BigInt(entries.length), 32);
  record.writeBigUInt64LE(BigInt(cd.length), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...parts, cd, record, locator, end]);
}

/**
 * A ZIP whose entries are password-protected (general purpose flag bit 0; `aes` = WinZip AES,
 * method 99 with its 0x9901 extra field), as tools write them; the contents are random bytes.
 */
export function encryptedZip(names: string[], aes: boolean): Buffer {
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const n of names) {
    const name = Buffer.from(n, 'utf8');
    const data = Buffer.alloc(64);
    for (let i = 0; i < data.length; i++) data[i] = (i * 73 + 41) & 0xff;
    const extra = Buffer.alloc(aes ? 11 : 0);
    if (aes) {
      extra.writeUInt16LE(0x9901, 0);
      extra.writeUInt16LE(7, 2);
      extra.writeUInt16LE(2, 4);
      extra.write('AE', 6, 'latin1');
      extra.writeUInt8(3, 8);
      extra.writeUInt16LE(8, 9);
    }
    const method = aes ? 99 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(aes ? 51 : 20, 4);
    local.writeUInt16LE(1, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(100, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(aes ? 51 : 20, 4);
    central.writeUInt16LE(aes ? 51 : 20, 6);
    central.writeUInt16LE(1, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(100, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(offset, 42);
    parts.push(local, name, extra, data);
    centrals.push(central, name, extra);
    offset += local.length + name.length + extra.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(names.length, 8);
  end.writeUInt16LE(names.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

export async function headingOnlyDocx(text: string): Promise<Buffer> {
  const doc = new Document({
    sections: [{ children: [new Paragraph({ text, heading: HeadingLevel.HEADING_1 })] }],
  });
  return Packer.toBuffer(doc);
}

export interface RealWorldShapes {
  dir: string;
  /** pdfkit AES-256 revision 5 with the UTF-8 password (pdf.js needs it as UTF-8 bytes). */
  utf8PasswordPdf: string;
  /** pdfkit AES-128 revision 4 with the same password (PDFDocEncoding). */
  r4PasswordPdf: string;
  /** qpdf AES-256 revision 6 (committed fixture, copied). */
  aes256Pdf: string;
  circularPageTreePdf: string;
  leadingJunkPdf: string;
  headingOnlyDocx: string;
  zip64Docx: string;
  encryptedZipDocx: string;
  aesZipDocx: string;
  undefinedEntityDocx: string;
}

export async function writeRealWorldShapes(dir: string): Promise<RealWorldShapes> {
  fs.mkdirSync(dir, { recursive: true });
  const p = (name: string): string => path.join(dir, name);
  const files: RealWorldShapes = {
    dir,
    utf8PasswordPdf: p('utf8-password-r5.pdf'),
    r4PasswordPdf: p('utf8-password-r4.pdf'),
    aes256Pdf: p('aes256-r6.pdf'),
    circularPageTreePdf: p('circular-page-tree.pdf'),
    leadingJunkPdf: p('leading-junk.pdf'),
    headingOnlyDocx: p('heading-only.docx'),
    zip64Docx: p('zip64.docx'),
    encryptedZipDocx: p('encrypted-zip.docx'),
    aesZipDocx: p('aes-zip.docx'),
    undefinedEntityDocx: p('undefined-entity.docx'),
  };
  await writePdf(files.utf8PasswordPdf, (d) => d.text(PASSWORD_TEXT, 72, 72), {
    userPassword: UTF8_PASSWORD,
    ownerPassword: 'owner',
    pdfVersion: '1.7ext3',
  });
  await writePdf(files.r4PasswordPdf, (d) => d.text(PASSWORD_TEXT, 72, 72), {
    userPassword: UTF8_PASSWORD,
    ownerPassword: 'owner',
    pdfVersion: '1.7',
  });
  fs.copyFileSync(AES256_R6_FIXTURE, files.aes256Pdf);
  fs.writeFileSync(files.circularPageTreePdf, circularPageTreePdf('Page one: bleed the hydraulic circuit'));
  const plain = p('plain.tmp');
  await writePdf(plain, (d) => d.text('Conveyor CV-2 belt tension: 4 mm deflection', 72, 72));
  // Junk longer than the 1,024 bytes readers search for the header in.
  const junk = Buffer.from(`From: scanner@plant.local\r\nSubject: manual\r\n\r\n${'x'.repeat(3000)}\r\n`);
  fs.writeFileSync(files.leadingJunkPdf, Buffer.concat([junk, fs.readFileSync(plain)]));
  fs.rmSync(plain);
  const heading = await headingOnlyDocx(HEADING_TEXT);
  fs.writeFileSync(files.headingOnlyDocx, heading);
  fs.writeFileSync(files.zip64Docx, zip64(unzipEntries(await headingOnlyDocx(HEADING_TEXT))));
  const names = ['[Content_Types].xml', '_rels/.rels', 'word/document.xml'];
  fs.writeFileSync(files.encryptedZipDocx, encryptedZip(names, false));
  fs.writeFileSync(files.aesZipDocx, encryptedZip(names, true));
  fs.writeFileSync(
    files.undefinedEntityDocx,
    docx(`${para('Valve V-12 inspection')}<w:p><w:r><w:t>&testent;</w:t></w:r></w:p>`, ''),
  );
  return files;
}
