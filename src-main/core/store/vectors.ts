/**
 * Vector index. Each chunk's float vector is kept as a BLOB in `chunk_vectors` (the truth:
 * re-scoring, bundles, rollback, rebuilding the index); a scalar-quantised copy (one signed
 * byte per dimension) goes into a sqlite-vec vec0 `int8[]` table. A query scans the int8
 * table exactly (sqlite-vec `MATCH … AND k = ?`), takes `candidateCount(k)` candidates (4 × k,
 * at least 40, at most k + 30) and re-scores them with exact cosine similarity on the floats. The int8 distances follow the
 * float ones closely, so the re-scored top k equals the exact top k (recall@10 ≥ 0.98 at
 * 10k and 100k on random and real embeddings; `npm run bench` prints it).
 *
 * Databases made before this index had a sign-bit (`bit[]`) index; a migration drops it
 * and marks the index for rebuilding from the kept floats (`buildVectorIndex`, with
 * progress, no re-embedding). Until then queries scan the floats exactly.
 *
 * The embedding model's id and dimension are recorded; a different model drops the
 * vectors and marks every chunk for re-embedding instead of mixing vector spaces.
 */
import type { Db } from './db';
import { Int8Matrix } from './int8-scan';

export const VECTOR_INDEX_TABLE = 'chunk_vec_i8';
/** Set (by a migration) while the int8 index must be rebuilt from the float vectors. */
const REBUILD_KEY = 'vector_index.rebuild';
/**
 * Candidates taken from the int8 index per result wanted, re-scored on floats. Chosen by
 * measured recall: 2× already gives recall@10 = 1.00 on random 384-d vectors at 10k/100k;
 * 4× leaves room for real embeddings (whose few large dimensions are clipped).
 */
const OVERSAMPLE = 4;
const MIN_CANDIDATES = 40;
/**
 * For long lists (hybrid search fuses the nearest 240) at most this many candidates beyond k:
 * sqlite-vec picks each stored chunk's top k by repeated scans (O(rows · k)), so 4 × 240
 * candidates cost six times the scan itself, and only the order near the end of a long list
 * depends on them (`npm run bench` prints the recall of the 240-long list).
 */
const MAX_EXTRA_CANDIDATES = 30;

/** How many int8 candidates `knn` re-scores for k results. */
export function candidateCount(k: number): number {
  return Math.max(MIN_CANDIDATES, Math.min(k * OVERSAMPLE, k + MAX_EXTRA_CANDIDATES));
}
/** Rows per transaction when the index is rebuilt. */
const REBUILD_BATCH = 2000;

export function getMeta(db: Db, key: string): string | null {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value ?? null;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
    key,
    value,
  );
}

/** True when the int8 index table exists (it may still be rebuilding: see `buildVectorIndex`). */
export function vectorTableExists(db: Db): boolean {
  return db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(VECTOR_INDEX_TABLE) !== undefined;
}

function rebuildPending(db: Db): boolean {
  return getMeta(db, REBUILD_KEY) !== null;
}

export interface VectorSpace {
  modelId: string;
  dim: number;
}

export function currentVectorSpace(db: Db): VectorSpace | null {
  const modelId = getMeta(db, 'embedding.model_id');
  const dim = getMeta(db, 'embedding.dim');
  return modelId && dim && (vectorTableExists(db) || rebuildPending(db)) ? { modelId, dim: Number(dim) } : null;
}

/**
 * Make the vector index match the model. Returns true when the space changed
 * (all chunks then need embedding again).
 */
export function ensureVectorSpace(db: Db, space: VectorSpace): boolean {
  const current = currentVectorSpace(db);
  if (current && current.modelId === space.modelId && current.dim === space.dim) return false;
  db.transaction(() => replaceVectorSpace(db, space))();
  return true;
}

function createIndexTable(db: Db, dim: number): void {
  db.exec(`CREATE VIRTUAL TABLE main.${VECTOR_INDEX_TABLE} USING vec0(embedding int8[${Math.trunc(dim)}])`);
}

