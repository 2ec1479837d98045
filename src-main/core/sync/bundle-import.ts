/**
 * Bundle import on the isolated PC: verify (trusted signer, signature, every path and hash)
 * before anything is copied; stage into a quarantine folder; a reviewer approves or rejects
 * each change; apply writes every approved document in ONE transaction as a new KB version,
 * after a snapshot of the previous version (see rollback.ts).
 */
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import type { Embedder } from '../embed/embedder';
import { FieldbookError } from '../errors';
import type { ParserPool } from '../ingest/parser-pool';
import { isDocType, type ParseResult } from '../ingest/types';
import {
  chunkContext,
  deleteDocumentRows,
  getDocumentByPath,
  listDocuments,
  writeDocument,
  type Sensitivity,
} from '../store/documents';
import type { Db } from '../store/db';
import { ensureVectorSpace, getMeta, setMeta } from '../store/vectors';
import { sha256File } from '../util/hash';
import { ARCHIVE_EXTENSION, unpackBundle } from './bundle-archive';
import {
  IndexFile,
  Manifest,
  MAX_FILE_BYTES,
  MAX_FILES,
  MAX_TOTAL_BYTES,
  labelFingerprint,
  libraryPath,
  safeBundlePath,
  sameFileKey,
  type BundleManifest,
} from './bundle-manifest';
import { keepReplacedFile, preserveLibraryFiles, recordReplacedModels } from './rollback';

/** A manifest listing 20,000 documents is a few MB; anything far larger is refused before it is parsed. */
const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

const ARCHIVE_LIMITS = { maxEntries: MAX_FILES * 2 + 10, maxFileBytes: MAX_FILE_BYTES, maxTotalBytes: MAX_TOTAL_BYTES };

