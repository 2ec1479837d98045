/**
 * The migration that lets documents be images edits documents.type's CHECK in place: a
 * knowledge base with documents, chunks, tags, keyword rows and vectors must come through
 * it with every row intact (rebuilding the table would have cascade-deleted the chunks).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/paths';
import type { Chunk, DocType } from '../domain';
import { DB_FILE, migrate, openStore, schemaVersion, type Db } from './db';
import { writeDocument } from './documents';
import { MIGRATIONS } from './migrations';
import { buildVectorIndex, currentVectorSpace, ensureVectorSpace, knn, knnExact } from './vectors';

const IMAGE_STEP = MIGRATIONS.findIndex((m) => typeof m !== 'string' && m.table === 'documents');

function chunk(ord: number, text: string): Chunk {
  return {
    ord,
    text,
    pageStart: 1,
    pageEnd: 1,
    headingPath: ['Section'],
    boxes: [{ page: 1, x: 10, y: 20 + ord, w: 100, h: 12 }],
    ocrConfidence: ord % 2 ? 88 : null,
  };
}

function vector(seed: number): Float32Array {
  return Float32Array.from({ length: 8 }, (_, i) => Math.sin(seed * 7 + i));
}

function addDocument(db: Db, name: string, type: DocType, texts: string[], seed: number): void {
  db.transaction(() =>
    writeDocument(
      db,
      {
        sourcePath: `/docs/${name}`,
        title: name,
        type,
        sha256: `sha-${name}`,
        sizeBytes: 100,
        pages: 1,
        language: 'en',
        sensitivity: 'internal',
        isSafety: false,
        tags: { line: 'A' },
        warnings: [],
        chunks: texts.map((t, i) => chunk(i, t)),
        vectors: texts.map((_, i) => vector(seed + i)),
      },
      new Date('2025-01-01T00:00:00Z'),
    ),
  )();
}

/** Every row that hangs off a document, as plain data. */
function snapshot(db: Db): Record<string, unknown[]> {
  const all = (sql: string): unknown[] => db.prepare(sql).all();
  return {
    documents: all('SELECT * FROM documents ORDER BY id'),
    tags: all('SELECT * FROM document_tags ORDER BY doc_id, key'),
    chunks: all('SELECT * FROM chunks ORDER BY id'),
    vectors: all('SELECT chunk_id, hex(embedding) AS e FROM chunk_vectors ORDER BY chunk_id'),
    binary: all('SELECT rowid FROM chunk_vec_i8 ORDER BY rowid'),
    keyword: all("SELECT rowid FROM chunk_fts WHERE chunk_fts MATCH 'hydraulic OR valve' ORDER BY rowid"),
  };
}

function openRaw(file: string): Db {
  const db = new Database(file);
  sqliteVec.load(db);
  db.pragma('foreign_keys = ON');
  return db;
}

