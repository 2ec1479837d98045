/**
 * Documents and chunks in SQLite: one transaction writes a document's row, its
 * chunks, keyword-index rows and vectors, so a document is either fully present
 * or not at all.
 */
import path from 'node:path';
import type { Db } from './db';
import type { Box, Chunk, DocType } from '../domain';
import { extractCodes, indexText } from '../text/terms';
import { deleteVectors, insertVector } from './vectors';

export const SENSITIVITY_LEVELS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Sensitivity = (typeof SENSITIVITY_LEVELS)[number];

/** Whether a document with this label may be seen (or changed) by someone with this clearance. */
export function withinClearance(label: Sensitivity, clearance: Sensitivity): boolean {
  return SENSITIVITY_LEVELS.indexOf(label) <= SENSITIVITY_LEVELS.indexOf(clearance);
}

/** The more restrictive of two labels. */
export function higherLabel(a: Sensitivity, b: Sensitivity): Sensitivity {
  return SENSITIVITY_LEVELS.indexOf(a) >= SENSITIVITY_LEVELS.indexOf(b) ? a : b;
}

export function isSensitivity(v: string): v is Sensitivity {
  return (SENSITIVITY_LEVELS as readonly string[]).includes(v);
}

export interface DocumentRecord {
  id: number;
  sourcePath: string;
  title: string;
  type: DocType;
  sha256: string;
  sizeBytes: number;
  pages: number | null;
  language: string;
  sensitivity: Sensitivity;
  isSafety: boolean;
  version: number;
  status: string;
  warnings: string[];
  tags: Record<string, string>;
  chunkCount: number;
  createdAt: string;
  updatedAt: string;
  indexedAt: string;
}

interface DocumentRow {
  id: number;
  source_path: string;
  title: string;
  type: DocType;
  sha256: string;
  size_bytes: number;
  pages: number | null;
  language: string;
  sensitivity: Sensitivity;
  is_safety: number;
  version: number;
  status: string;
  warnings: string;
  created_at: string;
  updated_at: string;
  indexed_at: string;
  chunk_count: number;
}

/** Where documents that came from bundles live, inside the data folder (the folder of the database file). */
export const LIBRARY_FOLDER = 'library';

/** The data folder of a database (its file's folder), or null for an in-memory one. */
function dataFolder(db: Db): string | null {
  return db.memory ? null : path.dirname(path.resolve(db.name));
}

/**
 * How a document's path is stored: a file inside the data folder's library as
 * `library/<kb>/<file>` (relative, '/'-separated, so a moved or copied data folder keeps
 * working); any other path as it is.
 */
export function storedSourcePath(db: Db, sourcePath: string): string {
  const home = dataFolder(db);
  if (!home || !path.isAbsolute(sourcePath)) return sourcePath;
  const rel = path.relative(path.join(home, LIBRARY_FOLDER), sourcePath);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return sourcePath;
  return [LIBRARY_FOLDER, ...rel.split(path.sep)].join('/');
}

/** Whether a stored path is a library path (relative to the data folder). */
export function isLibraryPath(stored: string): boolean {
  return stored.startsWith(`${LIBRARY_FOLDER}/`);
}

/** The file a stored path names on this PC (library paths resolved against the data folder). */
export function resolvedSourcePath(db: Db, stored: string): string {
  const home = dataFolder(db);
  return home && isLibraryPath(stored) ? path.join(home, ...stored.split('/')) : stored;
}

const DOC_SELECT = `SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) AS chunk_count FROM documents d`;

