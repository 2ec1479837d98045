/**
 * Rollback of USB knowledge-base updates, in the running app.
 *
 * `applyBundle` keeps `snapshots/v<N>.db` (a backup of the database) before it makes version
 * N+1. `rollbackKnowledge(db, home, N)` brings the knowledge back to that snapshot inside the
 * live, open connection, in ONE transaction (synchronous=FULL), and leaves everything else as
 * it is now. A crash before the commit leaves the previous state intact.
 *
 * Restored from the snapshot: the documents that came from bundles (their files live under
 * `<home>/library/`) with their tags, chunks, keyword-index rows (chunk_fts is contentless, so
 * the rows are rebuilt from the chunk text) and vectors (chunk_vectors copied, the vec0 sign-bit
 * index rebuilt from them); the embedding vector space; `kb.version` and `kb.applied.<sourceKb>`;
 * and the approvals of model files that the undone bundles brought.
 *
 * Kept as they are now: conversations, answers, feedback and corrections, settings,
 * passphrases, API keys, the audit log, dataset exports, trusted keys, ingest jobs, model
 * approvals an administrator made by hand, documents added locally (outside the library —
 * no bundle touched them; a local document an undone bundle took over, being identical to one of
 * its documents, comes back at its local path), and the bundle history, where the undone bundles are marked
 * 'rolled-back' so they can be staged and applied again.
 *
 * Why conversations and feedback cannot be cascade-deleted: the only foreign keys that point
 * at documents or chunks are document_tags, chunks and chunk_vectors (all knowledge). Answers
 * keep their citations as JSON copies (document title, page, snippet, chunk id) and feedback
 * references answers, so deleting a chunk never reaches them (a test checks the foreign-key
 * graph). Documents are compared one by one on (id, path, sha256, version, indexed_at, chunk
 * ids): identical ones are not touched, so citations to them stay valid; the others are
 * deleted and the snapshot's rows copied back under their old ids where those are free, so
 * citations written before the update open the same passages again. A citation to a passage
 * that only the undone update had keeps its stored snippet; opening it says "not found" (until
 * a later insert reuses that chunk id: ids are max+1, not AUTOINCREMENT — a known limit).
 * Label edits do not rewrite a document, so a library document relabelled by hand after the
 * update but otherwise unchanged keeps its new labels.
 *
 * Vectors: if the snapshot used another embedding model (or none), its vector space comes
 * back whole; the caller's `embedMissing` then fills what the active model lacks.
 *
 * Files: an apply overwrites library files in place. `preserveLibraryFiles` (run before each
 * apply) keeps every library file's content once, by hash, in `snapshots/files/<sha256>`;
 * after the commit the rollback puts back the content each restored document points at.
 * Re-running the same rollback repairs a copy cut short by a crash (cheap size check for
 * documents that were not restored).
 *
 * Snapshots: after a rollback to N, the snapshots of versions above N are deleted — they
 * describe a line of updates that was undone, and the next apply numbers its version N+1
 * again. `v<N>.db` itself is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FieldbookError } from '../errors';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { durableTransaction, migrate, schemaVersion, type Db } from '../store/db';
import { deleteDocumentRows, insertChunkIndex, isLibraryPath, resolvedSourcePath } from '../store/documents';
import {
  currentVectorSpace,
  fromBlob,
  getMeta,
  insertVector,
  replaceVectorSpace,
  setMeta,
  type VectorSpace,
} from '../store/vectors';
import { sha256File } from '../util/hash';

/** The snapshot's schema name while it is attached to the live connection. */
const SNAP = 'fb_snapshot';
/** Snapshots shown for restoring, newest first. */
const MAX_LISTED = 30;

/** A bundle that a rollback undoes (applied after the snapshot was taken). */
export interface UndoneBundle {
  bundleId: string;
  sourceKb: string;
  /** The bundle's own version number (on the workstation that exported it). */
  version: number;
  signer: string;
  appliedAt: string | null;
  /** Documents listed in the bundle. */
  documents: number;
}

