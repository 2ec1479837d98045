/**
 * Vector index. Each chunk's float vector is kept as a BLOB in `chunk_vectors`; its sign
 * bits (1 bit per dimension) go into a sqlite-vec vec0 `bit[]` table. A query first takes
 * k×5 (at least 100) candidates by Hamming distance over the bits (fast even at 100k+ chunks), then
 * re-scores them with exact cosine similarity on the floats.
 *
 * The embedding model's id and dimension are recorded; a different model drops the
 * vectors and marks every chunk for re-embedding instead of mixing vector spaces.
 */
import type { Db } from './db';

export const BINARY_TABLE = 'chunk_vec_bin';
/**
 * Candidates taken from the binary index per result wanted. sqlite-vec's top-k cost grows
 * with k, so this is a speed/recall trade-off; `npm run bench` prints the recall against
 * exact search.
 */
const OVERSAMPLE = 5;
const MIN_CANDIDATES = 100;

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

export function vectorTableExists(db: Db): boolean {
  return db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(BINARY_TABLE) !== undefined;
}

export interface VectorSpace {
  modelId: string;
  dim: number;
}

export function currentVectorSpace(db: Db): VectorSpace | null {
  const modelId = getMeta(db, 'embedding.model_id');
  const dim = getMeta(db, 'embedding.dim');
  return modelId && dim && vectorTableExists(db) ? { modelId, dim: Number(dim) } : null;
}

/** Bit width of the binary index: the dimension rounded up to a whole byte. */
function bitWidth(dim: number): number {
  return Math.ceil(dim / 8) * 8;
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

/**
 * Drop every vector and start an empty index for `space` (none when null); every chunk is
 * then unembedded. Call inside a transaction.
 */
export function replaceVectorSpace(db: Db, space: VectorSpace | null): void {
  // Always `main.`: an unqualified DROP would find the table in an attached database too.
  db.exec(`DROP TABLE IF EXISTS main.${BINARY_TABLE}`);
  db.exec('DELETE FROM main.chunk_vectors');
  db.exec('UPDATE main.chunks SET embedded = 0 WHERE embedded != 0');
  if (!space) {
    db.prepare("DELETE FROM main.meta WHERE key IN ('embedding.model_id', 'embedding.dim')").run();
    return;
  }
  db.exec(`CREATE VIRTUAL TABLE main.${BINARY_TABLE} USING vec0(embedding bit[${bitWidth(Math.trunc(space.dim))}])`);
  setMeta(db, 'embedding.model_id', space.modelId);
  setMeta(db, 'embedding.dim', String(space.dim));
}

/** Sign bits of a vector, zero-padded to a whole byte, in sqlite-vec's bit-vector layout. */
export function signBits(vector: Float32Array): Buffer {
  const bytes = Buffer.alloc(bitWidth(vector.length) / 8);
  for (let i = 0; i < vector.length; i++) {
    if ((vector[i] as number) > 0) bytes[i >> 3] = (bytes[i >> 3] as number) | (1 << (i & 7));
  }
  return bytes;
}

function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function fromBlob(b: Buffer): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function insertVector(db: Db, chunkId: bigint, vector: Float32Array): void {
  db.prepare('INSERT OR REPLACE INTO chunk_vectors(chunk_id, embedding) VALUES (?, ?)').run(chunkId, toBlob(vector));
  db.prepare(`INSERT INTO ${BINARY_TABLE}(rowid, embedding) VALUES (?, vec_bit(?))`).run(chunkId, signBits(vector));
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
  if (chunkIds.length === 0 || !vectorTableExists(db)) return;
  const del = db.prepare('DELETE FROM chunk_vectors WHERE chunk_id = ?');
  const delBin = db.prepare(`DELETE FROM ${BINARY_TABLE} WHERE rowid = ?`);
  for (const id of chunkIds) {
    del.run(BigInt(id));
    delBin.run(BigInt(id));
  }
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

/** Nearest chunks by cosine distance: binary candidates, exact float re-scoring. */
export function knn(db: Db, vector: Float32Array, k: number): Array<{ chunkId: number; distance: number }> {
  if (!vectorTableExists(db)) return [];
  const candidates = db
    .prepare(`SELECT rowid FROM ${BINARY_TABLE} WHERE embedding MATCH vec_bit(?) AND k = ?`)
    .all(signBits(vector), Math.max(MIN_CANDIDATES, k * OVERSAMPLE)) as Array<{ rowid: number }>;
  const get = db.prepare('SELECT embedding FROM chunk_vectors WHERE chunk_id = ?');
  const scored: Array<{ chunkId: number; distance: number }> = [];
  for (const c of candidates) {
    const row = get.get(c.rowid) as { embedding: Buffer } | undefined;
    if (row) scored.push({ chunkId: c.rowid, distance: cosineDistance(vector, fromBlob(row.embedding)) });
  }
  return scored.sort((a, b) => a.distance - b.distance).slice(0, k);
}

/** Exact nearest neighbours by scanning every float vector (reference for the binary index's recall). */
export function knnExact(db: Db, vector: Float32Array, k: number): Array<{ chunkId: number; distance: number }> {
  const scored: Array<{ chunkId: number; distance: number }> = [];
  for (const row of db.prepare('SELECT chunk_id, embedding FROM chunk_vectors').iterate() as Iterable<{
    chunk_id: number;
    embedding: Buffer;
  }>) {
    scored.push({ chunkId: row.chunk_id, distance: cosineDistance(vector, fromBlob(row.embedding)) });
  }
  return scored.sort((a, b) => a.distance - b.distance).slice(0, k);
}
