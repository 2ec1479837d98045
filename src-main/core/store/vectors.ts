/**
 * The sqlite-vec vector index (vec0, cosine distance). Its dimension follows the
 * active embedding model; the model id is recorded, and a different model drops
 * the vectors and marks every chunk for re-embedding instead of mixing spaces.
 */
import type { Db } from './db';

const TABLE = 'chunk_vec';
/** Sign bits of each vector (1 bit per dimension) for a fast first pass; floats re-score the candidates. */
const BINARY_TABLE = 'chunk_vec_bin';
/** Candidates fetched from the binary index per result wanted. */
const OVERSAMPLE = 10;

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
  return db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(TABLE) !== undefined;
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

/**
 * Make the vector table match the model. Returns true when the space changed
 * (all chunks then need embedding again).
 */
export function ensureVectorSpace(db: Db, space: VectorSpace): boolean {
  const current = currentVectorSpace(db);
  if (current && current.modelId === space.modelId && current.dim === space.dim) return false;
  db.transaction(() => {
    db.exec(`DROP TABLE IF EXISTS ${TABLE}`);
    db.exec(
      `CREATE VIRTUAL TABLE ${TABLE} USING vec0(embedding float[${Math.trunc(space.dim)}] distance_metric=cosine)`,
    );
    db.exec('UPDATE chunks SET embedded = 0');
    setMeta(db, 'embedding.model_id', space.modelId);
    setMeta(db, 'embedding.dim', String(space.dim));
  })();
  return true;
}

function binaryTableExists(db: Db): boolean {
  return db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(BINARY_TABLE) !== undefined;
}

export function insertVector(db: Db, chunkId: bigint, vector: Float32Array): void {
  db.prepare(`INSERT INTO ${TABLE}(rowid, embedding) VALUES (?, ?)`).run(chunkId, vector);
  if (binaryTableExists(db)) {
    db.prepare(`INSERT INTO ${BINARY_TABLE}(rowid, embedding) VALUES (?, vec_quantize_binary(?))`).run(chunkId, vector);
  }
}

export function deleteVectors(db: Db, chunkIds: number[]): void {
  if (chunkIds.length === 0 || !vectorTableExists(db)) return;
  const del = db.prepare(`DELETE FROM ${TABLE} WHERE rowid = ?`);
  const delBin = binaryTableExists(db) ? db.prepare(`DELETE FROM ${BINARY_TABLE} WHERE rowid = ?`) : null;
  for (const id of chunkIds) {
    del.run(BigInt(id));
    delBin?.run(BigInt(id));
  }
}

/** Exact float KNN only (for measuring the binary index's recall). */
export function knnExact(db: Db, vector: Float32Array, k: number): Array<{ chunkId: number; distance: number }> {
  if (!vectorTableExists(db)) return [];
  const rows = db
    .prepare(`SELECT rowid, distance FROM ${TABLE} WHERE embedding MATCH ? AND k = ? ORDER BY distance`)
    .all(vector, k) as Array<{ rowid: number; distance: number }>;
  return rows.map((r) => ({ chunkId: r.rowid, distance: r.distance }));
}

/**
 * Nearest chunks by cosine distance. With the binary index: Hamming-distance KNN over sign
 * bits picks k×10 candidates, exact float cosine re-scores them. Without it: float KNN
 * (sqlite-vec `MATCH … AND k = ?`).
 */
export function knn(db: Db, vector: Float32Array, k: number): Array<{ chunkId: number; distance: number }> {
  if (!vectorTableExists(db)) return [];
  if (binaryTableExists(db)) {
    const candidates = db
      .prepare(`SELECT rowid FROM ${BINARY_TABLE} WHERE embedding MATCH vec_quantize_binary(?) AND k = ?`)
      .all(vector, k * OVERSAMPLE) as Array<{ rowid: number }>;
    const rescored = db
      .prepare(
        `SELECT rowid, vec_distance_cosine(embedding, ?) AS distance FROM ${TABLE}
         WHERE rowid IN (SELECT value FROM json_each(?)) ORDER BY distance LIMIT ?`,
      )
      .all(vector, JSON.stringify(candidates.map((c) => c.rowid)), k) as Array<{ rowid: number; distance: number }>;
    return rescored.map((r) => ({ chunkId: r.rowid, distance: r.distance }));
  }
  return knnExact(db, vector, k);
}