function tagsOf(db: Db, docId: number): Record<string, string> {
  const rows = db.prepare('SELECT key, value FROM document_tags WHERE doc_id = ? ORDER BY key').all(docId) as Array<{
    key: string;
    value: string;
  }>;
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

function toRecord(db: Db, row: DocumentRow): DocumentRecord {
  return {
    id: row.id,
    sourcePath: resolvedSourcePath(db, row.source_path),
    title: row.title,
    type: row.type,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    pages: row.pages,
    language: row.language,
    sensitivity: row.sensitivity,
    isSafety: row.is_safety === 1,
    version: row.version,
    status: row.status,
    warnings: JSON.parse(row.warnings) as string[],
    tags: tagsOf(db, row.id),
    chunkCount: row.chunk_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    indexedAt: row.indexed_at,
  };
}

export function getDocument(db: Db, id: number): DocumentRecord | null {
  const row = db.prepare(`${DOC_SELECT} WHERE d.id = ?`).get(id) as DocumentRow | undefined;
  return row ? toRecord(db, row) : null;
}

export function getDocumentByPath(db: Db, sourcePath: string): DocumentRecord | null {
  const row = db.prepare(`${DOC_SELECT} WHERE d.source_path = ?`).get(storedSourcePath(db, sourcePath)) as
    DocumentRow | undefined;
  return row ? toRecord(db, row) : null;
}

export function listDocuments(db: Db): DocumentRecord[] {
  const rows = db.prepare(`${DOC_SELECT} ORDER BY d.title COLLATE NOCASE`).all() as DocumentRow[];
  return rows.map((r) => toRecord(db, r));
}

export interface NewDocument {
  sourcePath: string;
  title: string;
  type: DocType;
  sha256: string;
  sizeBytes: number;
  pages: number | null;
  language: string;
  sensitivity: Sensitivity;
  isSafety: boolean;
  tags: Record<string, string>;
  warnings: string[];
  chunks: Chunk[];
  /** One vector per chunk (same order) when an embedder is active. */
  vectors: Float32Array[] | null;
}

/** The text written to the keyword index's title column: document title + heading path. */
export function chunkContext(title: string, headingPath: string[]): string {
  return [title, ...headingPath].join(' › ');
}

/** Insert or replace a document with all its rows (call inside a transaction). */
export function writeDocument(db: Db, doc: NewDocument, now: Date): number {
  const existing = getDocumentByPath(db, doc.sourcePath);
  const stamp = now.toISOString();
  if (existing) deleteDocumentRows(db, existing.id);
  const info = db
    .prepare(
      `INSERT INTO documents(source_path, title, type, sha256, size_bytes, pages, language, sensitivity, is_safety,
         version, status, warnings, created_at, updated_at, indexed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'indexed', ?, ?, ?, ?)`,
    )
    .run(
      storedSourcePath(db, doc.sourcePath),
      doc.title,
      doc.type,
      doc.sha256,
      doc.sizeBytes,
      doc.pages,
      doc.language,
      doc.sensitivity,
      doc.isSafety ? 1 : 0,
      existing ? existing.version + 1 : 1,
      JSON.stringify(doc.warnings),
      existing?.createdAt ?? stamp,
      stamp,
      stamp,
    );
  const docId = Number(info.lastInsertRowid);
  const insTag = db.prepare('INSERT INTO document_tags(doc_id, key, value) VALUES (?, ?, ?)');
  for (const [k, v] of Object.entries(doc.tags)) insTag.run(docId, k, v);
  const insChunk = db.prepare(
    `INSERT INTO chunks(doc_id, ord, page_start, page_end, heading_path, text, positions, embedded, ocr_confidence)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  doc.chunks.forEach((chunk, i) => {
    const vector = doc.vectors?.[i];
    const res = insChunk.run(
      docId,
      chunk.ord,
      chunk.pageStart,
      chunk.pageEnd,
      JSON.stringify(chunk.headingPath),
      chunk.text,
      chunk.boxes.length ? JSON.stringify(chunk.boxes) : null,
      vector ? 1 : 0,
      chunk.ocrConfidence ?? null,
    );
    const chunkId = BigInt(res.lastInsertRowid);
    insertChunkIndex(db, chunkId, doc.title, chunk.headingPath, chunk.text);
    if (vector) insertVector(db, chunkId, vector);
  });
  return docId;
}

/** Write a chunk's keyword-index row (rowid = chunk id; call inside a transaction). */
export function insertChunkIndex(db: Db, chunkId: bigint, title: string, headingPath: string[], text: string): void {
  const context = chunkContext(title, headingPath);
  db.prepare('INSERT INTO chunk_fts(rowid, body, codes, title) VALUES (?, ?, ?, ?)').run(
    chunkId,
    indexText(text),
    extractCodes(`${context}\n${text}`).join(' '),
    indexText(context),
  );
}

/** Delete a document's chunks, index rows and vectors, then the document (call inside a transaction). */
export function deleteDocumentRows(db: Db, docId: number): void {
  const ids = (db.prepare('SELECT id FROM chunks WHERE doc_id = ?').all(docId) as Array<{ id: number }>).map(
    (r) => r.id,
  );
  const delFts = db.prepare('DELETE FROM chunk_fts WHERE rowid = ?');
  for (const id of ids) delFts.run(BigInt(id));
  deleteVectors(db, ids);
  db.prepare('DELETE FROM documents WHERE id = ?').run(docId);
}

export interface ChunkRecord {
  id: number;
  docId: number;
  ord: number;
  pageStart: number | null;
  pageEnd: number | null;
  headingPath: string[];
  text: string;
  boxes: Box[];
  ocrConfidence: number | null;
}

interface ChunkRow {
  id: number;
  doc_id: number;
  ord: number;
  page_start: number | null;
  page_end: number | null;
  heading_path: string;
  text: string;
  positions: string | null;
  ocr_confidence: number | null;
}

export function toChunkRecord(row: ChunkRow): ChunkRecord {
  return {
    id: row.id,
    docId: row.doc_id,
    ord: row.ord,
    pageStart: row.page_start,
    pageEnd: row.page_end,
    headingPath: JSON.parse(row.heading_path) as string[],
    text: row.text,
    boxes: row.positions ? (JSON.parse(row.positions) as Box[]) : [],
    ocrConfidence: row.ocr_confidence,
  };
}

export function getChunks(db: Db, ids: number[]): Map<number, ChunkRecord> {
  const out = new Map<number, ChunkRecord>();
  if (ids.length === 0) return out;
  const rows = db
    .prepare(`SELECT * FROM chunks WHERE id IN (SELECT value FROM json_each(?))`)
    .all(JSON.stringify(ids)) as ChunkRow[];
  for (const r of rows) out.set(r.id, toChunkRecord(r));
  return out;
}

/** Every chunk of a document, in order. */
export function documentChunks(db: Db, docId: number): ChunkRecord[] {
  const rows = db.prepare('SELECT * FROM chunks WHERE doc_id = ? ORDER BY ord').all(docId) as ChunkRow[];
  return rows.map(toChunkRecord);
}

/**
 * Give a document another path, title and labels, keeping its id, chunks and vectors — for a USB
 * bundle taking over a document whose content is already in the library (same hash), so citations
 * of it stay valid. Its version goes up; the keyword rows are rewritten when the title changes.
 * Call inside a transaction.
 */
export function relocateDocument(
  db: Db,
  docId: number,
  to: {
    sourcePath: string;
    title: string;
    sensitivity: Sensitivity;
    isSafety: boolean;
    tags: Record<string, string>;
  },
  now: Date,
): void {
  const before = getDocument(db, docId);
  if (!before) throw new Error(`relocateDocument: no document ${docId}`);
  db.prepare(
    `UPDATE documents SET source_path = ?, title = ?, sensitivity = ?, is_safety = ?, version = version + 1, updated_at = ?
     WHERE id = ?`,
  ).run(storedSourcePath(db, to.sourcePath), to.title, to.sensitivity, to.isSafety ? 1 : 0, now.toISOString(), docId);
  db.prepare('DELETE FROM document_tags WHERE doc_id = ?').run(docId);
  const insTag = db.prepare('INSERT INTO document_tags(doc_id, key, value) VALUES (?, ?, ?)');
  for (const [k, v] of Object.entries(to.tags)) insTag.run(docId, k, v);
  if (before.title !== to.title) {
    const delFts = db.prepare('DELETE FROM chunk_fts WHERE rowid = ?');
    for (const c of documentChunks(db, docId)) {
      delFts.run(BigInt(c.id));
      insertChunkIndex(db, BigInt(c.id), to.title, c.headingPath, c.text);
    }
  }
}

export function setDocumentLabels(
  db: Db,
  docId: number,
  labels: { tags?: Record<string, string>; sensitivity?: Sensitivity; isSafety?: boolean },
  now: Date,
): void {
  db.transaction(() => {
    if (labels.tags) {
      db.prepare('DELETE FROM document_tags WHERE doc_id = ?').run(docId);
      const ins = db.prepare('INSERT INTO document_tags(doc_id, key, value) VALUES (?, ?, ?)');
      for (const [k, v] of Object.entries(labels.tags)) ins.run(docId, k, v);
    }
    if (labels.sensitivity)
      db.prepare('UPDATE documents SET sensitivity = ? WHERE id = ?').run(labels.sensitivity, docId);
    if (labels.isSafety !== undefined)
      db.prepare('UPDATE documents SET is_safety = ? WHERE id = ?').run(labels.isSafety ? 1 : 0, docId);
    db.prepare('UPDATE documents SET updated_at = ? WHERE id = ?').run(now.toISOString(), docId);
  })();
}

export interface StoreStats {
  documents: number;
  chunks: number;
  embeddedChunks: number;
  pages: number;
  byType: Record<string, number>;
  failures: number;
}

export function storeStats(db: Db): StoreStats {
  const one = <T>(sql: string): T => db.prepare(sql).get() as T;
  const byType = db.prepare('SELECT type, COUNT(*) AS n FROM documents GROUP BY type').all() as Array<{
    type: string;
    n: number;
  }>;
  return {
    documents: one<{ n: number }>('SELECT COUNT(*) AS n FROM documents').n,
    chunks: one<{ n: number }>('SELECT COUNT(*) AS n FROM chunks').n,
    embeddedChunks: one<{ n: number }>('SELECT COUNT(*) AS n FROM chunks WHERE embedded = 1').n,
    pages: one<{ n: number | null }>('SELECT SUM(pages) AS n FROM documents').n ?? 0,
    byType: Object.fromEntries(byType.map((r) => [r.type, r.n])),
    failures: one<{ n: number }>('SELECT COUNT(*) AS n FROM ingest_failures').n,
  };
}