/**
 * Drop every vector and start an empty index for `space` (none when null); every chunk is
 * then unembedded. Call inside a transaction.
 */
export function replaceVectorSpace(db: Db, space: VectorSpace | null): void {
  touched(db);
  // Always `main.`: an unqualified DROP would find the table in an attached database too.
  db.exec(`DROP TABLE IF EXISTS main.${VECTOR_INDEX_TABLE}`);
  db.exec('DELETE FROM main.chunk_vectors');
  db.exec('UPDATE main.chunks SET embedded = 0 WHERE embedded != 0');
  db.prepare('DELETE FROM main.meta WHERE key = ?').run(REBUILD_KEY);
  if (!space) {
    db.prepare("DELETE FROM main.meta WHERE key IN ('embedding.model_id', 'embedding.dim')").run();
    return;
  }
  createIndexTable(db, space.dim);
  setMeta(db, 'embedding.model_id', space.modelId);
  setMeta(db, 'embedding.dim', String(space.dim));
}

/**
 * Scalar quantisation to one signed byte per dimension. The vector is normalised first
 * (cosine order = L2 order on unit vectors, and sqlite-vec's int8 distance is L2); a unit
 * vector's components are about ±1/√dim, so ×127·√dim/5 keeps five of those in range and
 * clips only outliers (the float re-scoring corrects their order).
 */
export function quantizeInt8(vector: Float32Array): Buffer {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += (vector[i] as number) ** 2;
  const scale = norm === 0 ? 0 : (127 * Math.sqrt(vector.length)) / 5 / Math.sqrt(norm);
  const out = new Int8Array(vector.length);
  for (let i = 0; i < vector.length; i++) {
    out[i] = Math.max(-127, Math.min(127, Math.round((vector[i] as number) * scale)));
  }
  return Buffer.from(out.buffer);
}

function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function fromBlob(b: Buffer): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function insertIndexRow(db: Db, chunkId: bigint, vector: Float32Array): Buffer {
  const codes = quantizeInt8(vector);
  db.prepare(`INSERT INTO ${VECTOR_INDEX_TABLE}(rowid, embedding) VALUES (?, vec_int8(?))`).run(chunkId, codes);
  return codes;
}

export function insertVector(db: Db, chunkId: bigint, vector: Float32Array): void {
  db.prepare('INSERT OR REPLACE INTO chunk_vectors(chunk_id, embedding) VALUES (?, ?)').run(chunkId, toBlob(vector));
  // While a rebuild is pending the floats are enough: the rebuild indexes them.
  if (rebuildPending(db)) touched(db);
  else noted(db, Number(chunkId), insertIndexRow(db, chunkId, vector));
}

/** The float vectors of the given chunks (same order), null where a chunk has none. */
export function vectorsOf(db: Db, chunkIds: number[]): Array<Float32Array | null> {
  const get = db.prepare('SELECT embedding FROM chunk_vectors WHERE chunk_id = ?');
  return chunkIds.map((id) => {
    const row = get.get(BigInt(id)) as { embedding: Buffer } | undefined;
    return row ? fromBlob(row.embedding) : null;
  });
}

export function deleteVectors(db: Db, chunkIds: number[]): void {
  if (chunkIds.length === 0 || !currentVectorSpace(db)) return;
  const del = db.prepare('DELETE FROM chunk_vectors WHERE chunk_id = ?');
  const delIndex = vectorTableExists(db) ? db.prepare(`DELETE FROM ${VECTOR_INDEX_TABLE} WHERE rowid = ?`) : null;
  if (!delIndex) touched(db);
  for (const id of chunkIds) {
    del.run(BigInt(id));
    delIndex?.run(BigInt(id));
    if (delIndex) noted(db, id, null);
  }
}

export interface IndexBuildProgress {
  done: number;
  total: number;
}