/** A bundle folder as is, or a one-file archive unpacked (with every safety check) into `workDir`. */
async function openBundleSource(source: string, workDir: string): Promise<{ dir: string; cleanup: () => void }> {
  let st: fs.Stats;
  try {
    st = fs.statSync(source);
  } catch {
    throw new FieldbookError('PATH_NOT_FOUND', { file: source });
  }
  if (st.isDirectory()) return { dir: source, cleanup: () => undefined };
  if (!st.isFile())
    throw new FieldbookError('BUNDLE_INVALID', { file: source, detail: 'neither a bundle folder nor a bundle file' });
  fs.mkdirSync(workDir, { recursive: true });
  const dir = await unpackBundle(source, workDir, ARCHIVE_LIMITS);
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Verify a bundle folder or `.fbbundle` file: signer, signature, every path, size and hash.
 * Nothing reaches the quarantine before this passes.
 */
export async function verifyBundle(
  db: Db,
  source: string,
  workDir: string = os.tmpdir(),
): Promise<{ manifest: BundleManifest; signerName: string }> {
  const opened = await openBundleSource(source, workDir);
  try {
    return await verifyBundleDir(db, opened.dir);
  } finally {
    opened.cleanup();
  }
}

async function verifyBundleDir(db: Db, dir: string): Promise<{ manifest: BundleManifest; signerName: string }> {
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
  const bytes = fs.readFileSync(manifestFile);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new FieldbookError('BUNDLE_INVALID', { file: manifestFile, detail: 'not valid JSON (truncated?)' });
  }
  const m = Manifest.safeParse(parsed);
  if (!m.success)
    throw new FieldbookError('BUNDLE_INVALID', {
      file: manifestFile,
      detail: m.error.issues[0]?.message ?? 'invalid manifest',
    });
  const manifest = m.data;
  const fileKeys = new Set<string>();
  for (const d of manifest.documents) {
    if (fileKeys.has(sameFileKey(d.key)))
      throw new FieldbookError('BUNDLE_INVALID', {
        file: manifestFile,
        detail: `two documents would share one file: ${d.key}`,
      });
    fileKeys.add(sameFileKey(d.key));
  }
  const signer = db.prepare('SELECT name, public_pem FROM trusted_keys WHERE fingerprint = ?').get(manifest.signer) as
    { name: string; public_pem: string } | undefined;
  if (!signer)
    throw new FieldbookError('BUNDLE_UNKNOWN_SIGNER', { file: dir, detail: `key ${manifest.signer.slice(0, 16)}…` });
  const ok = verify(
    null,
    bytes,
    createPublicKey(signer.public_pem),
    Buffer.from(fs.readFileSync(sigFile, 'utf8').trim(), 'base64'),
  );
  if (!ok)
    throw new FieldbookError('BUNDLE_BAD_SIGNATURE', {
      file: dir,
      detail: 'the manifest was changed after signing, or signed by another key',
    });
  let total = 0;
  const entries = [
    ...manifest.documents.flatMap((d) => [
      { file: d.file, size: d.size, sha256: d.sha256 },
      ...(d.index ? [d.index] : []),
    ]),
    ...manifest.models.flatMap((m) => {
      // Where a model file will be installed must also stay inside its folder.
      for (const f of m.files) safeBundlePath(path.join(dir, 'model-target-check'), f.target);
      return m.files;
    }),
  ];
  for (const d of entries) {
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
  return { manifest, signerName: signer.name };
}

export type ChangeKind = 'new' | 'changed' | 'unchanged' | 'removed' | 'model';

export interface StagedItem {
  key: string;
  kind: ChangeKind;
  title: string;
  sizeBefore: number | null;
  sizeAfter: number | null;
  sensitivity: Sensitivity | null;
  decision: 'pending' | 'approved' | 'rejected';
}

/** What the reviewer sees about a staged bundle besides its list of changes. */
export interface StagedBundleInfo {
  bundleId: string;
  sourceKb: string;
  version: number;
  /** 0 for a full bundle, else the version an incremental bundle updates. */
  baseVersion: number;
  signer: string;
  createdAt: string;
  /** Whether document chunks/vectors came with the bundle, and whether the vectors fit this PC's model. */
  carriesIndex: boolean;
  embeddingModel: string | null;
}

export interface StagedBundle {
  bundleId: string;
  info: StagedBundleInfo;
  items: StagedItem[];
  alreadyApplied: boolean;
}

function bundleInfo(manifest: BundleManifest, signerName: string): StagedBundleInfo {
  return {
    bundleId: manifest.bundleId,
    sourceKb: manifest.sourceKb,
    version: manifest.version,
    baseVersion: manifest.baseVersion,
    signer: signerName,
    createdAt: manifest.createdAt,
    carriesIndex: manifest.documents.some((d) => d.index !== undefined),
    embeddingModel: manifest.embedding?.modelId ?? null,
  };
}

/** Verify, then copy into quarantine (never the live knowledge base) and list the changes for review. */
export async function stageBundle(db: Db, home: string, source: string, now: Date): Promise<StagedBundle> {
  const opened = await openBundleSource(source, path.join(home, 'staging'));
  try {
    return await stageBundleDir(db, home, opened.dir, now);
  } finally {
    opened.cleanup();
  }
}

async function stageBundleDir(db: Db, home: string, dir: string, now: Date): Promise<StagedBundle> {
  const { manifest, signerName } = await verifyBundleDir(db, dir);
  const info = bundleInfo(manifest, signerName);
  const prior = db.prepare('SELECT status FROM bundle_imports WHERE bundle_id = ?').get(manifest.bundleId) as
    { status: string } | undefined;
  if (prior?.status === 'applied') {
    await finishLibraryFiles(db, home, manifest.bundleId, manifest);
    return { bundleId: manifest.bundleId, info, items: reviewItems(db, manifest.bundleId), alreadyApplied: true };
  }
  checkVersionFits(db, manifest);
  const staging = path.join(home, 'staging', manifest.bundleId);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, 'files'), { recursive: true });
  fs.copyFileSync(path.join(dir, 'manifest.json'), path.join(staging, 'manifest.json'));
  for (const d of manifest.documents) {
    fs.copyFileSync(safeBundlePath(dir, d.file), safeBundlePath(staging, d.file));
    if (d.index) {
      fs.mkdirSync(path.join(staging, 'index'), { recursive: true });
      fs.copyFileSync(safeBundlePath(dir, d.index.file), safeBundlePath(staging, d.index.file));
    }
  }
  if (manifest.models.length) fs.mkdirSync(path.join(staging, 'models'), { recursive: true });
  for (const m of manifest.models)
    for (const f of m.files) fs.copyFileSync(safeBundlePath(dir, f.file), safeBundlePath(staging, f.file));
  const present = new Set(manifest.documents.map((d) => libraryPath(home, manifest.sourceKb, d.key)));
  db.transaction(() => {
    db.prepare('DELETE FROM bundle_items WHERE bundle_id = ?').run(manifest.bundleId);
    db.prepare(
      `INSERT INTO bundle_imports(bundle_id, source_kb, version, signer, manifest, status, staged_at) VALUES (?, ?, ?, ?, ?, 'staged', ?)
       ON CONFLICT(bundle_id) DO UPDATE SET status = 'staged', staged_at = excluded.staged_at`,
    ).run(
      manifest.bundleId,
      manifest.sourceKb,
      manifest.version,
      signerName,
      JSON.stringify(manifest),
      now.toISOString(),
    );
    const ins = db.prepare(
      'INSERT INTO bundle_items(bundle_id, key, kind, title, size_before, size_after, sensitivity, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const d of manifest.documents) {
      const existing = getDocumentByPath(db, libraryPath(home, manifest.sourceKb, d.key));
      const kind: ChangeKind = !existing
        ? 'new'
        : existing.sha256 === d.sha256 && labelFingerprint(existing) === labelFingerprint(d)
          ? 'unchanged'
          : 'changed';
      ins.run(
        manifest.bundleId,
        d.key,
        kind,
        d.title,
        existing?.sizeBytes ?? null,
        d.size,
        d.sensitivity,
        kind === 'unchanged' ? 'approved' : 'pending',
      );
    }
    for (const m of manifest.models) {
      const size = m.files.reduce((a, f) => a + f.size, 0);
      ins.run(
        manifest.bundleId,
        `model:${m.kind}/${m.name}`,
        'model',
        `${m.kind === 'llm' ? 'Language model' : 'Embedding model'} ${m.name}`,
        null,
        size,
        null,
        'pending',
      );
    }
    // A full bundle removes the documents from its source that it no longer has; an
    // incremental one removes exactly those it lists.
    const prefix = path.join(home, 'library', manifest.sourceKb) + path.sep;
    const removedPaths = new Set(manifest.removed.map((k) => libraryPath(home, manifest.sourceKb, k)));
    for (const doc of listDocuments(db)) {
      const gone =
        manifest.baseVersion === 0
          ? doc.sourcePath.startsWith(prefix) && !present.has(doc.sourcePath)
          : removedPaths.has(doc.sourcePath);
      if (gone) {
        ins.run(
          manifest.bundleId,
          path.basename(doc.sourcePath),
          'removed',
          doc.title,
          doc.sizeBytes,
          null,
          doc.sensitivity,
          'pending',
        );
      }
    }
  })();
  return { bundleId: manifest.bundleId, info, items: reviewItems(db, manifest.bundleId), alreadyApplied: false };
}