export interface SnapshotInfo {
  /** The knowledge-base version this snapshot holds. */
  version: number;
  sizeBytes: number;
  takenAt: string;
  /** Documents in that version. */
  documents: number;
  /** Bundles applied since, oldest first: the first was applied on top of this version. */
  undoes: UndoneBundle[];
  /** What restoring it would change: library documents removed and put back. */
  changes: { remove: number; restore: number };
  /** Set when the snapshot cannot be read (it cannot be restored then). */
  problem: string | null;
}

export interface SnapshotList {
  current: number;
  snapshots: SnapshotInfo[];
}

export interface RollbackResult {
  from: number;
  version: number;
  at: string;
  undone: UndoneBundle[];
  /** Library documents taken out and put back; documents identical in both (left alone, local ones included). */
  documents: { removed: number; restored: number; unchanged: number };
  /** The snapshot had another embedding model (or none): its vectors replace the current ones. */
  vectorSpaceChanged: boolean;
  /** Chunks embedded after the commit by the active model (local documents, or a changed model). */
  chunksEmbedded: number;
  /** Chunks still without a vector (no embedding model active, or it failed). */
  chunksToEmbed: number;
  /** Model-file approvals that came with the undone bundles and were put back as they were. */
  modelApprovalsReverted: number;
  files: { restored: number; missing: string[] };
  /** Installed model files that the undone model packs had replaced, put back (or missing). */
  modelFiles: { restored: number; missing: string[] };
  snapshotsRemoved: number[];
}

export interface RollbackOptions {
  now: Date;
  /** Called inside the transaction after every change, before the commit (tests crash here). */
  beforeCommit?: () => void;
  /**
   * Embed chunks left without a vector for the active embedding model (the ingest service's
   * `embedMissing`); run after the commit. Returns how many were embedded.
   */
  embedMissing?: () => Promise<number>;
}

function snapshotsDir(home: string): string {
  return path.join(home, 'snapshots');
}

function snapshotFile(home: string, version: number): string {
  return path.join(snapshotsDir(home), `v${version}.db`);
}

function keptFile(home: string, sha256: string): string {
  return path.join(snapshotsDir(home), 'files', sha256);
}

/** The model files an apply replaced, recorded beside the snapshot taken before it. */
function replacedModelsFile(home: string, version: number): string {
  return path.join(snapshotsDir(home), `v${version}.models.json`);
}

const ReplacedModels = z.array(z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }));

/**
 * Before a model pack overwrites an installed model file, keep the old content by hash; the
 * apply records the list with `recordReplacedModels` so a rollback can put the files back.
 * Returns the entry to record, or null when nothing is replaced.
 */
export async function keepReplacedFile(home: string, file: string): Promise<{ file: string; sha256: string } | null> {
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return null;
  const sha256 = await sha256File(file);
  // Model files are large: copy only content not kept yet.
  if (fs.existsSync(keptFile(home, sha256)) || (await keepByHash(home, file, sha256)) !== null) return { file, sha256 };
  return null;
}

/**
 * Copy a file's content into the kept-files store under its SHA-256 (hashed from the copy,
 * so what is kept is exactly what was read). With `expected`, a copy of other content is
 * discarded. Returns the hash kept, or null.
 */
async function keepByHash(home: string, file: string, expected?: string): Promise<string | null> {
  const dir = path.join(snapshotsDir(home), 'files');
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `incoming.${process.pid}.tmp`);
  fs.copyFileSync(file, tmp);
  const sha256 = await sha256File(tmp);
  if (expected !== undefined && sha256 !== expected) {
    fs.rmSync(tmp, { force: true });
    return null;
  }
  fs.renameSync(tmp, keptFile(home, sha256));
  return sha256;
}

function recordReplacedModels(home: string, version: number, replaced: Array<{ file: string; sha256: string }>): void {
  fs.mkdirSync(snapshotsDir(home), { recursive: true });
  if (replaced.length === 0) fs.rmSync(replacedModelsFile(home, version), { force: true });
  else fs.writeFileSync(replacedModelsFile(home, version), JSON.stringify(replaced));
}

/**
 * Before an apply makes version `version`+1: keep the database as it is (`v<version>.db`) and
 * the list of installed model files the apply replaces (kept by hash with `keepReplacedFile`).
 */
