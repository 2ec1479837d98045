/**
 * Inspect a ZIP container before any library unpacks it: read the central
 * directory, then inflate each entry with a hard output cap, so a zip bomb is
 * refused by what it really expands to — not by what its headers claim.
 */
import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export class ZipFormatError extends Error {}
export class ZipLimitError extends Error {}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

export function readCentralDirectory(buf: Buffer): ZipEntry[] {
  // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
  const from = Math.max(0, buf.length - 65_557);
  let eocd = -1;
  for (let i = buf.length - 22; i >= from; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('end of central directory not found (truncated file?)');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (cdOffset + cdSize > buf.length) throw new ZipFormatError('central directory outside the file');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CEN_SIG) throw new ZipFormatError('bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const uncompressedSize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localHeaderOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({ name, method, compressedSize, uncompressedSize, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function entryData(buf: Buffer, e: ZipEntry): Buffer {
  const p = e.localHeaderOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== LOC_SIG)
    throw new ZipFormatError(`bad local header for ${e.name}`);
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const end = start + e.compressedSize;
  if (end > buf.length) throw new ZipFormatError(`entry ${e.name} is truncated`);
  return buf.subarray(start, end);
}

export interface ZipLimits {
  maxEntries: number;
  maxUnpackedBytes: number;
  maxCompressionRatio: number;
}

/**
 * Verify the archive against the limits by really inflating every entry (with
 * maxOutputLength, so memory stays bounded). Returns the entries.
 */
export function checkZip(buf: Buffer, limits: ZipLimits): ZipEntry[] {
  const entries = readCentralDirectory(buf);
  if (entries.length > limits.maxEntries) throw new ZipLimitError(`${entries.length} entries > ${limits.maxEntries}`);
  let total = 0;
  for (const e of entries) {
    const declared = e.uncompressedSize;
    if (total + declared > limits.maxUnpackedBytes) {
      throw new ZipLimitError(`unpacks to more than ${Math.round(limits.maxUnpackedBytes / 1048576)} MB`);
    }
    const data = entryData(buf, e);
    let size: number;
    if (e.method === 0) size = data.length;
    else if (e.method === 8) {
      try {
        size = zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, limits.maxUnpackedBytes - total) }).length;
      } catch (err) {
        if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          throw new ZipLimitError(`entry ${e.name} unpacks to more than the limit`);
        }
        throw new ZipFormatError(`entry ${e.name} is damaged: ${(err as Error).message}`);
      }
    } else throw new ZipFormatError(`entry ${e.name} uses unsupported compression ${e.method}`);
    if (size > 1_000_000 && size / Math.max(1, data.length) > limits.maxCompressionRatio) {
      throw new ZipLimitError(`entry ${e.name} has a compression ratio of ${Math.round(size / data.length)}:1`);
    }
    total += size;
  }
  return entries;
}
