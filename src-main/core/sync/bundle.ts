/**
 * USB knowledge-base bundles. A bundle is a folder:
 *   manifest.json   what changes (documents with sha256, size, labels), source KB, versions
 *   manifest.sig    Ed25519 signature of manifest.json's exact bytes
 *   files/<sha256><ext>
 * On the isolated PC: verify (trusted signer, signature, every path and hash) before
 * anything is copied; stage into a quarantine folder; a reviewer approves or rejects each
 * change; apply writes every approved document in ONE transaction as a new KB version,
 * after a snapshot of the previous version (rollback restores it).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import type { Embedder } from '../embed/embedder';
import { FieldbookError } from '../errors';
import type { ParserPool } from '../ingest/parser-pool';
import type { ParseResult } from '../ingest/types';
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

const MAX_FILES = 20_000;
const MAX_FILE_BYTES = 500 * 1024 * 1024;
const MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024;

const DocEntry = z.object({
  key: z.string().min(1).max(512),
  file: z.string().min(1).max(1024),
  title: z.string().max(1000),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  tags: z.record(z.string(), z.string()),
  sensitivity: z.enum(['public', 'internal', 'confidential', 'restricted']),
  isSafety: z.boolean(),
});
const ModelEntry = z.object({
  kind: z.enum(['embedding', 'llm']),
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\\/:*?"<>|\0]+$/),
  files: z
    .array(
      z.object({
        file: z.string().min(1).max(1024),
        target: z.string().min(1).max(512),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        size: z.number().int().nonnegative(),
      }),
    )
    .min(1)
    .max(100),
});
export type ModelPackEntry = z.infer<typeof ModelEntry>;

const Manifest = z.object({
  format: z.literal('fieldbook-bundle/1'),
  bundleId: z.string().uuid(),
  sourceKb: z.string().min(1).max(100),
  version: z.number().int().positive(),
  createdAt: z.string(),
  signer: z.string().regex(/^[0-9a-f]{64}$/),
  documents: z.array(DocEntry).max(MAX_FILES),
  models: z.array(ModelEntry).max(20).default([]),
});
export type BundleManifest = z.infer<typeof Manifest>;

export function keyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

export function generateSigningKeys(): { publicKeyPem: string; privateKeyPem: string; fingerprint: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    publicKeyPem,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint: keyFingerprint(publicKeyPem),
  };
}

export function trustKey(db: Db, publicKeyPem: string, name: string, now: Date): string {
  const fp = keyFingerprint(publicKeyPem);
  db.prepare(
    'INSERT INTO trusted_keys(fingerprint, name, public_pem, added_at) VALUES (?, ?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET name = excluded.name',
  ).run(fp, name, publicKeyPem, now.toISOString());
  return fp;
}

export function listTrustedKeys(db: Db): Array<{ fingerprint: string; name: string; addedAt: string }> {
  return db.prepare('SELECT fingerprint, name, added_at AS addedAt FROM trusted_keys ORDER BY name').all() as Array<{
    fingerprint: string;
    name: string;
    addedAt: string;
  }>;
}

/** This knowledge base's id (random, created once) and its current version. */
export function kbIdentity(db: Db): { id: string; version: number } {
  let id = getMeta(db, 'kb.id');
  if (!id) {
    id = randomUUID();
    setMeta(db, 'kb.id', id);
  }
  return { id, version: Number(getMeta(db, 'kb.version') ?? '0') };
}

/** Export every document of this knowledge base as a signed bundle (on the master workstation). */
/** Describe a model for a model pack: a transformers.js folder (embedding) or a .gguf file (llm). */
function packModel(modelPath: string, outDir: string): ModelPackEntry {
  const stat = fs.statSync(modelPath);
  const kind: ModelPackEntry['kind'] = stat.isDirectory() ? 'embedding' : 'llm';
  const name = path.basename(modelPath);
  const sources: Array<{ abs: string; target: string }> = [];
  if (kind === 'llm') sources.push({ abs: modelPath, target: name });
  else {
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) walk(abs);
        else if (e.isFile()) sources.push({ abs, target: path.relative(modelPath, abs).split(path.sep).join('/') });
      }
    };
    walk(modelPath);
  }
  const files = sources.map((s) => {
    const data = fs.readFileSync(s.abs);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const file = `models/${sha256}`;
    fs.mkdirSync(path.join(outDir, 'models'), { recursive: true });
    fs.writeFileSync(path.join(outDir, file), data);
    return { file, target: s.target, sha256, size: data.length };
  });
  return { kind, name, files };
}