/**
 * Build the int8 index from the kept float vectors when a migration asked for it (no
 * re-embedding). Works in batches, one transaction each, and remembers how far it got, so
 * an interrupted build goes on where it stopped. Returns the number of vectors indexed.
 */
export function buildVectorIndex(db: Db, onProgress?: (p: IndexBuildProgress) => void): number {
  const pending = getMeta(db, REBUILD_KEY);
  if (pending === null) return 0;
  const dim = Number(getMeta(db, 'embedding.dim'));
  if (!getMeta(db, 'embedding.model_id') || !(dim > 0)) {
    db.prepare('DELETE FROM meta WHERE key = ?').run(REBUILD_KEY);
    return 0;
  }
  if (!vectorTableExists(db)) createIndexTable(db, dim);
  let after = Number(pending) || 0;
  const total = (db.prepare('SELECT COUNT(*) FROM chunk_vectors').pluck().get() as number) ?? 0;
  let done = db.prepare('SELECT COUNT(*) FROM chunk_vectors WHERE chunk_id <= ?').pluck().get(after) as number;
  const next = db.prepare('SELECT chunk_id, embedding FROM chunk_vectors WHERE chunk_id > ? ORDER BY chunk_id LIMIT ?');
  const drop = db.prepare(`DELETE FROM ${VECTOR_INDEX_TABLE} WHERE rowid = ?`);
  onProgress?.({ done, total });
  for (;;) {
    const rows = next.all(after, REBUILD_BATCH) as Array<{ chunk_id: number; embedding: Buffer }>;
    if (rows.length === 0) break;
    db.transaction(() => {
      for (const r of rows) {
        drop.run(BigInt(r.chunk_id));
        insertIndexRow(db, BigInt(r.chunk_id), fromBlob(r.embedding));
      }
      after = rows[rows.length - 1]?.chunk_id ?? after;
      setMeta(db, REBUILD_KEY, String(after));
    })();
    done += rows.length;
    onProgress?.({ done, total });
  }
  db.prepare('DELETE FROM meta WHERE key = ?').run(REBUILD_KEY);
  touched(db);
  return done;
}

function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb);
}

/** sqlite-vec's largest k for a vec0 KNN query. */
const VEC0_MAX_K = 4096;

/**
 * The int8 index in memory (`Int8Matrix`: a WebAssembly SIMD scan, several times faster than
 * sqlite-vec's, same order), loaded from the vec0 table on the first search. Vectors inserted or
 * deleted through this module on this connection are noted and applied at the next search once
 * the table shows them committed as noted (a rolled-back transaction does not, and the index is
 * loaded again); any other change (a new vector space, a rebuild, a commit by another connection:
 * `PRAGMA data_version`) loads it again. It holds one byte per dimension per vector (38 MB per 100k
 * 384-d chunks). Not used inside a transaction.
 */
interface MemoryIndex {
  generation: number;
  dataVersion: number;
  matrix: Int8Matrix;
  /** Changes since `generation`, in order: the new codes of an id, or null when deleted. */
  changes: Array<{ id: number; codes: Buffer | null }>;
}
const memoryIndexes = new WeakMap<Db, MemoryIndex>();
const generations = new WeakMap<Db, number>();
/** More noted changes than this, or removed rows above a quarter of the index: load it again instead. */
const MAX_NOTED_CHANGES = 100_000;
let fullLoads = 0;

/** How many times an in-memory index was loaded whole (tests, bench). */
export function memoryIndexLoads(): number {
  return fullLoads;
}

/** Vectors of this connection changed in a way not noted: the in-memory index is loaded again when next needed. */
function touched(db: Db): void {
  generations.set(db, (generations.get(db) ?? 0) + 1);
  memoryIndexes.delete(db);
}

