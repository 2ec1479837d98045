/**
 * Open a file the app is about to serve without following links: the one helper behind the
 * document viewer (originals and images) and the HTTP bridge's static renderer files.
 *
 * - the last path component must be a regular file, not a symbolic link (lstat), and it is
 *   opened with O_NOFOLLOW where the platform has it; the opened file must be the one lstat saw
 *   (same device and inode), so a swap between the checks is refused;
 * - with `root`, the file's real path (realpath, every link in the folders resolved) must lie
 *   inside the root's real path;
 * - with `sha256`, the content read must hash to it: an indexed document is served only while
 *   it is the content that was indexed (a link, hard link or replacement to anything else —
 *   the database, a key — is refused).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FieldbookError } from '../errors';

/** O_NOFOLLOW where the platform has it (POSIX); Windows relies on the lstat and identity checks. */
const NO_FOLLOW = (fs.constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0;

export interface SafeReadOptions {
  /** Largest content accepted, in bytes. */
  maxBytes: number;
  /** The content must have this SHA-256 (lower-case hex). */
  sha256?: string;
  /** The file's real path must be inside this folder's real path. */
  root?: string;
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The content of `file`, read without following links. Throws PATH_NOT_FOUND (missing),
 * FILE_CHANGED (a link, not a regular file, outside `root`, swapped, or other content than
 * `sha256`), FILE_TOO_LARGE or FILE_UNREADABLE.
 */
export async function readFileNoFollow(file: string, opts: SafeReadOptions): Promise<Buffer> {
  const abs = path.resolve(file);
  let seen: fs.Stats;
  try {
    seen = await fs.promises.lstat(abs);
  } catch {
    throw new FieldbookError('PATH_NOT_FOUND', { file: abs, detail: 'the file was moved or deleted' });
  }
  if (seen.isSymbolicLink()) throw new FieldbookError('FILE_CHANGED', { file: abs, detail: 'the path is a link' });
  if (!seen.isFile()) throw new FieldbookError('FILE_CHANGED', { file: abs, detail: 'not a regular file' });
  if (opts.root !== undefined) {
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([fs.promises.realpath(abs), fs.promises.realpath(opts.root)]);
    } catch {
      throw new FieldbookError('PATH_NOT_FOUND', { file: abs });
    }
    if (!isInside(realRoot, real))
      throw new FieldbookError('FILE_CHANGED', { file: abs, detail: 'a folder on the path links outside' });
  }
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(abs, fs.constants.O_RDONLY | NO_FOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK')
      throw new FieldbookError('FILE_CHANGED', { file: abs, detail: 'the path is a link' });
    if (code === 'ENOENT') throw new FieldbookError('PATH_NOT_FOUND', { file: abs });
    throw new FieldbookError('FILE_UNREADABLE', { file: abs, detail: code ?? 'open failed', cause: err });
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.dev !== seen.dev || opened.ino !== seen.ino)
      throw new FieldbookError('FILE_CHANGED', { file: abs, detail: 'the file was replaced while it was opened' });
    if (opened.size > opts.maxBytes) throw new FieldbookError('FILE_TOO_LARGE', { file: abs });
    const data = await handle.readFile();
    if (data.length > opts.maxBytes) throw new FieldbookError('FILE_TOO_LARGE', { file: abs });
    if (opts.sha256 !== undefined && createHash('sha256').update(data).digest('hex') !== opts.sha256)
      throw new FieldbookError('FILE_CHANGED', { file: abs, detail: 'the content differs from the indexed file' });
    return data;
  } finally {
    await handle.close();
  }
}