export function exportBundle(
  db: Db,
  opts: { privateKeyPem: string; outDir: string; now: Date; models?: string[] },
): BundleManifest {
  const privateKey = createPrivateKey(opts.privateKeyPem);
  const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const kb = kbIdentity(db);
  const version = kb.version + 1;
  fs.mkdirSync(path.join(opts.outDir, 'files'), { recursive: true });
  const documents: BundleManifest['documents'] = [];
  const usedKeys = new Set<string>();
  for (const d of listDocuments(db)) {
    if (!fs.existsSync(d.sourcePath))
      throw new FieldbookError('PATH_NOT_FOUND', {
        file: d.sourcePath,
        detail: 'the original file of an indexed document is missing',
      });
    const ext = path.extname(d.sourcePath).toLowerCase();
    const file = `files/${d.sha256}${ext}`;
    fs.copyFileSync(d.sourcePath, path.join(opts.outDir, file));
    let key = path.basename(d.sourcePath);
    if (usedKeys.has(key)) key = `${d.id}-${key}`;
    usedKeys.add(key);
    documents.push({
      key,
      file,
      title: d.title,
      sha256: d.sha256,
      size: d.sizeBytes,
      tags: d.tags,
      sensitivity: d.sensitivity,
      isSafety: d.isSafety,
    });
  }
  const manifest: BundleManifest = {
    format: 'fieldbook-bundle/1',
    bundleId: randomUUID(),
    sourceKb: kb.id,
    version,
    createdAt: opts.now.toISOString(),
    signer: keyFingerprint(publicPem),
    documents,
    models: (opts.models ?? []).map((m) => packModel(m, opts.outDir)),
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(opts.outDir, 'manifest.json'), bytes);
  fs.writeFileSync(path.join(opts.outDir, 'manifest.sig'), sign(null, bytes, privateKey).toString('base64'));
  setMeta(db, 'kb.version', String(version));
  return manifest;
}

/** Reject anything but a plain relative path inside the bundle. */
export function safeBundlePath(root: string, rel: string): string {
  if (
    !rel ||
    rel.includes('\0') ||
    path.isAbsolute(rel) ||
    /^[a-zA-Z]:/.test(rel) ||
    rel.startsWith('\\') ||
    rel.split(/[\\/]/).includes('..')
  ) {
    throw new FieldbookError('BUNDLE_UNSAFE', { detail: `unsafe path in bundle: ${JSON.stringify(rel)}` });
  }
  const full = path.resolve(root, rel);
  const inside = path.relative(path.resolve(root), full);
  if (inside.startsWith('..') || path.isAbsolute(inside))
    throw new FieldbookError('BUNDLE_UNSAFE', { detail: `path escapes the bundle: ${rel}` });
  return full;
}