export async function takeSnapshot(
  db: Db,
  home: string,
  version: number,
  replacedModels: Array<{ file: string; sha256: string }>,
): Promise<void> {
  fs.mkdirSync(snapshotsDir(home), { recursive: true });
  await db.backup(snapshotFile(home, version));
  recordReplacedModels(home, version, replacedModels);
}

/** An apply that failed before its commit: its snapshot describes nothing and is removed. */
export function discardSnapshot(home: string, version: number): void {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${snapshotFile(home, version)}${suffix}`, { force: true });
  fs.rmSync(replacedModelsFile(home, version), { force: true });
}

/** After a rollback to `to`: put back the model files replaced by the applies it undid (newest first). */
async function restoreReplacedModels(
  home: string,
  from: number,
  to: number,
): Promise<{ restored: number; missing: string[] }> {
  let restored = 0;
  const missing: string[] = [];
  for (let v = from - 1; v >= to; v--) {
    const log = replacedModelsFile(home, v);
    if (!fs.existsSync(log)) continue;
    const parsed = ReplacedModels.safeParse(JSON.parse(fs.readFileSync(log, 'utf8')));
    for (const r of parsed.success ? parsed.data : []) {
      const kept = keptFile(home, r.sha256);
      if (!fs.existsSync(kept)) {
        missing.push(r.file);
        continue;
      }
      fs.copyFileSync(kept, `${r.file}.restoring`);
      fs.renameSync(`${r.file}.restoring`, r.file);
      restored++;
    }
    fs.rmSync(log, { force: true });
  }
  return { restored, missing };
}

function snapshotVersions(home: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(snapshotsDir(home));
  } catch {
    return [];
  }
  return names
    .map((n) => /^v(\d+)\.db$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function currentVersion(db: Db): number {
  return Number(getMeta(db, 'kb.version') ?? '0');
}

/**
 * Bring an older snapshot up to the current schema with the same migrations (so, e.g., its
 * library paths are stored relative to the data folder like the live ones). A snapshot from a
 * newer schema is refused (DATABASE_NEWER).
 */
function upgradeSnapshot(file: string): void {
  const snap = new Database(file);
  try {
    sqliteVec.load(snap);
    migrate(snap);
  } finally {
    snap.close();
  }
}

/** Run `fn` with the snapshot (brought up to date) attached as `fb_snapshot`. Never call inside a transaction. */
function withSnapshot<T>(db: Db, file: string, fn: () => T): T {
  upgradeSnapshot(file);
  db.prepare(`ATTACH DATABASE ? AS ${SNAP}`).run(file);
  try {
    const version = db.pragma(`${SNAP}.user_version`, { simple: true }) as number;
    if (version > schemaVersion(db))
      throw new FieldbookError('DATABASE_NEWER', { file, detail: `snapshot schema ${version}` });
    return fn();
  } finally {
    db.exec(`DETACH DATABASE ${SNAP}`);
  }
}

function snapshotHas(db: Db, table: string): boolean {
  return db.prepare(`SELECT 1 FROM ${SNAP}.sqlite_master WHERE name = ?`).get(table) !== undefined;
}

/** Columns present in both the live table and the snapshot's (an older snapshot may lack new ones). */
function sharedColumns(db: Db, table: string, except: string[]): string {
  const names = (schema: string): string[] =>
    (db.prepare('SELECT name FROM pragma_table_info(?, ?)').all(table, schema) as Array<{ name: string }>).map(
      (r) => r.name,
    );
  const snap = new Set(names(SNAP));
  return names('main')
    .filter((c) => snap.has(c) && !except.includes(c))
    .map((c) => `"${c}"`)
    .join(', ');
}

interface DocPrint {
  id: number;
  sourcePath: string;
  sha256: string;
  print: string;
}

/** One line per document: identical lines mean the document and its chunk rows were not rewritten. */
function docPrints(db: Db, schema: 'main' | typeof SNAP): Map<number, DocPrint> {
  const rows = db
    .prepare(
      `SELECT d.id, d.source_path AS sourcePath, d.sha256,
         d.source_path || '|' || d.sha256 || '|' || d.version || '|' || d.indexed_at || '|' ||
         COALESCE((SELECT group_concat(c.id, ',' ORDER BY c.id) FROM ${schema}.chunks c WHERE c.doc_id = d.id), '') AS print
       FROM ${schema}.documents d`,
    )
    .all() as DocPrint[];
  return new Map(rows.map((r) => [r.id, r]));
}

interface Plan {
  /** Documents identical in both (left alone). */
  unchanged: Set<number>;
  /** Live library documents to delete. */
  remove: number[];
  /** Snapshot library documents to copy back. */
  restore: DocPrint[];
  snapshotDocuments: number;
}

function planRollback(db: Db, home: string, live: Map<number, DocPrint> = docPrints(db, 'main')): Plan {
  const snap = docPrints(db, SNAP);
  const unchanged = new Set<number>();
  for (const [id, d] of live) if (snap.get(id)?.print === d.print) unchanged.add(id);
  const livePaths = new Set([...live.values()].map((d) => d.sourcePath));
  // A local document that an undone bundle took over (same content; it now has that bundle's library
  // path and the same id) comes back as it was, unless its path has been taken by another document since.
  const takenOver = (d: DocPrint): boolean => {
    const now = live.get(d.id);
    return (
      !isLibraryPath(d.sourcePath) && now !== undefined && isLibraryPath(now.sourcePath) && !livePaths.has(d.sourcePath)
    );
  };
  return {
    unchanged,
    remove: [...live.values()].filter((d) => isLibraryPath(d.sourcePath) && !unchanged.has(d.id)).map((d) => d.id),
    restore: [...snap.values()].filter((d) => (isLibraryPath(d.sourcePath) || takenOver(d)) && !unchanged.has(d.id)),
    snapshotDocuments: snap.size,
  };
}

interface UndoneRow extends UndoneBundle {
  manifest: string;
}

/** Bundles applied now that were not applied in the snapshot, oldest first. */
function undoneBundles(db: Db): UndoneRow[] {
  const appliedThen = snapshotHas(db, 'bundle_imports')
    ? `SELECT bundle_id FROM ${SNAP}.bundle_imports WHERE status = 'applied'`
    : 'SELECT NULL WHERE 0';
  return db
    .prepare(
      `SELECT bundle_id AS bundleId, source_kb AS sourceKb, version, signer, applied_at AS appliedAt, manifest,
         COALESCE(json_array_length(json_extract(manifest, '$.documents')), 0) AS documents
       FROM main.bundle_imports
       WHERE status = 'applied' AND bundle_id NOT IN (${appliedThen})
       ORDER BY applied_at, bundle_id`,
    )
    .all() as UndoneRow[];
}

function publicBundle(b: UndoneRow): UndoneBundle {
  return {
    bundleId: b.bundleId,
    sourceKb: b.sourceKb,
    version: b.version,
    signer: b.signer,
    appliedAt: b.appliedAt,
    documents: b.documents,
  };
}

/** Earlier knowledge-base versions that can be restored, newest first, with what a restore would undo. */
export function listSnapshots(db: Db, home: string): SnapshotList {
  const current = currentVersion(db);
  const snapshots: SnapshotInfo[] = [];
  const live = docPrints(db, 'main');
  const versions = snapshotVersions(home)
    .filter((v) => v < current)
    .reverse()
    .slice(0, MAX_LISTED);
  for (const version of versions) {
    const file = snapshotFile(home, version);
    const st = fs.statSync(file);
    const base = { version, sizeBytes: st.size, takenAt: st.mtime.toISOString() };
    try {
      snapshots.push(
        withSnapshot(db, file, () => {
          const plan = planRollback(db, home, live);
          return {
            ...base,
            documents: plan.snapshotDocuments,
            undoes: undoneBundles(db).map(publicBundle),
            changes: { remove: plan.remove.length, restore: plan.restore.length },
            problem: null,
          };
        }),
      );
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      snapshots.push({ ...base, documents: 0, undoes: [], changes: { remove: 0, restore: 0 }, problem });
    }
  }
  return { current, snapshots };
}

/** Copy the snapshot's documents back (old ids where free) with tags, chunks and keyword rows. */
function restoreDocuments(db: Db, docs: DocPrint[]): Map<number, number> {
  const chunkIds = new Map<number, number>();
  if (docs.length === 0) return chunkIds;
  const docCols = sharedColumns(db, 'documents', ['id']);
  const chunkCols = sharedColumns(db, 'chunks', ['id', 'doc_id', 'embedded']);
  const docTaken = db.prepare('SELECT 1 FROM main.documents WHERE id = ?');
  const docSameId = db.prepare(
    `INSERT INTO main.documents(id, ${docCols}) SELECT id, ${docCols} FROM ${SNAP}.documents WHERE id = ?`,
  );
  const docNewId = db.prepare(
    `INSERT INTO main.documents(${docCols}) SELECT ${docCols} FROM ${SNAP}.documents WHERE id = ?`,
  );
  const title = db.prepare(`SELECT title FROM ${SNAP}.documents WHERE id = ?`).pluck();
  const tags = db.prepare(
    `INSERT INTO main.document_tags(doc_id, key, value) SELECT ?, key, value FROM ${SNAP}.document_tags WHERE doc_id = ?`,
  );
  const chunks = db.prepare(`SELECT id, heading_path, text FROM ${SNAP}.chunks WHERE doc_id = ? ORDER BY ord`);
  const chunkTaken = db.prepare('SELECT 1 FROM main.chunks WHERE id = ?');
  const chunkSameId = db.prepare(
    `INSERT INTO main.chunks(id, doc_id, embedded, ${chunkCols}) SELECT id, ?, 0, ${chunkCols} FROM ${SNAP}.chunks WHERE id = ?`,
  );
  const chunkNewId = db.prepare(
    `INSERT INTO main.chunks(doc_id, embedded, ${chunkCols}) SELECT ?, 0, ${chunkCols} FROM ${SNAP}.chunks WHERE id = ?`,
  );
  for (const d of docs) {
    const docId = Number((docTaken.get(d.id) ? docNewId : docSameId).run(d.id).lastInsertRowid);
    tags.run(docId, d.id);
    const docTitle = title.get(d.id) as string;
    for (const c of chunks.all(d.id) as Array<{ id: number; heading_path: string; text: string }>) {
      const id = BigInt((chunkTaken.get(c.id) ? chunkNewId : chunkSameId).run(docId, c.id).lastInsertRowid);
      insertChunkIndex(db, id, docTitle, JSON.parse(c.heading_path) as string[], c.text);
      chunkIds.set(c.id, Number(id));
    }
  }
  return chunkIds;
}

function snapshotVectorSpace(db: Db): VectorSpace | null {
  const meta = db.prepare(`SELECT value FROM ${SNAP}.meta WHERE key = ?`).pluck();
  const modelId = meta.get('embedding.model_id') as string | undefined;
  const dim = meta.get('embedding.dim') as string | undefined;
  // The floats are the vectors (the int8 index is rebuilt from them); an older snapshot had a sign-bit index.
  return modelId && dim && snapshotHas(db, 'chunk_vectors') ? { modelId, dim: Number(dim) } : null;
}

/**
 * Vectors for the restored chunks from the snapshot. When the snapshot used another
 * embedding model (or none), its whole vector space comes back: the current vectors are
 * dropped and every chunk whose content the snapshot holds gets its snapshot vector.
 */
function restoreVectors(
  db: Db,
  restored: Map<number, number>,
  unchanged: Set<number>,
): { vectorSpaceChanged: boolean } {
  const live = currentVectorSpace(db);
  const snap = snapshotVectorSpace(db);
  const changed = live?.modelId !== snap?.modelId || live?.dim !== snap?.dim;
  if (changed) replaceVectorSpace(db, snap);
  if (snap) {
    const pairs: Array<[number, number]> = [...restored];
    if (changed) {
      const ids = db
        .prepare('SELECT id FROM main.chunks WHERE doc_id IN (SELECT value FROM json_each(?))')
        .pluck()
        .all(JSON.stringify([...unchanged])) as number[];
      for (const id of ids) pairs.push([id, id]);
    }
    const vector = db.prepare(`SELECT embedding FROM ${SNAP}.chunk_vectors WHERE chunk_id = ?`).pluck();
    const embedded = db.prepare('UPDATE main.chunks SET embedded = 1 WHERE id = ?');
    for (const [from, to] of pairs) {
      const blob = vector.get(from) as Buffer | undefined;
      if (!blob) continue;
      insertVector(db, BigInt(to), fromBlob(blob));
      embedded.run(to);
    }
  }
  return { vectorSpaceChanged: changed };
}

/** Chunks without a vector in the current space (none is missing when there is no space at all). */
function countUnembedded(db: Db): number {
  if (!currentVectorSpace(db)) return 0;
  return db.prepare('SELECT COUNT(*) FROM chunks WHERE embedded = 0').pluck().get() as number;
}

/** Only what the manifest says about model packs (the bundle module owns the full schema). */
const ModelPacks = z.object({
  models: z
    .array(z.object({ kind: z.enum(['embedding', 'llm']), files: z.array(z.object({ sha256: z.string() })) }))
    .default([]),
});

/**
 * Approvals of model files that the undone bundles brought go back to what the snapshot had
 * (or disappear); approvals an administrator made by hand since are kept.
 */
function restoreModelApprovals(db: Db, undone: UndoneRow[]): number {
  const brought = new Set<string>();
  for (const b of undone) {
    const packs = ModelPacks.safeParse(JSON.parse(b.manifest));
    if (packs.success) for (const m of packs.data.models) for (const f of m.files) brought.add(`${m.kind}:${f.sha256}`);
  }
  if (brought.size === 0) return 0;
  const before = db.prepare(
    `SELECT sha256, approved_at AS approvedAt FROM ${SNAP}.approved_models WHERE kind = ? AND name = ? AND file = ?`,
  );
  const del = db.prepare('DELETE FROM main.approved_models WHERE kind = ? AND name = ? AND file = ?');
  const put = db.prepare(
    'UPDATE main.approved_models SET sha256 = ?, approved_at = ? WHERE kind = ? AND name = ? AND file = ?',
  );
  let reverted = 0;
  const rows = db.prepare('SELECT kind, name, file, sha256 FROM main.approved_models').all() as Array<{
    kind: string;
    name: string;
    file: string;
    sha256: string;
  }>;
  for (const r of rows) {
    if (!brought.has(`${r.kind}:${r.sha256}`)) continue;
    const then = before.get(r.kind, r.name, r.file) as { sha256: string; approvedAt: string } | undefined;
    if (!then) del.run(r.kind, r.name, r.file);
    else if (then.sha256 !== r.sha256) put.run(then.sha256, then.approvedAt, r.kind, r.name, r.file);
    else continue;
    reverted++;
  }
  return reverted;
}

/** Put the content each restored library document points at back in place (after the commit). */
async function restoreLibraryFiles(
  db: Db,
  home: string,
  restored: DocPrint[],
): Promise<{ restored: number; missing: string[] }> {
  const mustHash = new Set(restored.map((d) => d.id));
  const docs = (
    db.prepare('SELECT id, source_path AS sourcePath, sha256, size_bytes AS size FROM documents').all() as Array<{
      id: number;
      sourcePath: string;
      sha256: string;
      size: number;
    }>
  )
    .filter((d) => isLibraryPath(d.sourcePath))
    .map((d) => ({ ...d, sourcePath: resolvedSourcePath(db, d.sourcePath) }));
  let count = 0;
  const missing: string[] = [];
  for (const d of docs) {
    const st = fs.statSync(d.sourcePath, { throwIfNoEntry: false });
    const fine = mustHash.has(d.id)
      ? st?.isFile() === true && (await sha256File(d.sourcePath)) === d.sha256
      : st?.isFile() === true && st.size === d.size;
    if (fine) continue;
    const kept = keptFile(home, d.sha256);
    const tmp = `${d.sourcePath}.restoring`;
    if (fs.existsSync(kept)) {
      fs.mkdirSync(path.dirname(d.sourcePath), { recursive: true });
      fs.copyFileSync(kept, tmp);
      if ((await sha256File(tmp)) === d.sha256) {
        fs.renameSync(tmp, d.sourcePath);
        count++;
        continue;
      }
      fs.rmSync(tmp, { force: true });
    }
    missing.push(d.sourcePath);
  }
  return { restored: count, missing };
}

function removeSnapshotsAbove(home: string, version: number): number[] {
  const removed = snapshotVersions(home).filter((v) => v > version);
  for (const v of removed)
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${snapshotFile(home, v)}${suffix}`, { force: true });
  return removed;
}