/** The manifest of a staged (or applied) bundle, and its quarantine folder. */
export function stagedManifest(db: Db, home: string, bundleId: string): { manifest: BundleManifest; staging: string } {
  const row = db.prepare('SELECT manifest FROM bundle_imports WHERE bundle_id = ?').get(bundleId) as
    { manifest: string } | undefined;
  if (!row) throw new FieldbookError('BUNDLE_INVALID', { detail: `no staged bundle ${bundleId}` });
  return { manifest: Manifest.parse(JSON.parse(row.manifest)), staging: path.join(home, 'staging', bundleId) };
}

export function reviewItems(db: Db, bundleId: string): StagedItem[] {
  return db
    .prepare(
      'SELECT key, kind, title, size_before AS sizeBefore, size_after AS sizeAfter, sensitivity, decision FROM bundle_items WHERE bundle_id = ? ORDER BY kind, key',
    )
    .all(bundleId) as StagedItem[];
}

export function decide(
  db: Db,
  bundleId: string,
  keys: string[] | 'all',
  decision: 'approved' | 'rejected',
  reviewer: string,
  comment: string | null,
): number {
  const status = db.prepare('SELECT status FROM bundle_imports WHERE bundle_id = ?').get(bundleId) as
    { status: string } | undefined;
  if (!status) throw new FieldbookError('BUNDLE_INVALID', { detail: `no staged bundle ${bundleId}` });
  if (status.status !== 'staged') throw new FieldbookError('BUNDLE_INVALID', { detail: `bundle is ${status.status}` });
  const upd = db.prepare(
    "UPDATE bundle_items SET decision = ?, reviewer = ?, comment = ? WHERE bundle_id = ? AND key = ? AND kind != 'unchanged'",
  );
  let n = 0;
  db.transaction(() => {
    const all = keys === 'all' ? reviewItems(db, bundleId).map((i) => i.key) : keys;
    for (const k of all) n += upd.run(decision, reviewer, comment, bundleId, k).changes;
  })();
  return n;
}