/** Verify signer, signature, every path, size and hash. Nothing is copied before this passes. */
export async function verifyBundle(db: Db, dir: string): Promise<{ manifest: BundleManifest; signerName: string }> {
  const manifestFile = path.join(dir, 'manifest.json');
  const sigFile = path.join(dir, 'manifest.sig');
  if (!fs.existsSync(manifestFile))
    throw new FieldbookError('BUNDLE_INVALID', { file: dir, detail: 'manifest.json is missing' });
  if (!fs.existsSync(sigFile))
    throw new FieldbookError('BUNDLE_BAD_SIGNATURE', {
      file: dir,
      detail: 'manifest.sig is missing (unsigned bundle)',
    });
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
    ...manifest.documents.map((d) => ({ file: d.file, size: d.size, sha256: d.sha256 })),
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

function libraryPath(home: string, sourceKb: string, key: string): string {
  return path.join(home, 'library', sourceKb, key.replace(/[\\/:*?"<>|\0]/g, '_'));
}

/** Verify, then copy into quarantine (never the live knowledge base) and list the changes for review. */
export async function stageBundle(
  db: Db,
  home: string,
  dir: string,
  now: Date,
): Promise<{ bundleId: string; items: StagedItem[]; alreadyApplied: boolean }> {
  const { manifest, signerName } = await verifyBundle(db, dir);
  const prior = db.prepare('SELECT status FROM bundle_imports WHERE bundle_id = ?').get(manifest.bundleId) as
    { status: string } | undefined;
  if (prior?.status === 'applied')
    return { bundleId: manifest.bundleId, items: reviewItems(db, manifest.bundleId), alreadyApplied: true };
  const last = Number(getMeta(db, `kb.applied.${manifest.sourceKb}`) ?? '0');
  if (manifest.version <= last) {
    throw new FieldbookError('BUNDLE_OLD_VERSION', {
      detail: `bundle version ${manifest.version}, this PC already has version ${last}`,
    });
  }
  const staging = path.join(home, 'staging', manifest.bundleId);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, 'files'), { recursive: true });
  fs.copyFileSync(path.join(dir, 'manifest.json'), path.join(staging, 'manifest.json'));
  for (const d of manifest.documents) fs.copyFileSync(safeBundlePath(dir, d.file), safeBundlePath(staging, d.file));
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
      const kind: ChangeKind = !existing ? 'new' : existing.sha256 === d.sha256 ? 'unchanged' : 'changed';
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
    // Documents from the same source that the bundle no longer has are proposed for removal.
    const prefix = path.join(home, 'library', manifest.sourceKb) + path.sep;
    for (const doc of listDocuments(db)) {
      if (doc.sourcePath.startsWith(prefix) && !present.has(doc.sourcePath)) {
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
  return { bundleId: manifest.bundleId, items: reviewItems(db, manifest.bundleId), alreadyApplied: false };
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

export interface ApplyDeps {
  db: Db;
  home: string;
  parser: ParserPool;
  limits: IngestLimits;
  chunking: ChunkSettings;
  embedder: Embedder | null;
  ocr?: OcrSettings;
  now: Date;
  /** Called after parsing, before the transaction (tests use it to crash mid-apply). */
  beforeCommit?: () => void;
}

/** Apply the approved changes of a staged bundle in one transaction; snapshot first for rollback. */
export async function applyBundle(
  bundleId: string,
  deps: ApplyDeps,
): Promise<{ version: number; applied: number; removed: number; models: number }> {
  const { db, home } = deps;
  const row = db.prepare('SELECT manifest, status FROM bundle_imports WHERE bundle_id = ?').get(bundleId) as
    { manifest: string; status: string } | undefined;
  if (!row) throw new FieldbookError('BUNDLE_INVALID', { detail: `no staged bundle ${bundleId}` });
  const manifest = Manifest.parse(JSON.parse(row.manifest));
  if (row.status === 'applied')
    return { version: Number(getMeta(db, 'kb.version') ?? '0'), applied: 0, removed: 0, models: 0 };
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
  for (const d of approved) {
    const staged = safeBundlePath(staging, d.file);
    if ((await sha256File(staged)) !== d.sha256)
      throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: staged, detail: 'changed in quarantine' });
    const target = libraryPath(home, manifest.sourceKb, d.key);
    const result = await deps.parser.parse(staged, deps.limits, deps.chunking, undefined, deps.ocr);
    let vectors: Float32Array[] | null = null;
    if (deps.embedder) {
      ensureVectorSpace(db, { modelId: deps.embedder.id, dim: deps.embedder.dim });
      vectors = await deps.embedder.embedPassages(
        result.chunks.map((c) => `${chunkContext(result.doc.title, c.headingPath)}\n${c.text}`),
      );
    }
    parsed.push({ d, target, result, vectors });
  }
  const removals = items.filter((i) => i.kind === 'removed' && i.decision === 'approved');
  // Model packs: copy into the data folder's models directory, checked again after copying.
  const models = manifest.models.filter(
    (m) => items.find((i) => i.kind === 'model' && i.key === `model:${m.kind}/${m.name}`)?.decision === 'approved',
  );
  const approvals: Array<{ kind: 'embedding' | 'llm'; name: string; file: string; sha256: string }> = [];
  for (const m of models) {
    const root = m.kind === 'llm' ? path.join(home, 'models', 'llm') : path.join(home, 'models', 'embedding', m.name);
    for (const f of m.files) {
      const dest = safeBundlePath(root, f.target);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
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
  await db.backup(path.join(home, 'snapshots', `v${before}.db`));
  deps.beforeCommit?.();
  const version = before + 1;
  db.pragma('synchronous = FULL');
  try {
    db.transaction(() => {
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
  // The files the documents now point at (outside the transaction: copies are idempotent).
  for (const p of parsed) {
    fs.mkdirSync(path.dirname(p.target), { recursive: true });
    fs.copyFileSync(safeBundlePath(staging, p.d.file), p.target);
  }
  fs.rmSync(staging, { recursive: true, force: true });
  return { version, applied: parsed.length, removed: removals.length, models: models.length };
}

/**
 * Restore the snapshot taken before version `to + 1` was applied. The database must not be
 * open elsewhere. The audit log is kept whole: entries written after the snapshot are
 * carried over (their hashes continue the snapshot's chain).
 */
export function rollbackTo(home: string, to: number): { auditCarried: number } {
  const snapshot = path.join(home, 'snapshots', `v${to}.db`);
  if (!fs.existsSync(snapshot)) throw new FieldbookError('BUNDLE_INVALID', { detail: `no snapshot of version ${to}` });
  const live = path.join(home, 'fieldbook.db');
  const current = new Database(live);
  const restored = new Database(snapshot, { readonly: true });
  const lastId = (restored.prepare('SELECT COALESCE(MAX(id), 0) AS n FROM audit_log').get() as { n: number }).n;
  restored.close();
  const carried = current.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id').all(lastId) as Array<
    Record<string, unknown>
  >;
  current.pragma('wal_checkpoint(TRUNCATE)');
  current.close();
  for (const suffix of ['-wal', '-shm']) fs.rmSync(live + suffix, { force: true });
  fs.copyFileSync(snapshot, `${live}.restore`);
  fs.renameSync(`${live}.restore`, live);
  const db = new Database(live);
  const ins = db.prepare(
    'INSERT INTO audit_log(id, at, actor, role, action, target, detail, prev_hash, hash) VALUES (@id, @at, @actor, @role, @action, @target, @detail, @prev_hash, @hash)',
  );
  db.transaction(() => {
    for (const row of carried) ins.run(row);
  })();
  db.close();
  return { auditCarried: carried.length };
}

/** Folders that look like bundles (manifest.json + manifest.sig) on removable media, two levels deep. */
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
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) walk(path.join(dir, e.name), depth - 1);
  };
  for (const r of roots) if (fs.existsSync(r)) walk(r, 3);
  return found;
}

/** Where removable drives appear: Linux mount points, or every drive letter but C: on Windows. */
export function removableRoots(platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'win32') return 'DEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((l) => `${l}:\\`);
  return ['/media', '/run/media', '/mnt', '/Volumes'];
}

export function bundleHistory(db: Db): Array<{
  bundleId: string;
  version: number;
  signer: string;
  status: string;
  stagedAt: string;
  appliedAt: string | null;
  documents: number;
}> {
  return db
    .prepare(
      `SELECT bundle_id AS bundleId, version, signer, status, staged_at AS stagedAt, applied_at AS appliedAt,
           json_array_length(json_extract(manifest, '$.documents')) AS documents
         FROM bundle_imports ORDER BY staged_at DESC`,
    )
    .all() as Array<{
    bundleId: string;
    version: number;
    signer: string;
    status: string;
    stagedAt: string;
    appliedAt: string | null;
    documents: number;
  }>;
}
