/**
 * Model files are loaded only if their SHA-256 was recorded when an administrator
 * approved them (or when they arrived in an approved bundle).
 */
import path from 'node:path';
import type { Db } from '../store/db';
import { FieldbookError } from '../errors';
import { sha256File } from '../util/hash';

export type ModelKind = 'embedding' | 'llm';

export async function approveModelFile(
  db: Db,
  kind: ModelKind,
  name: string,
  file: string,
  now: Date,
): Promise<string> {
  const sha256 = await sha256File(file);
  db.prepare(
    `INSERT INTO approved_models(kind, name, file, sha256, approved_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(kind, name, file) DO UPDATE SET sha256 = excluded.sha256, approved_at = excluded.approved_at`,
  ).run(kind, name, path.basename(file), sha256, now.toISOString());
  return sha256;
}

/** Verify the file against its approval; returns the hash or throws MODEL_NOT_APPROVED. */
export async function verifyModelFile(db: Db, kind: ModelKind, name: string, file: string): Promise<string> {
  const row = db
    .prepare('SELECT sha256 FROM approved_models WHERE kind = ? AND name = ? AND file = ?')
    .get(kind, name, path.basename(file)) as { sha256: string } | undefined;
  if (!row) throw new FieldbookError('MODEL_NOT_APPROVED', { file, detail: 'never approved' });
  const actual = await sha256File(file);
  if (actual !== row.sha256) {
    throw new FieldbookError('MODEL_NOT_APPROVED', {
      file,
      detail: `hash changed: ${actual.slice(0, 12)}… ≠ ${row.sha256.slice(0, 12)}…`,
    });
  }
  return actual;
}
