/**
 * Vector and hybrid search with a generated tiny ONNX model run by transformers.js
 * (remote loading disabled): approval by SHA-256, embedding at ingest, KNN, hybrid fusion,
 * re-embedding on model change, and refusal of a model whose weights changed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import type { Embedder } from '../../src-main/core/embed/embedder';
import {
  createSearchService,
  indexKeywordQuery,
  keywordRanking,
  vectorRanking,
  type Ranking,
  type SearchOptions,
} from '../../src-main/core/search/search-service';
import { openStore } from '../../src-main/core/store/db';
import { getChunks, storeStats, writeDocument } from '../../src-main/core/store/documents';
import {
  candidateCount,
  currentVectorSpace,
  deleteVectors,
  ensureVectorSpace,
  insertVector,
  knn,
  knnExact,
  memoryIndexLoads,
  quantizeInt8,
  VECTOR_INDEX_TABLE,
} from '../../src-main/core/store/vectors';
import { tempDir } from '../support/paths';
import { writeTinyEmbedder } from '../support/tiny-embedder';

const DOCS: Record<string, string> = {
  'servo.md':
    '# Servo overload\n\nServo overload alarm: stop the press, check the motor temperature, then reset the drive.',
  'lockout.md': '# Lockout\n\nLockout tagout: switch off the main disconnect, lock and tag it, verify zero energy.',
  'conveyor.md': '# Conveyor belt\n\nConveyor belt tension: check the belt and adjust the take-up bolts.',
  'zh.md': '# 伺服過載\n\n伺服過載時先停機，確認馬達溫度後再按復位鍵。',
};

describe('vector and hybrid search with a real (tiny) ONNX model', () => {
  const tmp = tempDir();
  const models = path.join(tmp.dir, 'models');
  let fb: Fieldbook;

  beforeAll(async () => {
    writeTinyEmbedder(models, { name: 'tiny-a', seed: 1 });
    writeTinyEmbedder(models, { name: 'tiny-b', seed: 2, dim: 48 });
    fs.mkdirSync(path.join(models, 'broken'));
    fs.writeFileSync(path.join(models, 'broken', 'config.json'), '{}');
    const docs = path.join(tmp.dir, 'docs');
    fs.mkdirSync(docs);
    for (const [name, text] of Object.entries(DOCS)) fs.writeFileSync(path.join(docs, name), text);
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [models], llmModelRoots: [] });
    const status = await fb.useEmbeddingModel('tiny-a');
    expect(status.active).toBe('tiny-a');
    expect(status.invalid).toEqual([{ dir: path.join(models, 'broken'), reason: 'missing tokenizer.json' }]);
    await fb.ingest.ingest([docs]);
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('embeds every chunk at ingest and records the model and dimension', () => {
    const stats = storeStats(fb.db);
    expect(stats.embeddedChunks).toBe(stats.chunks);
    expect(currentVectorSpace(fb.db)).toMatchObject({ dim: 64 });
    expect(currentVectorSpace(fb.db)?.modelId).toMatch(/^tiny-a@[0-9a-f]{16}$/);
  });

  it('finds neighbours by vector, and the int8 first pass agrees with exact search on a small set', async () => {
    const embedder = await fb.embedder();
    const q = await embedder?.embedQuery('servo overload reset');
    expect(q).toBeDefined();
    const near = knn(fb.db, q as Float32Array, 3);
    const exact = knnExact(fb.db, q as Float32Array, 3);
    expect(near.map((n) => n.chunkId)).toEqual(exact.map((n) => n.chunkId));
    const res = await fb.search.search('servo overload reset', { mode: 'vector', k: 2 });
    expect(res.mode).toBe('vector');
    expect(res.hits[0]?.sourcePath).toMatch(/servo\.md$/);
    expect(res.hits[0]?.scores.vector).toBeGreaterThan(res.hits[1]?.scores.vector ?? 1);
  });

  it('fuses keyword and vector lists in hybrid mode', async () => {
    const res = await fb.search.search('lockout tagout energy', { k: 3 });
    expect(res.mode).toBe('hybrid');
    expect(res.notice).toBeUndefined();
    const top = res.hits[0];
    expect(top?.sourcePath).toMatch(/lockout\.md$/);
    expect(top?.scores.keyword).toBeDefined();
    expect(top?.scores.vector).toBeDefined();
  });

  it('re-embeds everything when the model changes instead of mixing vector spaces', async () => {
    const before = currentVectorSpace(fb.db)?.modelId;
    await fb.useEmbeddingModel('tiny-b');
    // Until the vectors are rebuilt, search will not compare tiny-b queries with tiny-a vectors.
    const meanwhile = await fb.search.search('servo overload', { k: 1 });
    expect(meanwhile.mode).toBe('keyword');
    expect(meanwhile.notice).toMatch(/not built for the active embedding model/);
    const n = await fb.ingest.embedMissing();
    expect(n).toBe(storeStats(fb.db).chunks);
    const space = currentVectorSpace(fb.db);
    expect(space?.dim).toBe(48);
    expect(space?.modelId).not.toBe(before);
    expect((await fb.search.search('servo overload', { k: 1 })).mode).toBe('hybrid');
  });

  it('refuses a model whose weights changed after approval and falls back to keyword search', async () => {
    const onnxFile = path.join(models, 'tiny-b', 'onnx', 'model.onnx');
    const bytes = fs.readFileSync(onnxFile);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    fs.writeFileSync(onnxFile, bytes);
    const reopened = openFieldbook({ home: fb.home, embeddingModelRoots: [models], llmModelRoots: [] });
    try {
      const res = await reopened.search.search('servo overload');
      expect(res.mode).toBe('keyword');
      expect(res.notice).toMatch(/No embedding model/);
      const status = await reopened.embeddingStatus();
      expect(status.problem).toMatch(/not approved|hash changed/);
    } finally {
      await reopened.close();
    }
  });
});

describe('issue 17: search stays exact as the library grows', () => {
  const tmp = tempDir();
  const store = openStore(path.join(tmp.dir, 'home'));
  const db = store.db;
  const dim = 384;
  let seed = 17;
  const rand = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const randomVector = (): Float32Array => Float32Array.from({ length: dim }, () => rand() * 2 - 1);
  const common = '這台機器的操作說明可以在這裡找到';

  beforeAll(() => {
    ensureVectorSpace(db, { modelId: 'random-384', dim });
    db.transaction(() => {
      for (let d = 0; d < 30; d++) {
        const chunks = Array.from({ length: 100 }, (_, i) => ({
          ord: i,
          text: d === 7 && i === 42 ? `${common}。伺服馬達過載時先按復位鍵。` : `${common}。第 ${d}-${i} 段。`,
          pageStart: 1,
          pageEnd: 1,
          headingPath: [],
          boxes: [],
          ocrConfidence: null,
        }));
        writeDocument(
          db,
          {
            sourcePath: `/lib/doc-${d}.md`,
            title: `doc ${d}`,
            type: 'md',
            sha256: String(d),
            sizeBytes: 1,
            pages: 1,
            language: 'zh-TW',
            sensitivity: 'internal',
            isSafety: false,
            tags: { line: d % 2 ? 'A' : 'B' },
            warnings: [],
            chunks,
            vectors: chunks.map(() => randomVector()),
          },
          new Date(),
        );
      }
    })();
  });
  afterAll(() => {
    store.close();
    tmp.cleanup();
  });

  it('returns the exact 10 nearest of 3,000 random 384-d vectors (recall@10 ≥ 0.98)', () => {
    let overlap = 0;
    for (let q = 0; q < 30; q++) {
      const v = randomVector();
      const exact = new Set(knnExact(db, v, 10).map((n) => n.chunkId));
      overlap += knn(db, v, 10).filter((n) => exact.has(n.chunkId)).length / 10;
    }
    expect(overlap / 30).toBeGreaterThanOrEqual(0.98);
  });

  it('keeps the 240-long list hybrid search fuses close to exact with k + 30 candidates (not 4 × 240)', () => {
    expect(candidateCount(10)).toBe(40);
    expect(candidateCount(240)).toBe(270);
    let overlap = 0;
    for (let q = 0; q < 10; q++) {
      const v = randomVector();
      const exact = new Set(knnExact(db, v, 240).map((n) => n.chunkId));
      const near = knn(db, v, 240);
      expect(near).toHaveLength(240);
      overlap += near.filter((n) => exact.has(n.chunkId)).length / 240;
    }
    expect(overlap / 10).toBeGreaterThanOrEqual(0.98);
  });

  it('searches a filtered library exactly when the filter is narrow, and through the index when it is wide', () => {
    const v = randomVector();
    // One document (100 chunks): its own floats, exactly.
    const docIds = [(db.prepare("SELECT id FROM documents WHERE title = 'doc 7'").pluck().get() as number) ?? -1];
    const narrow = vectorRanking(db, v, 10, { docIds });
    const inDoc = new Set(db.prepare('SELECT id FROM chunks WHERE doc_id = ?').pluck().all(docIds[0]) as number[]);
    const exactInDoc = knnExact(db, v, 3000)
      .filter((n) => inDoc.has(n.chunkId))
      .slice(0, 10);
    expect(narrow.map((r) => r.chunkId)).toEqual(exactInDoc.map((n) => n.chunkId));
    // Half the library (tag line A), through the index (as above 4,096 allowed chunks): every hit allowed, the nearest found.
    const lineA = new Set(
      db
        .prepare(
          "SELECT c.id FROM chunks c JOIN document_tags t ON t.doc_id = c.doc_id WHERE t.key = 'line' AND t.value = 'A'",
        )
        .pluck()
        .all() as number[],
    );
    const wide = vectorRanking(db, v, 50, { tags: { line: 'A' } }, 0);
    expect(wide).toHaveLength(50);
    expect(wide.every((r) => lineA.has(r.chunkId))).toBe(true);
    const exactA = new Set(
      knnExact(db, v, 3000)
        .filter((n) => lineA.has(n.chunkId))
        .slice(0, 50)
        .map((n) => n.chunkId),
    );
    expect(wide.filter((r) => exactA.has(r.chunkId)).length / 50).toBeGreaterThanOrEqual(0.98);
  });

  it('takes the same int8 candidates in memory as sqlite-vec, and sees every change to the vectors', () => {
    const v = randomVector();
    const viaSqliteVec = db
      .prepare(`SELECT rowid FROM ${VECTOR_INDEX_TABLE} WHERE embedding MATCH vec_int8(?) AND k = ?`)
      .pluck()
      .all(quantizeInt8(v), 40) as number[];
    const exact = knnExact(db, v, 10).map((n) => n.chunkId);
    expect(knn(db, v, 10).map((n) => n.chunkId)).toEqual(exact);
    expect(exact.every((id) => viaSqliteVec.includes(id))).toBe(true);
    // A chunk given the query's own vector is found first (same connection, after the index was loaded) …
    const loads = memoryIndexLoads();
    const target = exact[9] as number;
    deleteVectors(db, [target]);
    insertVector(db, BigInt(target), v);
    expect(knn(db, v, 1)[0]?.chunkId).toBe(target);
    // … and no longer once its vector is deleted; both applied to the index in memory, not loaded again.
    deleteVectors(db, [target]);
    expect(knn(db, v, 10).map((n) => n.chunkId)).not.toContain(target);
    expect(memoryIndexLoads()).toBe(loads);
    // An insert whose transaction rolls back is not seen (the index is loaded again).
    expect(() =>
      db.transaction(() => {
        insertVector(db, BigInt(target), v);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    expect(knn(db, v, 10).map((n) => n.chunkId)).not.toContain(target);
    expect(memoryIndexLoads()).toBe(loads + 1);
    // A change committed by another connection (the CLI while the app is open) is seen too.
    const other = openStore(path.join(tmp.dir, 'home'));
    try {
      insertVector(other.db, BigInt(target), v);
    } finally {
      other.close();
    }
    expect(knn(db, v, 1)[0]?.chunkId).toBe(target);
  });

  it('runs the keyword half in a read worker in a large library, with the same results as on this thread', async () => {
    const queryVector = randomVector();
    const embedder: Embedder = {
      id: 'random-384',
      name: 'random',
      dim,
      embedQuery: async () => queryVector,
      embedPassages: async () => [],
      dispose: async () => undefined,
    };
    const deps = { db, getEmbedder: async () => embedder, settings: () => DEFAULT_SETTINGS.search };
    const here = createSearchService({ ...deps, keywordWorkerFromChunks: Infinity });
    const inWorker = createSearchService({ ...deps, keywordWorkerFromChunks: 1000 });
    const ids = (r: Ranking): number[] => r.ranked.map((c) => c.chunk.id);
    try {
      const cases: Array<[string, SearchOptions]> = [
        [`${common}，伺服過載怎麼復位？`, { k: 20, mode: 'keyword' }],
        [`${common}，伺服過載怎麼復位？`, { k: 20, mode: 'hybrid' }],
        ['第 7-42 段 伺服', { k: 20, mode: 'hybrid', filters: { tags: { line: 'A' } } }],
      ];
      for (const [query, opts] of cases) {
        const expected = await here.rank(query, opts);
        expect(expected.ranked.length).toBeGreaterThan(0);
        expect(ids(await inWorker.rank(query, opts))).toEqual(ids(expected));
      }
      expect(here.keywordInWorker).toBe(0);
      expect(inWorker.keywordInWorker).toBe(cases.length);
    } finally {
      await here.close();
      await inWorker.close();
    }
  });

  it('finds the one relevant chunk when the question is made mostly of bigrams every chunk has (pruned query)', () => {
    const q = indexKeywordQuery(db, `${common}，伺服過載怎麼復位？`);
    const ranked = keywordRanking(db, `${common}，伺服過載怎麼復位？`, 5);
    const top = getChunks(db, [ranked[0]?.chunkId ?? -1]);
    expect([...top.values()][0]?.text).toMatch(/伺服馬達過載/);
    // Every bigram of the common sentence is in all 3,000 chunks: none of them is sent to the index.
    expect(q.match).not.toMatch(/操作|机器|说明/);
    expect(q.match).toMatch(/伺服/);
    expect(q.terms).toContain('操作');
    const filtered = keywordRanking(db, `${common}，伺服過載怎麼復位？`, 5, { tags: { line: 'A' } });
    expect(filtered[0]?.chunkId).toBe(ranked[0]?.chunkId);
  });
});
