/**
 * The sqlite-vec vector index (vec0, cosine distance). Its dimension follows the
 * active embedding model; the model id is recorded, and a different model drops
 * the vectors and marks every chunk for re-embedding instead of mixing spaces.
 */
import type { Db } from './db';

const TABLE = 'chunk_vec';

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

export function insertVector(db: Db, chunkId: bigint, vector: Float32Array): void {
  db.prepare(`INSERT INTO ${TABLE}(rowid, embedding) VALUES (?, ?)`).run(chunkId, vector);
}

export function deleteVectors(db: Db, chunkIds: number[]): void {
  if (chunkIds.length === 0 || !vectorTableExists(db)) return;
  const del = db.prepare(`DELETE FROM ${TABLE} WHERE rowid = ?`);
  for (const id of chunkIds) del.run(BigInt(id));
}

/** Nearest chunks by cosine distance (sqlite-vec KNN: `MATCH … AND k = ?`). */
export function knn(db: Db, vector: Float32Array, k: number): Array<{ chunkId: number; distance: number }> {
  if (!vectorTableExists(db)) return [];
  const rows = db
    .prepare(`SELECT rowid, distance FROM ${TABLE} WHERE embedding MATCH ? AND k = ? ORDER BY distance`)
    .all(vector, k) as Array<{ rowid: number; distance: number }>;
  return rows.map((r) => ({ chunkId: r.rowid, distance: r.distance }));
}