/** What reading a staged bundle's documents needs (preview and apply). */
export interface BundleReadDeps {
  db: Db;
  home: string;
  parser: ParserPool;
  limits: IngestLimits;
  chunking: ChunkSettings;
  ocr?: OcrSettings;
}

export interface ApplyDeps extends BundleReadDeps {
  embedder: Embedder | null;
  now: Date;
  /** Called after parsing, before the transaction (tests use it to crash mid-apply). */
  beforeCommit?: () => void;
  onProgress?: (p: ApplyProgress) => void;
}

/** Apply progress: documents read (parsed or taken from the carried index), then the commit. */
export interface ApplyProgress {
  phase: 'read' | 'commit' | 'done';
  done: number;
  total: number;
  title?: string;
}

export interface ApplyResult {
  version: number;
  applied: number;
  removed: number;
  models: number;
  /** Chunks whose vectors came with the bundle (same embedding model), and chunks embedded here. */
  vectorsReused: number;
  vectorsEmbedded: number;
}

/** Read a document's carried chunks and vectors (checked again in quarantine). */
async function readIndexFile(
  staging: string,
  d: BundleManifest['documents'][number],
): Promise<{ result: ParseResult; vectors: Float32Array[] | null } | null> {
  if (!d.index) return null;
  const file = safeBundlePath(staging, d.index.file);
  if ((await sha256File(file)) !== d.index.sha256)
    throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file, detail: 'changed in quarantine' });
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new FieldbookError('BUNDLE_INVALID', { file: d.index.file, detail: 'index file is not valid JSON' });
  }
  const parsed = IndexFile.safeParse(json);
  if (!parsed.success)
    throw new FieldbookError('BUNDLE_INVALID', { file: d.index.file, detail: parsed.error.issues[0]?.message });
  const idx = parsed.data;
  if (!isDocType(idx.type))
    throw new FieldbookError('BUNDLE_INVALID', { file: d.index.file, detail: `unknown document type "${idx.type}"` });
  const result: ParseResult = {
    doc: {
      type: idx.type,
      title: idx.title,
      pages: idx.pages,
      pageSizes: [],
      blocks: [],
      warnings: idx.warnings,
    },
    chunks: idx.chunks,
    language: idx.language,
  };
  const vectors =
    idx.vectors && idx.vectors.length === idx.chunks.length
      ? idx.vectors.map((b64) => {
          const buf = Buffer.from(b64, 'base64');
          if (buf.byteLength % 4 !== 0)
            throw new FieldbookError('BUNDLE_INVALID', { file: d.index?.file, detail: 'a vector is not float32 data' });
          return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        })
      : null;
  return { result, vectors };
}

/** Refuse a bundle older than what this PC has, or an incremental one made for another base version. */
function checkVersionFits(db: Db, manifest: BundleManifest): void {
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

/**
 * Write the library files of an applied bundle's documents from quarantine, then remove the
 * quarantine. Runs after the commit, and again on a retry when a crash or a failed copy cut it
 * short (the quarantine stays until every file is in place).
 */
async function finishLibraryFiles(db: Db, home: string, bundleId: string, manifest: BundleManifest): Promise<void> {
  const staging = path.join(home, 'staging', bundleId);
  if (!fs.existsSync(staging)) return;
  for (const d of manifest.documents) {
    const target = libraryPath(home, manifest.sourceKb, d.key);
    const doc = getDocumentByPath(db, target);
    if (!doc || doc.sha256 !== d.sha256) continue; // rejected, or replaced since
    if (fs.existsSync(target) && (await sha256File(target)) === d.sha256) continue;
    const staged = safeBundlePath(staging, d.file);
    if ((await sha256File(staged)) !== d.sha256)
      throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: staged, detail: 'changed in quarantine' });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(staged, `${target}.incoming`);
    fs.renameSync(`${target}.incoming`, target);
  }
  fs.rmSync(staging, { recursive: true, force: true });
}

