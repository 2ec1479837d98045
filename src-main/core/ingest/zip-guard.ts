/**
 * Inspect a ZIP container before any library unpacks it: read the central
 * directory, then inflate each entry with a hard output cap, so a zip bomb is
 * refused by what it really expands to — not by what its headers claim.
 */
import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  /** General purpose flags; bit 0 = the entry is encrypted. */
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export class ZipFormatError extends Error {}
export class ZipLimitError extends Error {}
/** The archive holds password-protected entries (ZipCrypto or WinZip AES, method 99). */
export class ZipEncryptedError extends Error {}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;
const ZIP64_EXTRA_ID = 0x0001;
const AES_METHOD = 99;

/** A 64-bit little-endian size or offset as a number; anything past 2^53 is a damaged file. */
function readUInt64(buf: Buffer, at: number): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('zip64 value out of range');
  return Number(value);
}

/** Entry count, central directory size and offset: from the zip64 record when the classic one is saturated. */
function directoryBounds(buf: Buffer, eocd: number): { count: number; cdSize: number; cdOffset: number } {
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && buf.readUInt32LE(locator) === ZIP64_LOCATOR_SIG) {
    const record = readUInt64(buf, locator + 8);
    if (record + 56 > buf.length || buf.readUInt32LE(record) !== ZIP64_EOCD_SIG) {
      throw new ZipFormatError('zip64 end of central directory not found');
    }
    count = readUInt64(buf, record + 32);
    cdSize = readUInt64(buf, record + 40);
    cdOffset = readUInt64(buf, record + 48);
  }
  return { count, cdSize, cdOffset };
}

/** Replace saturated 32-bit fields with the values from the entry's zip64 extra field (in the spec's order). */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const size = extra.readUInt16LE(p + 2);
    if (id === ZIP64_EXTRA_ID) {
      let q = p + 4;
      const end = Math.min(extra.length, q + size);
      const next = (): number => {
        if (q + 8 > end) throw new ZipFormatError(`bad zip64 field for ${entry.name}`);
        const v = readUInt64(extra, q);
        q += 8;
        return v;
      };
      if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    p += 4 + size;
  }
}

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
  const { count, cdSize, cdOffset } = directoryBounds(buf, eocd);
  if (cdOffset + cdSize > buf.length) throw new ZipFormatError('central directory outside the file');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CEN_SIG) throw new ZipFormatError('bad central directory entry');
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const uncompressedSize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localHeaderOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const entry: ZipEntry = { name, method, flags, compressedSize, uncompressedSize, localHeaderOffset };
    applyZip64Extra(entry, buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));
    entries.push(entry);
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
  // Encrypted entries cannot be inflated: say so instead of "damaged" or "unsupported compression 99".
  const locked = entries.find((e) => (e.flags & 1) === 1 || e.method === AES_METHOD);
  if (locked) throw new ZipEncryptedError(`entry ${locked.name} is encrypted`);
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