/**
 * Keep the content of every library file once, by hash, so a rollback can put back a file
 * that a later apply overwrote. Run before applying a bundle; returns how many were added.
 */
export async function preserveLibraryFiles(db: Db, home: string): Promise<number> {
  const docs = (
    db.prepare('SELECT source_path AS sourcePath, sha256 FROM documents').all() as Array<{
      sourcePath: string;
      sha256: string;
    }>
  )
    .filter((d) => isLibraryPath(d.sourcePath))
    .map((d) => ({ ...d, sourcePath: resolvedSourcePath(db, d.sourcePath) }));
  let added = 0;
  for (const d of docs) {
    if (fs.existsSync(keptFile(home, d.sha256)) || !fs.existsSync(d.sourcePath)) continue;
    // Only the content the index describes is worth keeping under its hash.
    if ((await keepByHash(home, d.sourcePath, d.sha256)) !== null) added++;
  }
  return added;
}

/**
 * Restore the knowledge base as it was at version `to` (a snapshot taken before version
 * to+1 was applied), in the live connection, keeping everything that is not knowledge.
 */
export async function rollbackKnowledge(
  db: Db,
  home: string,
  to: number,
  opts: RollbackOptions,
): Promise<RollbackResult> {
  const from = currentVersion(db);
  const file = snapshotFile(home, to);
  if (!Number.isInteger(to) || to < 0 || !fs.existsSync(file))
    throw new FieldbookError('ROLLBACK_NO_SNAPSHOT', {
      detail: `version ${to}; saved versions: ${
        snapshotVersions(home)
          .filter((v) => v < from)
          .join(', ') || 'none'
      }`,
    });
  if (to > from)
    throw new FieldbookError('ROLLBACK_NO_SNAPSHOT', {
      detail: `version ${to} is newer than the current version ${from}`,
    });
  const done = withSnapshot(db, file, () => {
    const check = db.pragma(`${SNAP}.quick_check`, { simple: true });
    if (check !== 'ok') throw new FieldbookError('DATABASE_CORRUPT', { file, detail: String(check) });
    return durableTransaction(db, () => {
      const plan = planRollback(db, home);
      const undone = undoneBundles(db);
      for (const id of plan.remove) deleteDocumentRows(db, id);
      const restoredChunks = restoreDocuments(db, plan.restore);
      const vectors = restoreVectors(db, restoredChunks, plan.unchanged);
      const modelApprovalsReverted = restoreModelApprovals(db, undone);
      setMeta(db, 'kb.version', String(to));
      db.prepare("DELETE FROM main.meta WHERE key GLOB 'kb.applied.*'").run();
      db.prepare(
        `INSERT INTO main.meta(key, value) SELECT key, value FROM ${SNAP}.meta WHERE key GLOB 'kb.applied.*'`,
      ).run();
      const mark = db.prepare("UPDATE main.bundle_imports SET status = 'rolled-back' WHERE bundle_id = ?");
      for (const b of undone) mark.run(b.bundleId);
      opts.beforeCommit?.();
      return { plan, undone, vectors, modelApprovalsReverted };
    });
  });
  const files = await restoreLibraryFiles(db, home, done.plan.restore);
  const modelFiles = await restoreReplacedModels(home, from, to);
  // The knowledge is back; vectors for chunks the restored space lacks are derived data.
  const needsVectors = done.vectors.vectorSpaceChanged || countUnembedded(db) > 0;
  const chunksEmbedded = needsVectors && opts.embedMissing ? await opts.embedMissing().catch(() => 0) : 0;
  return {
    from,
    version: to,
    at: opts.now.toISOString(),
    undone: done.undone.map(publicBundle),
    documents: {
      removed: done.plan.remove.length,
      restored: done.plan.restore.length,
      unchanged: done.plan.unchanged.size,
    },
    vectorSpaceChanged: done.vectors.vectorSpaceChanged,
    chunksEmbedded,
    chunksToEmbed: countUnembedded(db),
    modelApprovalsReverted: done.modelApprovalsReverted,
    files,
    modelFiles,
    snapshotsRemoved: removeSnapshotsAbove(home, to),
  };
}
