/**
 * Vector and hybrid search with a generated tiny ONNX model run by transformers.js
 * (remote loading disabled): approval by SHA-256, embedding at ingest, KNN, hybrid fusion,
 * re-embedding on model change, and refusal of a model whose weights changed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { storeStats } from '../../src-main/core/store/documents';
import { currentVectorSpace, knn, knnExact } from '../../src-main/core/store/vectors';
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

  it('finds neighbours by vector, and the binary first pass agrees with exact search on a small set', async () => {
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