/** One vector of this connection inserted (its int8 codes) or deleted (null). */
function noted(db: Db, id: number, codes: Buffer | null): void {
  generations.set(db, (generations.get(db) ?? 0) + 1);
  const index = memoryIndexes.get(db);
  if (!index) return;
  if (index.changes.length >= MAX_NOTED_CHANGES) memoryIndexes.delete(db);
  else index.changes.push({ id, codes });
}

/** Apply the noted changes if the table holds exactly their outcome; false when it does not (rolled back). */
function applyNoted(db: Db, index: MemoryIndex): boolean {
  const outcome = new Map<number, Buffer | null>();
  for (const c of index.changes) outcome.set(c.id, c.codes);
  if (index.matrix.dead + outcome.size > index.matrix.size / 4 + 1000) return false;
  const stored = db.prepare(`SELECT embedding FROM ${VECTOR_INDEX_TABLE} WHERE rowid = ?`).pluck();
  for (const [id, codes] of outcome) {
    const row = stored.get(BigInt(id)) as Buffer | undefined;
    if (codes === null ? row !== undefined : !row || !row.equals(codes)) return false;
  }
  index.matrix.remove(new Set(outcome.keys()));
  for (const [id, codes] of outcome) if (codes) index.matrix.add(id, codes);
  index.changes = [];
  return true;
}

function memoryIndex(db: Db, dim: number): Int8Matrix | null {
  if (db.inTransaction) return null;
  const generation = generations.get(db) ?? 0;
  const dataVersion = db.pragma('data_version', { simple: true }) as number;
  const cached = memoryIndexes.get(db);
  if (cached && cached.dataVersion === dataVersion && cached.matrix.dim === dim) {
    if (cached.generation === generation) return cached.matrix;
    if (applyNoted(db, cached)) {
      cached.generation = generation;
      return cached.matrix;
    }
  }
  fullLoads++;
  const count = db.prepare('SELECT COUNT(*) FROM chunk_vectors').pluck().get() as number;
  let matrix = Int8Matrix.create(dim, count);
  if (!matrix) return null;
  if (!loadFromChunks(db, matrix, dim)) {
    matrix = Int8Matrix.create(dim, count);
    if (!matrix) return null;
    const rows = db.prepare(`SELECT rowid, embedding FROM ${VECTOR_INDEX_TABLE}`).raw();
    for (const [rowid, codes] of rows.iterate() as IterableIterator<[number | bigint, Buffer]>) {
      matrix.add(Number(rowid), codes);
    }
  }
  memoryIndexes.set(db, { generation, dataVersion, matrix, changes: [] });
  return matrix;
}

/**
 * Load the matrix from vec0's own storage, a chunk of up to `size` vectors per row (validity
 * bits, int64 rowids, `size × dim` bytes) — 20× faster than reading the virtual table row by
 * row. False (and the caller reads the table) when the layout is not the one sqlite-vec 0.1
 * writes or the vectors found are not all of them.
 */
function loadFromChunks(db: Db, matrix: Int8Matrix, dim: number): boolean {
  try {
    const expected = db.prepare(`SELECT COUNT(*) FROM ${VECTOR_INDEX_TABLE}_rowids`).pluck().get() as number;
    const slots = new Map<number, { size: number; validity: Buffer; rowids: Buffer }>();
    const chunkRows = db.prepare(`SELECT chunk_id, size, validity, rowids FROM ${VECTOR_INDEX_TABLE}_chunks`).raw();
    for (const [id, size, validity, rowids] of chunkRows.iterate() as IterableIterator<
      [number, number, Buffer, Buffer]
    >) {
      if (validity.length * 8 < size || rowids.length < size * 8) return false;
      slots.set(id, { size, validity, rowids });
    }
    let loaded = 0;
    const vectorRows = db.prepare(`SELECT rowid, vectors FROM ${VECTOR_INDEX_TABLE}_vector_chunks00`).raw();
    for (const [id, vectors] of vectorRows.iterate() as IterableIterator<[number, Buffer]>) {
      const chunk = slots.get(id);
      if (!chunk) continue;
      const { size, validity, rowids } = chunk;
      if (vectors.length < size * dim) return false;
      for (let slot = 0; slot < size; slot++) {
        if (!(((validity[slot >> 3] as number) >> (slot & 7)) & 1)) continue;
        matrix.add(Number(rowids.readBigInt64LE(slot * 8)), vectors.subarray(slot * dim, (slot + 1) * dim));
        loaded++;
      }
    }
    return loaded === expected;
  } catch {
    return false;
  }
}