/** Apply the approved changes of a staged bundle in one transaction; snapshot first for rollback. */
export async function applyBundle(bundleId: string, deps: ApplyDeps): Promise<ApplyResult> {
  const { db, home } = deps;
  const row = db.prepare('SELECT manifest, status FROM bundle_imports WHERE bundle_id = ?').get(bundleId) as
    { manifest: string; status: string } | undefined;
  if (!row) throw new FieldbookError('BUNDLE_INVALID', { detail: `no staged bundle ${bundleId}` });
  const manifest = Manifest.parse(JSON.parse(row.manifest));
  if (row.status === 'applied') {
    // A crash (or a failed copy) after the commit left the library files unwritten: finish them now.
    await finishLibraryFiles(db, home, bundleId, manifest);
    return {
      version: Number(getMeta(db, 'kb.version') ?? '0'),
      applied: 0,
      removed: 0,
      models: 0,
      vectorsReused: 0,
      vectorsEmbedded: 0,
    };
  }
  if (row.status !== 'staged') throw new FieldbookError('BUNDLE_INVALID', { detail: `bundle is ${row.status}` });
  const items = reviewItems(db, bundleId);
  if (items.some((i) => i.decision === 'pending'))
    throw new FieldbookError('BUNDLE_INVALID', { detail: 'some changes are not reviewed yet' });
  const staging = path.join(home, 'staging', bundleId);
  // Re-check the staged copies: quarantine is a folder on disk, too.
  const approved = manifest.documents.filter(
    (d) =>
      items.find((i) => i.key === d.key)?.decision === 'approved' &&
      items.find((i) => i.key === d.key)?.kind !== 'unchanged',
  );
  const parsed: Array<{
    d: BundleManifest['documents'][number];
    target: string;
    result: ParseResult;
    vectors: Float32Array[] | null;
  }> = [];
  let vectorsReused = 0;
  let vectorsEmbedded = 0;
  const embedder = deps.embedder;
  // Vectors made elsewhere are used only when they come from exactly this PC's embedding model.
  const sameModel =
    embedder !== null && manifest.embedding?.modelId === embedder.id && manifest.embedding.dim === embedder.dim;
  const report = (phase: ApplyProgress['phase'], done: number, title?: string): void =>
    deps.onProgress?.({ phase, done, total: approved.length, ...(title ? { title } : {}) });
  for (const d of approved) {
    report('read', parsed.length, d.title);
    const staged = safeBundlePath(staging, d.file);
    if ((await sha256File(staged)) !== d.sha256)
      throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: staged, detail: 'changed in quarantine' });
    const target = libraryPath(home, manifest.sourceKb, d.key);
    const carried = await readIndexFile(staging, d);
    const result =
      carried?.result ?? (await deps.parser.parse(staged, deps.limits, deps.chunking, undefined, deps.ocr));
    let vectors: Float32Array[] | null = null;
    if (embedder) {
      ensureVectorSpace(db, { modelId: embedder.id, dim: embedder.dim });
      if (sameModel && carried?.vectors) {
        if (carried.vectors.some((v) => v.length !== embedder.dim))
          throw new FieldbookError('BUNDLE_INVALID', { file: d.index?.file, detail: 'vector dimension differs' });
        vectors = carried.vectors;
        vectorsReused += vectors.length;
      } else {
        vectors = await embedder.embedPassages(
          result.chunks.map((c) => `${chunkContext(result.doc.title, c.headingPath)}\n${c.text}`),
        );
        vectorsEmbedded += vectors.length;
      }
    }
    parsed.push({ d, target, result, vectors });
  }
  const removals = items.filter((i) => i.kind === 'removed' && i.decision === 'approved');
  // Model packs: copy into the data folder's models directory, checked again after copying.
  const models = manifest.models.filter(
    (m) => items.find((i) => i.kind === 'model' && i.key === `model:${m.kind}/${m.name}`)?.decision === 'approved',
  );
  const approvals: Array<{ kind: 'embedding' | 'llm'; name: string; file: string; sha256: string }> = [];
  // Installed model files a pack replaces are kept by hash, so a rollback can put them back.
  const replaced: Array<{ file: string; sha256: string }> = [];
  for (const m of models) {
    const root = m.kind === 'llm' ? path.join(home, 'models', 'llm') : path.join(home, 'models', 'embedding', m.name);
    for (const f of m.files) {
      const dest = safeBundlePath(root, f.target);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const old = await keepReplacedFile(home, dest);
      if (old && old.sha256 !== f.sha256) replaced.push(old);
      fs.copyFileSync(safeBundlePath(staging, f.file), dest);
      if ((await sha256File(dest)) !== f.sha256) throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: dest });
      const isWeights = m.kind === 'llm' || /^onnx\/model[^/]*\.onnx$/.test(f.target);
      if (isWeights)
        approvals.push({
          kind: m.kind,
          name: m.kind === 'llm' ? path.basename(f.target) : m.name,
          file: path.basename(f.target),
          sha256: f.sha256,
        });
    }
  }
  // Snapshot of the version being replaced, for rollback.
  const before = Number(getMeta(db, 'kb.version') ?? '0');
  fs.mkdirSync(path.join(home, 'snapshots'), { recursive: true });
  // Keep the library files this apply may overwrite, so a rollback can put them back.
  await preserveLibraryFiles(db, home);
  await db.backup(path.join(home, 'snapshots', `v${before}.db`));
  recordReplacedModels(home, before, replaced);
  report('commit', parsed.length);
  deps.beforeCommit?.();
  const version = before + 1;
  db.pragma('synchronous = FULL');
  try {
    db.transaction(() => {
      // Checked again at commit: another bundle may have been applied since this one was staged.
      checkVersionFits(db, manifest);
      for (const p of parsed) {
        writeDocument(
          db,
          {
            sourcePath: p.target,
            title: p.result.doc.title,
            type: p.result.doc.type,
            sha256: p.d.sha256,
            sizeBytes: p.d.size,
            pages: p.result.doc.pages,
            language: p.result.language,
            sensitivity: p.d.sensitivity,
            isSafety: p.d.isSafety,
            tags: p.d.tags,
            warnings: p.result.doc.warnings,
            chunks: p.result.chunks,
            vectors: p.vectors,
          },
          deps.now,
        );
      }
      const approve = db.prepare(
        `INSERT INTO approved_models(kind, name, file, sha256, approved_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(kind, name, file) DO UPDATE SET sha256 = excluded.sha256, approved_at = excluded.approved_at`,
      );
      for (const a of approvals) approve.run(a.kind, a.name, a.file, a.sha256, deps.now.toISOString());
      for (const r of removals) {
        const doc = getDocumentByPath(db, libraryPath(home, manifest.sourceKb, r.key));
        if (doc) deleteDocumentRows(db, doc.id);
      }
      db.prepare("UPDATE bundle_imports SET status = 'applied', applied_at = ? WHERE bundle_id = ?").run(
        deps.now.toISOString(),
        bundleId,
      );
      setMeta(db, 'kb.version', String(version));
      setMeta(db, `kb.applied.${manifest.sourceKb}`, String(manifest.version));
    })();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
  await finishLibraryFiles(db, home, bundleId, manifest);
  report('done', parsed.length);
  return {
    version,
    applied: parsed.length,
    removed: removals.length,
    models: models.length,
    vectorsReused,
    vectorsEmbedded,
  };
}

