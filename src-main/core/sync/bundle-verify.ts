/**
 * Checking a bundle before anything of it reaches this PC's data: the manifest (schema, every
 * field that becomes a path), the signer (trusted, and the key that first published this
 * knowledge base), the signature, then every listed file (plain file, size, SHA-256).
 *
 * A `.fbbundle` archive is checked in the same order: its first two entries (manifest and
 * signature) are read and verified before anything is unpacked, and then only the files the
 * signed manifest lists are unpacked, at the listed sizes.
 */
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FieldbookError } from '../errors';
import type { Db } from '../store/db';
import { getMeta } from '../store/vectors';
import { sha256File } from '../util/hash';
import { readArchiveHead, unpackBundle } from './bundle-archive';
import {
  isUnsafeIssue,
  Manifest,
  MAX_FILE_BYTES,
  MAX_FILES,
  MAX_TOTAL_BYTES,
  safeBundlePath,
  sameFileKey,
  type BundleManifest,
} from './bundle-manifest';

/** A manifest listing 20,000 documents is a few MB; anything far larger is refused before it is parsed. */
const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

const ARCHIVE_LIMITS = { maxEntries: MAX_FILES * 2 + 10, maxFileBytes: MAX_FILE_BYTES, maxTotalBytes: MAX_TOTAL_BYTES };

export interface VerifiedManifest {
  manifest: BundleManifest;
  signerName: string;
}

/** Every file a manifest lists (documents, carried indexes, model files) with its size and hash. */
function listedFiles(manifest: BundleManifest): Array<{ file: string; size: number; sha256: string }> {
  return [
    ...manifest.documents.flatMap((d) => [
      { file: d.file, size: d.size, sha256: d.sha256 },
      ...(d.index ? [d.index] : []),
    ]),
    ...manifest.models.flatMap((m) => m.files),
  ];
}

/**
 * The key that first published a knowledge base (the signer of its first applied bundle), or
 * null for a knowledge base this PC has never applied. Only that key may update it.
 */
export function kbPublisher(db: Db, sourceKb: string): string | null {
  const row = db
    .prepare(
      `SELECT json_extract(manifest, '$.signer') AS signer FROM bundle_imports
       WHERE source_kb = ? AND status IN ('applied', 'rolled-back') AND applied_at IS NOT NULL
       ORDER BY applied_at, staged_at LIMIT 1`,
    )
    .get(sourceKb) as { signer: string } | undefined;
  return row?.signer ?? null;
}

/** Refuse a bundle for a knowledge base that another key published first. */
export function checkPublisher(db: Db, manifest: BundleManifest): void {
  const first = kbPublisher(db, manifest.sourceKb);
  if (first !== null && first !== manifest.signer)
    throw new FieldbookError('BUNDLE_WRONG_PUBLISHER', {
      detail: `knowledge base ${manifest.sourceKb} was published by key ${first.slice(0, 16)}…, this bundle is signed by ${manifest.signer.slice(0, 16)}…`,
    });
}

/** Refuse a bundle older than what this PC has, or an incremental one made for another base version. */
export function checkVersionFits(db: Db, manifest: BundleManifest): void {
  const last = Number(getMeta(db, `kb.applied.${manifest.sourceKb}`) ?? '0');
  if (manifest.version <= last)
    throw new FieldbookError('BUNDLE_OLD_VERSION', {
      detail: `bundle version ${manifest.version}, this PC already has version ${last}`,
    });
  if (manifest.baseVersion > 0 && manifest.baseVersion !== last)
    throw new FieldbookError('BUNDLE_BASE_MISMATCH', {
      detail: `this bundle updates version ${manifest.baseVersion} to ${manifest.version}; this PC has version ${last} of that knowledge base`,
    });
}

/** Parse and check a manifest from its exact bytes and signature: schema and paths, signer, signature, publisher. */
export function verifyManifest(db: Db, bytes: Buffer, signature: Buffer, where: string): VerifiedManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new FieldbookError('BUNDLE_INVALID', { file: where, detail: 'manifest.json is not valid JSON (truncated?)' });
  }
  const m = Manifest.safeParse(parsed);
  if (!m.success) {
    const unsafe = m.error.issues.find(isUnsafeIssue);
    const issue = unsafe ?? m.error.issues[0];
    throw new FieldbookError(unsafe ? 'BUNDLE_UNSAFE' : 'BUNDLE_INVALID', {
      file: where,
      detail: issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid manifest',
    });
  }
  const manifest = m.data;
  const fileKeys = new Set<string>();
  for (const d of manifest.documents) {
    if (fileKeys.has(sameFileKey(d.key)))
      throw new FieldbookError('BUNDLE_INVALID', {
        file: where,
        detail: `two documents would share one file: ${d.key}`,
      });
    fileKeys.add(sameFileKey(d.key));
  }
  // Where a model file will be installed must stay inside its model's folder.
  for (const pack of manifest.models) for (const f of pack.files) safeBundlePath(path.join(where, 'model'), f.target);
  const signer = db.prepare('SELECT name, public_pem FROM trusted_keys WHERE fingerprint = ?').get(manifest.signer) as
    { name: string; public_pem: string } | undefined;
  if (!signer)
    throw new FieldbookError('BUNDLE_UNKNOWN_SIGNER', { file: where, detail: `key ${manifest.signer.slice(0, 16)}…` });
  const ok = verify(
    null,
    bytes,
    createPublicKey(signer.public_pem),
    Buffer.from(signature.toString('utf8').trim(), 'base64'),
  );
  if (!ok)
    throw new FieldbookError('BUNDLE_BAD_SIGNATURE', {
      file: where,
      detail: 'the manifest was changed after signing, or signed by another key',
    });
  checkPublisher(db, manifest);
  return { manifest, signerName: signer.name };
}