/**
 * Nearest chunks by cosine distance: int8 candidates (an exact scan of the quantised
 * vectors, in memory when it can be, else by sqlite-vec), exact float re-scoring. Falls back to
 * the exact float scan while the index is being rebuilt, or, without the in-memory index, when
 * more candidates are wanted than sqlite-vec returns at once.
 */
export interface KnnOptions {
  /** int8 candidates to take (default `candidateCount(k)`). */
  candidates?: number;
  /**
   * Of the candidate ids, those that may be returned (a filter), applied before re-scoring.
   * Returns null when the exact fallback would be needed (then the caller filters otherwise).
   */
  allow?: (ids: number[]) => ReadonlySet<number>;
}

export function knn(
  db: Db,
  vector: Float32Array,
  k: number,
  opts: KnnOptions = {},
): Array<{ chunkId: number; distance: number }> {
  return knnOrNull(db, vector, k, opts) ?? knnExact(db, vector, k);
}

/**
 * `knn` without the exact fallback: null while the index is being rebuilt, or, without the
 * in-memory index, when more candidates are wanted than sqlite-vec returns at once.
 */
export function knnOrNull(
  db: Db,
  vector: Float32Array,
  k: number,
  opts: KnnOptions = {},
): Array<{ chunkId: number; distance: number }> | null {
  const space = currentVectorSpace(db);
  if (!space || k <= 0) return [];
  const want = opts.candidates ?? candidateCount(k);
  if (rebuildPending(db)) return null;
  const memory = memoryIndex(db, space.dim);
  if (!memory && want > VEC0_MAX_K) return null;
  let candidates = memory
    ? memory.nearest(quantizeInt8(vector), want)
    : (db
        .prepare(`SELECT rowid FROM ${VECTOR_INDEX_TABLE} WHERE embedding MATCH vec_int8(?) AND k = ?`)
        .pluck()
        .all(quantizeInt8(vector), want) as number[]);
  if (opts.allow) {
    const allowed = opts.allow(candidates);
    candidates = candidates.filter((id) => allowed.has(id));
  }
  const rows = db
    .prepare('SELECT chunk_id, embedding FROM chunk_vectors WHERE chunk_id IN (SELECT value FROM json_each(?))')
    .all(JSON.stringify(candidates)) as Array<{ chunk_id: number; embedding: Buffer }>;
  const scored = rows.map((r) => ({ chunkId: r.chunk_id, distance: cosineDistance(vector, fromBlob(r.embedding)) }));
  // Ties keep the index's order, as before.
  const order = new Map(candidates.map((id, i) => [id, i]));
  return scored
    .sort((a, b) => a.distance - b.distance || (order.get(a.chunkId) ?? 0) - (order.get(b.chunkId) ?? 0))
    .slice(0, k);
}

/** Exact nearest neighbours by scanning every float vector (the reference for the index's recall). */
export function knnExact(db: Db, vector: Float32Array, k: number): Array<{ chunkId: number; distance: number }> {
  if (k <= 0) return [];
  return (
    db
      .prepare(
        'SELECT chunk_id AS chunkId, vec_distance_cosine(embedding, ?) AS distance FROM chunk_vectors ORDER BY distance LIMIT ?',
      )
      .all(toBlob(vector), k) as Array<{ chunkId: number; distance: number }>
  ).map((r) => ({ chunkId: Number(r.chunkId), distance: r.distance }));
}