/** Bundles on removable media: folders with manifest.json + manifest.sig, and `.fbbundle` files, three levels deep. */
export function findBundles(roots: string[]): string[] {
  const found: string[] = [];
  const isBundle = (dir: string): boolean =>
    fs.existsSync(path.join(dir, 'manifest.json')) && fs.existsSync(path.join(dir, 'manifest.sig'));
  const walk = (dir: string, depth: number): void => {
    if (isBundle(dir)) {
      found.push(dir);
      return;
    }
    if (depth === 0) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(path.join(dir, e.name), depth - 1);
      else if (e.isFile() && e.name.toLowerCase().endsWith(ARCHIVE_EXTENSION)) found.push(path.join(dir, e.name));
    }
  };
  for (const r of roots) if (fs.existsSync(r)) walk(r, 3);
  return found;
}

/** Where removable drives appear: Linux mount points, or every drive letter but C: on Windows. */
export function removableRoots(platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'win32') return 'DEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((l) => `${l}:\\`);
  return ['/media', '/run/media', '/mnt', '/Volumes'];
}

export interface BundleHistoryEntry {
  bundleId: string;
  version: number;
  baseVersion: number;
  signer: string;
  status: string;
  stagedAt: string;
  appliedAt: string | null;
  documents: number;
}

export function bundleHistory(db: Db): BundleHistoryEntry[] {
  return db
    .prepare(
      `SELECT bundle_id AS bundleId, version, COALESCE(json_extract(manifest, '$.baseVersion'), 0) AS baseVersion,
           signer, status, staged_at AS stagedAt, applied_at AS appliedAt,
           json_array_length(json_extract(manifest, '$.documents')) AS documents
         FROM bundle_imports ORDER BY staged_at DESC`,
    )
    .all() as BundleHistoryEntry[];
}
