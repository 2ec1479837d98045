/**
 * One-file bundles for USB drives: a plain POSIX ustar archive (`.fbbundle`) of a bundle
 * folder. Written and read here with no archive library, so every rule is visible:
 * only regular files and folders, no links or devices, no absolute or `..` paths, no
 * duplicate names, per-file, total-size and entry-count limits, header checksums, and a
 * clear "truncated" error when the copy on the drive is incomplete.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FieldbookError } from '../errors';

export const ARCHIVE_EXTENSION = '.fbbundle';
const BLOCK = 512;
const IO_CHUNK = 1024 * 1024;

export interface ArchiveLimits {
  maxEntries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

/** Top-level names a bundle may contain; anything else in an archive is refused. */
const ALLOWED_ROOTS = new Set(['manifest.json', 'manifest.sig', 'files', 'models', 'index']);
/** The entries that say what the rest of the bundle may hold. */
const HEAD = new Set(['manifest.json', 'manifest.sig']);

export type TarEntryType = 'file' | 'dir' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'fifo';
const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  chardev: '3',
  blockdev: '4',
  dir: '5',
  fifo: '6',
};

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  bytes.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  writeString(buf, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/**
 * One ustar header block. Exported so tests can build hostile archives (links, devices,
 * traversal names) with the same layout the reader parses.
 */
export function tarHeader(entry: { name: string; size: number; type?: TarEntryType; linkName?: string }): Buffer {
  const h = Buffer.alloc(BLOCK);
  let name = entry.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar name too long: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  const type = entry.type ?? 'file';
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, type === 'dir' ? 0o755 : 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, entry.size);
  writeOctal(h, 136, 12, 0);
  h.fill(0x20, 148, 156);
  writeString(h, 156, 1, TYPE_FLAGS[type]);
  writeString(h, 157, 100, entry.linkName ?? '');
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** Every regular file under `dir`, relative, '/'-separated, manifest first (so a reader meets it early). */
function bundleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else if (e.isFile()) out.push(child);
    }
  };
  walk('');
  const rank = (f: string): number => (f === 'manifest.json' ? 0 : f === 'manifest.sig' ? 1 : 2);
  return out.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Pack a bundle folder into one archive file (written beside, then renamed into place). */
export async function packBundle(dir: string, archiveFile: string): Promise<{ bytes: number; entries: number }> {
  const partial = `${archiveFile}.partial`;
  const out = await fs.promises.open(partial, 'w');
  let bytes = 0;
  const files = bundleFiles(dir);
  try {
    const write = async (buf: Buffer): Promise<void> => {
      await out.write(buf);
      bytes += buf.length;
    };
    for (const rel of files) {
      const full = path.join(dir, ...rel.split('/'));
      const size = fs.statSync(full).size;
      await write(tarHeader({ name: rel, size }));
      const input = await fs.promises.open(full, 'r');
      try {
        const buf = Buffer.alloc(IO_CHUNK);
        let left = size;
        while (left > 0) {
          const { bytesRead } = await input.read(buf, 0, Math.min(IO_CHUNK, left));
          if (bytesRead === 0) throw new Error(`${full} shrank while it was packed`);
          await write(buf.subarray(0, bytesRead));
          left -= bytesRead;
        }
      } finally {
        await input.close();
      }
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad) await write(Buffer.alloc(pad));
    }
    await write(Buffer.alloc(BLOCK * 2));
    await out.sync();
  } finally {
    await out.close();
  }
  fs.renameSync(partial, archiveFile);
  return { bytes, entries: files.length };
}