describe('migration: documents may be images', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('is an in-place schema edit appended after the earlier steps', () => {
    expect(IMAGE_STEP).toBeGreaterThanOrEqual(9);
  });

  it('keeps every document, tag, chunk, keyword row and vector, and then accepts images', () => {
    const home = path.join(tmp.dir, 'kb');
    const file = path.join(home, DB_FILE);
    // A knowledge base as the previous release left it.
    const old = openRaw(path.join(tmp.dir, 'old.db'));
    migrate(old, MIGRATIONS.slice(0, IMAGE_STEP));
    expect(schemaVersion(old)).toBe(IMAGE_STEP);
    expect(() => addDocument(old, 'scan.png', 'image', ['x'], 0)).toThrow(/CHECK constraint failed/);
    ensureVectorSpace(old, { modelId: 'test', dim: 8 });
    addDocument(old, 'pump.pdf', 'pdf', ['Check the hydraulic pump.', 'Bleed the valve.'], 1);
    addDocument(old, 'valve.docx', 'docx', ['Valve V-12 torque is 40 Nm.', 'Hydraulic oil grade.'], 5);
    addDocument(old, 'notes.md', 'md', ['Notes on the valve.'], 9);
    const before = snapshot(old);
    for (const rows of Object.values(before)) expect(rows.length).toBeGreaterThan(0);
    expect(before.chunks).toHaveLength(5);
    old.close();
    // Put the old database where the app keeps it, as if the app was updated.
    fs.mkdirSync(home, { recursive: true });
    fs.copyFileSync(path.join(tmp.dir, 'old.db'), file);

    const store = openStore(home);
    const db = store.db;
    try {
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      expect(snapshot(db)).toEqual(before);
      expect((db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n).toBe(5);
      expect(knn(db, vector(1), 1)[0]?.chunkId).toBe(1);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('foreign_key_check')).toEqual([]);
      // The new type is accepted, other values are still refused, and writing the schema is locked again.
      addDocument(db, 'scan.png', 'image', ['Hydraulic schematic, scanned.'], 20);
      expect(() => db.prepare("UPDATE documents SET type = 'exe' WHERE id = 1").run()).toThrow(/CHECK constraint/);
      expect(() => db.exec("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = sql WHERE name = 'x'")).toThrow(
        /may not be modified/,
      );
      // Deleting a document still cascades to its chunks (the foreign keys survived the edit).
      db.prepare('DELETE FROM documents WHERE id = 1').run();
      expect((db.prepare('SELECT COUNT(*) AS n FROM chunks WHERE doc_id = 1').get() as { n: number }).n).toBe(0);
    } finally {
      store.close();
    }
    // A second connection (another process) sees the new CHECK too.
    const other = openRaw(file);
    try {
      expect(other.prepare("SELECT COUNT(*) AS n FROM documents WHERE type = 'image'").get()).toEqual({ n: 1 });
    } finally {
      other.close();
    }
  });

  it('rolls a failing schema edit back and leaves the database usable', () => {
    const db = openRaw(':memory:');
    migrate(db, MIGRATIONS.slice(0, IMAGE_STEP));
    const schema = (db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'documents'").get() as { sql: string }).sql;
    const broken = [...MIGRATIONS.slice(0, IMAGE_STEP), { table: 'documents', replace: 'no such text', with: 'x' }];
    expect(() => migrate(db, broken)).toThrow(/does not occur exactly once/);
    const unparsable = [
      ...MIGRATIONS.slice(0, IMAGE_STEP),
      { table: 'documents', replace: 'CHECK (type', with: 'CHECK ((' },
    ];
    expect(() => migrate(db, unparsable)).toThrow();
    expect(schemaVersion(db)).toBe(IMAGE_STEP);
    expect((db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'documents'").get() as { sql: string }).sql).toBe(
      schema,
    );
    migrate(db);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});

describe('issue 17: the sign-bit vector index gives way to an int8 index built from the kept floats', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('migrates without re-embedding: exact results while pending, then an index rebuilt with progress', () => {
    const file = path.join(tmp.dir, DB_FILE);
    // A knowledge base as the release before issue 17 left it: floats + a vec0 bit[] index.
    const old = openRaw(file);
    // Found by content: later migrations are appended after it.
    const INT8_STEP = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes("'vector_index.rebuild'"));
    expect(INT8_STEP).toBeGreaterThan(0);
    migrate(old, MIGRATIONS.slice(0, INT8_STEP));
    old.exec('CREATE VIRTUAL TABLE chunk_vec_bin USING vec0(embedding bit[8])');
    old.exec("INSERT INTO meta(key, value) VALUES ('embedding.model_id', 'old-model'), ('embedding.dim', '8')");
    const texts = Array.from({ length: 30 }, (_, i) => `Hydraulic valve note ${i}.`);
    old.transaction(() =>
      writeDocument(
        old,
        {
          sourcePath: '/docs/notes.md',
          title: 'notes.md',
          type: 'md',
          sha256: 'sha-notes',
          sizeBytes: 100,
          pages: 1,
          language: 'en',
          sensitivity: 'internal',
          isSafety: false,
          tags: {},
          warnings: [],
          chunks: texts.map((t, i) => chunk(i, t)),
          vectors: null,
        },
        new Date('2025-01-01T00:00:00Z'),
      ),
    )();
    const ids = old.prepare('SELECT id FROM chunks ORDER BY id').pluck().all() as number[];
    for (const [i, id] of ids.entries()) {
      const v = vector(i);
      old.prepare('INSERT INTO chunk_vectors(chunk_id, embedding) VALUES (?, ?)').run(id, Buffer.from(v.buffer));
      old
        .prepare('INSERT INTO chunk_vec_bin(rowid, embedding) VALUES (?, vec_quantize_binary(?))')
        .run(BigInt(id), Buffer.from(v.buffer));
    }
    old.exec('UPDATE chunks SET embedded = 1');
    const floats = old.prepare('SELECT chunk_id, hex(embedding) AS e FROM chunk_vectors ORDER BY chunk_id').all();
    old.close();

    const store = openStore(tmp.dir);
    const db = store.db;
    try {
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      expect(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'chunk_vec_bin'").get()).toBeUndefined();
      // Same vector space, same floats, nothing to embed again.
      expect(currentVectorSpace(db)).toEqual({ modelId: 'old-model', dim: 8 });
      expect(db.prepare('SELECT chunk_id, hex(embedding) AS e FROM chunk_vectors ORDER BY chunk_id').all()).toEqual(
        floats,
      );
      expect(db.prepare('SELECT COUNT(*) FROM chunks WHERE embedded = 0').pluck().get()).toBe(0);
      // Before the rebuild, search scans the floats exactly.
      const q = vector(3);
      expect(knn(db, q, 5)).toEqual(knnExact(db, q, 5));
      const progress: Array<{ done: number; total: number }> = [];
      expect(buildVectorIndex(db, (p) => progress.push(p))).toBe(30);
      expect(progress[0]).toEqual({ done: 0, total: 30 });
      expect(progress.at(-1)).toEqual({ done: 30, total: 30 });
      expect(db.prepare('SELECT COUNT(*) FROM chunk_vec_i8').pluck().get()).toBe(30);
      expect(buildVectorIndex(db)).toBe(0);
      expect(knn(db, q, 5).map((n) => n.chunkId)).toEqual(knnExact(db, q, 5).map((n) => n.chunkId));
      expect(knn(db, q, 1)[0]?.chunkId).toBe(ids[3]);
      // The keyword index ranks with its configured function.
      expect(
        db.prepare("SELECT rowid FROM chunk_fts WHERE chunk_fts MATCH 'valve' ORDER BY rank LIMIT 1").pluck().get(),
      ).toBeDefined();
    } finally {
      store.close();
    }
  });
});