/** Read a bundle folder's manifest and signature (plain files of bounded size) and verify them. */
function verifyFolderManifest(db: Db, dir: string): VerifiedManifest {
  const manifestFile = path.join(dir, 'manifest.json');
  const sigFile = path.join(dir, 'manifest.sig');
  if (!fs.existsSync(manifestFile))
    throw new FieldbookError('BUNDLE_INVALID', { file: dir, detail: 'manifest.json is missing' });
  if (!fs.existsSync(sigFile))
    throw new FieldbookError('BUNDLE_BAD_SIGNATURE', {
      file: dir,
      detail: 'manifest.sig is missing (unsigned bundle)',
    });
  for (const f of [manifestFile, sigFile]) {
    const st = fs.lstatSync(f);
    if (!st.isFile())
      throw new FieldbookError('BUNDLE_UNSAFE', { file: f, detail: 'not a regular file (symlink, pipe or device)' });
    if (st.size > MAX_MANIFEST_BYTES)
      throw new FieldbookError('BUNDLE_UNSAFE', { file: f, detail: `larger than ${MAX_MANIFEST_BYTES} bytes` });
  }
  return verifyManifest(db, fs.readFileSync(manifestFile), fs.readFileSync(sigFile), dir);
}

/** Every listed file: a plain file inside the bundle, of the listed size and hash, all within the limits. */
async function verifyListedFiles(dir: string, manifest: BundleManifest): Promise<void> {
  let total = 0;
  for (const d of listedFiles(manifest)) {
    const full = safeBundlePath(dir, d.file);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(full);
    } catch {
      throw new FieldbookError('BUNDLE_INVALID', {
        file: d.file,
        detail: 'file listed in the manifest is missing (truncated copy?)',
      });
    }
    if (st.isSymbolicLink() || !st.isFile())
      throw new FieldbookError('BUNDLE_UNSAFE', { file: d.file, detail: 'not a regular file (symlink or device)' });
    if (st.nlink > 1) throw new FieldbookError('BUNDLE_UNSAFE', { file: d.file, detail: 'hard link' });
    if (st.size > MAX_FILE_BYTES || st.size !== d.size)
      throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: d.file, detail: `size ${st.size} ≠ ${d.size}` });
    total += st.size;
    if (total > MAX_TOTAL_BYTES) throw new FieldbookError('BUNDLE_UNSAFE', { detail: 'bundle larger than the limit' });
    if ((await sha256File(full)) !== d.sha256) throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: d.file });
  }
}

/** Verify a bundle folder: manifest first, then every file it lists. */
export async function verifyBundleDir(db: Db, dir: string): Promise<VerifiedManifest> {
  const verified = verifyFolderManifest(db, dir);
  await verifyListedFiles(dir, verified.manifest);
  return verified;
}

/**
 * A bundle folder as is, or a one-file archive: its manifest verified from the archive's
 * first entries, then only the files it lists unpacked into `workDir` (with every archive
 * safety check). `cleanup` removes what was unpacked.
 */
export async function openBundleSource(
  db: Db,
  source: string,
  workDir: string,
): Promise<{ dir: string; cleanup: () => void }> {
  let st: fs.Stats;
  try {
    st = fs.statSync(source);
  } catch {
    throw new FieldbookError('PATH_NOT_FOUND', { file: source });
  }
  if (st.isDirectory()) return { dir: source, cleanup: () => undefined };
  if (!st.isFile())
    throw new FieldbookError('BUNDLE_INVALID', { file: source, detail: 'neither a bundle folder nor a bundle file' });
  const head = await readArchiveHead(source, MAX_MANIFEST_BYTES);
  const { manifest } = verifyManifest(db, head.manifest, head.signature, source);
  const expected = new Map(listedFiles(manifest).map((f) => [f.file, f.size]));
  fs.mkdirSync(workDir, { recursive: true });
  const dir = await unpackBundle(source, workDir, ARCHIVE_LIMITS, expected);
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Verify a bundle folder or `.fbbundle` file: signer, signature, every path, size and hash.
 * Nothing reaches the quarantine before this passes.
 */
export async function verifyBundle(db: Db, source: string, workDir: string = os.tmpdir()): Promise<VerifiedManifest> {
  const opened = await openBundleSource(db, source, workDir);
  try {
    return await verifyBundleDir(db, opened.dir);
  } finally {
    opened.cleanup();
  }
}