function readString(buf: Buffer, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readOctal(buf: Buffer, offset: number, length: number, what: string, at: number): number {
  if ((buf[offset] as number) & 0x80)
    throw new FieldbookError('BUNDLE_UNSAFE', {
      detail: `archive entry at byte ${at}: ${what} in binary form (too large)`,
    });
  const text = readString(buf, offset, length).trim();
  if (!/^[0-7]*$/.test(text))
    throw new FieldbookError('BUNDLE_INVALID', { detail: `archive header at byte ${at}: bad ${what} field` });
  return text ? parseInt(text, 8) : 0;
}

function checksumOk(h: Buffer): boolean {
  const stored = readString(h, 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  return sum === parseInt(stored, 8);
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a named pipe',
  '7': 'a contiguous file',
  x: 'an extended (pax) header',
  g: 'a global pax header',
  L: 'a GNU long name',
  K: 'a GNU long link name',
};

/** Validate one entry name and give its place under `dest` (never outside it). */
function entryTarget(dest: string, name: string, at: number): string {
  const clean = name.replace(/\/+$/, '');
  const unsafe = (why: string): FieldbookError =>
    new FieldbookError('BUNDLE_UNSAFE', { detail: `archive entry ${JSON.stringify(name)} at byte ${at}: ${why}` });
  if (!clean || clean.includes('\0') || clean.includes('\\')) throw unsafe('invalid name');
  if (clean.startsWith('/') || /^[a-zA-Z]:/.test(clean)) throw unsafe('absolute path');
  const parts = clean.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) throw unsafe('path leaves the bundle');
  if (!ALLOWED_ROOTS.has(parts[0] as string)) throw unsafe('not part of a Fieldbook bundle');
  const full = path.resolve(dest, ...parts);
  const rel = path.relative(dest, full);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw unsafe('path leaves the bundle');
  return full;
}

/**
 * The first two entries of an archive, `manifest.json` then `manifest.sig` (the order
 * `packBundle` writes), read without unpacking anything: the signer and signature are
 * checked from these before a single other byte is written to disk.
 */
export async function readArchiveHead(
  archiveFile: string,
  maxBytes: number,
): Promise<{ manifest: Buffer; signature: Buffer }> {
  const input = await fs.promises.open(archiveFile, 'r');
  try {
    const fileSize = (await input.stat()).size;
    const header = Buffer.alloc(BLOCK);
    const out: Buffer[] = [];
    let pos = 0;
    for (const expected of ['manifest.json', 'manifest.sig']) {
      if (pos + BLOCK > fileSize)
        throw new FieldbookError('BUNDLE_TRUNCATED', { file: archiveFile, detail: `${expected} is missing` });
      await input.read(header, 0, BLOCK, pos);
      if (!checksumOk(header))
        throw new FieldbookError('BUNDLE_INVALID', {
          file: archiveFile,
          detail: `damaged archive header at byte ${pos} (not a Fieldbook bundle, or corrupted)`,
        });
      const name = [readString(header, 345, 155), readString(header, 0, 100)].filter(Boolean).join('/');
      const typeFlag = readString(header, 156, 1) || '0';
      if (name !== expected || typeFlag !== '0')
        throw new FieldbookError('BUNDLE_INVALID', {
          file: archiveFile,
          detail: `the archive must start with manifest.json and manifest.sig (found ${JSON.stringify(name)})`,
        });
      const size = readOctal(header, 124, 12, 'size', pos);
      if (size > maxBytes)
        throw new FieldbookError('BUNDLE_UNSAFE', {
          file: archiveFile,
          detail: `${name} larger than ${maxBytes} bytes`,
        });
      pos += BLOCK;
      if (pos + size > fileSize)
        throw new FieldbookError('BUNDLE_TRUNCATED', { file: archiveFile, detail: `${name} is cut off` });
      const data = Buffer.alloc(size);
      if (size > 0) await input.read(data, 0, size, pos);
      out.push(data);
      pos += Math.ceil(size / BLOCK) * BLOCK;
    }
    return { manifest: out[0] as Buffer, signature: out[1] as Buffer };
  } finally {
    await input.close();
  }
}

/**
 * Unpack an archive into a new folder inside `workDir`. Refuses (and removes what it wrote)
 * on any unsafe or damaged entry. With `expected` (entry name → size, from a manifest whose
 * signature was already checked), only those files (and the manifest and signature) are
 * written, and only at the listed size. Returns the folder.
 */
export async function unpackBundle(
  archiveFile: string,
  workDir: string,
  limits: ArchiveLimits,
  expected?: ReadonlyMap<string, number>,
): Promise<string> {
  // Tagged with this process's id: a leftover of a dead process is removed when the data folder opens.
  const dest = path.join(workDir, `unpack-${process.pid}-${randomUUID()}`);
  fs.mkdirSync(dest, { recursive: true });
  try {
    await unpackInto(archiveFile, dest, limits, expected);
    return dest;
  } catch (err) {
    fs.rmSync(dest, { recursive: true, force: true });
    throw err;
  }
}

/** Create a file that must not exist yet; a clash (a file where a folder should be, names equal but for case) is unsafe. */
async function openNewFile(target: string, name: string): Promise<fs.promises.FileHandle> {
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    return await fs.promises.open(target, 'wx');
  } catch (err) {
    throw new FieldbookError('BUNDLE_UNSAFE', {
      detail: `archive entry ${name} clashes with another entry (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    });
  }
}

async function unpackInto(
  archiveFile: string,
  dest: string,
  limits: ArchiveLimits,
  expected: ReadonlyMap<string, number> | undefined,
): Promise<void> {
  const input = await fs.promises.open(archiveFile, 'r');
  const truncated = (detail: string): FieldbookError =>
    new FieldbookError('BUNDLE_TRUNCATED', { file: archiveFile, detail });
  try {
    const fileSize = (await input.stat()).size;
    const header = Buffer.alloc(BLOCK);
    const seen = new Set<string>();
    let pos = 0;
    let total = 0;
    let entries = 0;
    for (;;) {
      if (pos + BLOCK > fileSize) throw truncated(`the archive ends at byte ${fileSize} without its end marker`);
      await input.read(header, 0, BLOCK, pos);
      if (header.every((b) => b === 0)) {
        if (pos + 2 * BLOCK > fileSize) throw truncated('the end marker is incomplete');
        return;
      }
      if (!checksumOk(header))
        throw new FieldbookError('BUNDLE_INVALID', {
          file: archiveFile,
          detail: `damaged archive header at byte ${pos} (not a Fieldbook bundle, or corrupted)`,
        });
      const at = pos;
      const typeFlag = readString(header, 156, 1) || '0';
      const name = [readString(header, 345, 155), readString(header, 0, 100)].filter(Boolean).join('/');
      if (typeFlag !== '0' && typeFlag !== '5') {
        throw new FieldbookError('BUNDLE_UNSAFE', {
          file: archiveFile,
          detail: `archive entry ${JSON.stringify(name)} is ${TYPE_NAMES[typeFlag] ?? `of unknown type "${typeFlag}"`}; only plain files are allowed`,
        });
      }
      const size = readOctal(header, 124, 12, 'size', at);
      const target = entryTarget(dest, name, at);
      const key = path.relative(dest, target);
      if (seen.has(key))
        throw new FieldbookError('BUNDLE_UNSAFE', { file: archiveFile, detail: `archive entry ${name} appears twice` });
      seen.add(key);
      if (++entries > limits.maxEntries)
        throw new FieldbookError('BUNDLE_UNSAFE', { detail: `archive has more than ${limits.maxEntries} entries` });
      if (size > limits.maxFileBytes)
        throw new FieldbookError('BUNDLE_UNSAFE', { detail: `archive entry ${name} is larger than the limit` });
      total += size;
      if (total > limits.maxTotalBytes)
        throw new FieldbookError('BUNDLE_UNSAFE', { detail: 'archive unpacks to more than the size limit' });
      pos += BLOCK;
      if (expected && typeFlag === '0' && !HEAD.has(name)) {
        const listed = expected.get(name);
        if (listed === undefined)
          throw new FieldbookError('BUNDLE_UNSAFE', {
            file: archiveFile,
            detail: `archive entry ${JSON.stringify(name)} is not listed in the signed manifest`,
          });
        if (listed !== size)
          throw new FieldbookError('BUNDLE_HASH_MISMATCH', {
            file: archiveFile,
            detail: `archive entry ${name}: ${size} bytes, the manifest says ${listed}`,
          });
      }
      if (typeFlag === '5') {
        if (size !== 0) throw new FieldbookError('BUNDLE_INVALID', { detail: `folder entry ${name} has a size` });
        try {
          fs.mkdirSync(target, { recursive: true });
        } catch {
          throw new FieldbookError('BUNDLE_UNSAFE', { detail: `archive folder ${name} clashes with a file entry` });
        }
        continue;
      }
      if (pos + size > fileSize) throw truncated(`${name} is cut off (${fileSize - pos} of ${size} bytes present)`);
      const out = await openNewFile(target, name);
      try {
        const buf = Buffer.alloc(Math.min(IO_CHUNK, Math.max(size, 1)));
        let left = size;
        let readPos = pos;
        while (left > 0) {
          const { bytesRead } = await input.read(buf, 0, Math.min(buf.length, left), readPos);
          if (bytesRead === 0) throw truncated(`${name} is cut off`);
          await out.write(buf.subarray(0, bytesRead));
          left -= bytesRead;
          readPos += bytesRead;
        }
      } finally {
        await out.close();
      }
      pos += Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    await input.close();
  }
}
