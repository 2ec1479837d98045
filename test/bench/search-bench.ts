/**
 * Search figures for `npm run bench` (issue 17), printed, never asserted:
 *
 *  - per size (default 10k and 100k chunks): a library of realistic chunks (sentences of the
 *    zh-TW and English eval passages in ../shared/eval) with random 384-d unit vectors;
 *    p50/p95 of keyword, vector, hybrid and filtered hybrid search for eval questions (query
 *    embedding excluded); what each keyword change gains (BM25 with a join → configured `rank`
 *    → common terms pruned); the vector index's recall@10 against an exact float scan;
 *  - side by side with LanceDB (a devDependency, never used by the product) on the same
 *    vectors and queries: its flat scan and its IVF-PQ index, each engine in its own process
 *    (p50/p95, recall@10, ratio, size per 1k chunks, peak RSS);
 *  - recall@10 on real embeddings: eval passages and questions embedded with the first
 *    multilingual model in models/embedding through Fieldbook's embedder (cached between runs).
 *
 * Options (from run.ts): --sizes 10000,100000  --queries 200  --keep DIR (reuse built libraries)
 *                        --real-passages 400  --skip-lancedb  --skip-real
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import type { Embedder } from '../../src-main/core/embed/embedder';
import { discoverEmbeddingModels, loadEmbedder } from '../../src-main/core/embed/embedder';
import { CorpusLine, EvalQueryLine, readJsonl } from '../../src-main/core/eval/eval-kb';
import {
  createSearchService,
  indexKeywordQuery,
  KEYWORD_WORKER_FROM_CHUNKS,
  type SearchFilters,
  type SearchMode,
} from '../../src-main/core/search/search-service';
import { openStore, type Db } from '../../src-main/core/store/db';
import { writeDocument } from '../../src-main/core/store/documents';
import {
  deleteVectors,
  ensureVectorSpace,
  insertVector,
  knn,
  knnExact,
  quantizeInt8,
  VECTOR_INDEX_TABLE,
} from '../../src-main/core/store/vectors';
import { buildKeywordQuery, DEFAULT_TERM_PRUNING } from '../../src-main/core/text/terms';
import { evalDir, repoRoot } from '../support/paths';
import type { PeerRequest, PeerResult } from './vector-peer';

const DIM = 384;
const K = 10;

export interface SearchBenchOptions {
  sizes: number[];
  queries: number;
  keep?: string;
  realPassages: number;
  lancedb: boolean;
  real: boolean;
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

function line(label: string, times: number[], extra = ''): void {
  console.log(
    `${label.padEnd(44)} p50 ${percentile(times, 50).toFixed(1).padStart(7)} ms   p95 ${percentile(times, 95).toFixed(1).padStart(7)} ms${extra}`,
  );
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomUnitVector(rand: () => number): Float32Array {
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    const x = rand() * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIM; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/** Sentences of the zh-TW (drcd-dev) and English (emanual) eval passages. */
export function sentencePool(): string[] {
  const pool: string[] = [];
  for (const set of ['drcd-dev', 'emanual']) {
    const file = path.join(evalDir, set, 'corpus.jsonl');
    if (!fs.existsSync(file)) continue;
    for (const p of readJsonl(file, CorpusLine)) {
      pool.push(...p.text.split(/(?<=[。！？.!?])\s*/).filter((s) => s.length > 10));
    }
  }
  return pool;
}

/** Eval questions, zh-TW and English alternating. */
function evalQuestions(count: number): string[] {
  const sets = ['drcd-dev', 'emanual'].map((set) => {
    const file = path.join(evalDir, set, 'queries.jsonl');
    return fs.existsSync(file) ? readJsonl(file, EvalQueryLine).map((q) => q.question) : [];
  });
  const out: string[] = [];
  for (let i = 0; out.length < count && i < count; i++) {
    for (const set of sets) if (set[i] !== undefined && out.length < count) out.push(set[i] as string);
  }
  return out;
}

function writeRows(file: string, rows: Float32Array[]): void {
  const buf = Buffer.alloc(rows.length * DIM * 4);
  rows.forEach((r, i) => buf.set(new Uint8Array(r.buffer, r.byteOffset, r.byteLength), i * DIM * 4));
  fs.writeFileSync(file, buf);
}

/** A library of `size` chunks in 100-chunk documents: tags line A/B, every tenth document confidential. */
function buildLibrary(db: Db, size: number, pool: string[], vectorOf: (i: number) => Float32Array): void {
  const rand = mulberry32(size);
  const pick = (): string => pool[Math.floor(rand() * pool.length)] as string;
  const perDoc = 100;
  ensureVectorSpace(db, { modelId: 'bench-random-384', dim: DIM });
  db.transaction(() => {
    for (let d = 0; d * perDoc < size; d++) {
      const n = Math.min(perDoc, size - d * perDoc);
      const chunks = Array.from({ length: n }, (_, i) => ({
        ord: i,
        text: `${pick()} ${pick()} ${pick()}`,
        pageStart: 1 + Math.floor(i / 3),
        pageEnd: 1 + Math.floor(i / 3),
        headingPath: [`Section ${i % 7}`],
        boxes: [],
        ocrConfidence: null,
      }));
      writeDocument(
        db,
        {
          sourcePath: `/bench/doc-${d}.pdf`,
          title: `Bench document ${d}`,
          type: 'pdf',
          sha256: String(d),
          sizeBytes: 1,
          pages: 34,
          language: 'mixed',
          sensitivity: d % 10 === 0 ? 'confidential' : 'internal',
          isSafety: false,
          tags: { line: d % 2 ? 'A' : 'B' },
          warnings: [],
          chunks,
          vectors: chunks.map((_, i) => vectorOf(d * perDoc + i)),
        },
        new Date(),
      );
    }
  })();
}

/** Overlap of each result list's first k ids with the exact lists. */
function recallAtK(results: number[][], exact: number[][], k = K): number {
  let sum = 0;
  results.forEach((ids, i) => {
    const truth = new Set((exact[i] ?? []).slice(0, k));
    sum += ids.slice(0, k).filter((id) => truth.has(id)).length / Math.max(1, truth.size);
  });
  return sum / Math.max(1, results.length);
}

/** Recall of the list hybrid search fuses (the nearest `fusionDepth`), on fewer queries (exact scans are slow). */
function deepRecall(db: Db, queries: Float32Array[]): string {
  const depth = DEFAULT_SETTINGS.search.fusionDepth;
  const exact = queries.map((q) => knnExact(db, q, depth).map((n) => n.chunkId));
  const ours = queries.map((q) => knn(db, q, depth).map((n) => n.chunkId));
  return `recall@${depth} (the list hybrid search fuses, ${queries.length} queries): ${recallAtK(ours, exact, depth).toFixed(3)}`;
}

function runPeer(req: PeerRequest, work: string): PeerResult {
  const file = path.join(work, `peer-${req.engine}.json`);
  fs.writeFileSync(file, JSON.stringify(req));
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'test', 'bench', 'vector-peer.ts'), file],
    {
      cwd: repoRoot,
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).toString();
  return JSON.parse(out.trim().split('\n').pop() as string) as PeerResult;
}

async function benchSize(size: number, opts: SearchBenchOptions, pool: string[], questions: string[]): Promise<void> {
  const work = opts.keep
    ? path.join(opts.keep, String(size))
    : fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-s-'));
  fs.mkdirSync(work, { recursive: true });
  const home = path.join(work, 'home');
  const reuse = fs.existsSync(path.join(home, 'fieldbook.db'));
  const rand = mulberry32(size * 7 + 1);
  const vectors = Array.from({ length: size }, () => randomUnitVector(rand));
  const queryVectors = Array.from({ length: opts.queries }, () => randomUnitVector(rand));
  const store = openStore(home);
  const { db } = store;
  const t0 = performance.now();
  if (!reuse) buildLibrary(db, size, pool, (i) => vectors[i] as Float32Array);
  const buildSeconds = (performance.now() - t0) / 1000;
  db.pragma('wal_checkpoint(TRUNCATE)');
  const dbBytes = fs.statSync(path.join(home, 'fieldbook.db')).size;

  let qi = 0;
  // A stand-in embedder returning the precomputed query vectors: query embedding is excluded by design.
  const embedder: Embedder = {
    id: 'bench-random-384',
    name: 'bench',
    dim: DIM,
    embedQuery: async () => queryVectors[qi % queryVectors.length] as Float32Array,
    embedPassages: async () => [],
    dispose: async () => undefined,
  };
  const search = createSearchService({
    db,
    getEmbedder: async () => embedder,
    settings: () => DEFAULT_SETTINGS.search,
  });
  const measure = async (mode: SearchMode, filters?: SearchFilters): Promise<number[]> => {
    await search.rank(questions[0] as string, { k: 8, mode, ...(filters ? { filters } : {}) });
    const times: number[] = [];
    for (qi = 0; qi < questions.length; qi++) {
      const t = performance.now();
      await search.rank(questions[qi] as string, { k: 8, mode, ...(filters ? { filters } : {}) });
      times.push(performance.now() - t);
    }
    return times;
  };
  const sqlTimes = (
    sql: string,
    matchOf: (q: string) => string | null = (q) => buildKeywordQuery(q).match,
  ): number[] => {
    const stmt = db.prepare(sql);
    return questions.map((q) => {
      const match = matchOf(q);
      const t = performance.now();
      if (match) stmt.all(match, DEFAULT_SETTINGS.search.fusionDepth);
      return performance.now() - t;
    });
  };
  const rankSql = 'SELECT rowid AS id FROM chunk_fts WHERE chunk_fts MATCH ? ORDER BY rank LIMIT ?';
  const noBudget = { ...DEFAULT_TERM_PRUNING, maxMatches: Infinity };
  /** Overlap of the keyword top 10 with and without the budget of matching chunks. */
  const budgetOverlap = (): number => {
    const stmt = db.prepare(rankSql).pluck();
    let sum = 0;
    for (const q of questions) {
      const full = indexKeywordQuery(db, q, noBudget).match;
      const cut = indexKeywordQuery(db, q).match;
      if (!full || !cut) continue;
      const truth = new Set((stmt.all(full, K) as number[]).slice(0, K));
      sum += (stmt.all(cut, K) as number[]).filter((id) => truth.has(id)).length / Math.max(1, truth.size);
    }
    return sum / Math.max(1, questions.length);
  };

  console.log(`\n## Search at ${size.toLocaleString('en')} chunks (eval sentences, random ${DIM}-d unit vectors)`);
  console.log(
    `${reuse ? 'reused' : `built in ${buildSeconds.toFixed(1)} s`}; database ${mb(dbBytes)} → ${mb((dbBytes / size) * 1000)} per 1k chunks; ${questions.length} eval questions (zh-TW/English), query embedding excluded`,
  );
  // The first search after opening (or after any change to the vectors) loads the int8 index into memory.
  const tLoad = performance.now();
  knn(db, queryVectors[0] as Float32Array, K);
  console.log(
    `in-memory int8 index loaded in ${(performance.now() - tLoad).toFixed(0)} ms (first search after a change), ${mb(size * DIM)}`,
  );
  const hybrid = await measure('hybrid');
  const tag = await measure('hybrid', { tags: { line: 'A' } });
  const sens = await measure('hybrid', { maxSensitivity: 'internal' });
  line('keyword (pruned terms, configured rank)', await measure('keyword'));
  line('vector (int8 scan + float re-score)', await measure('vector'));
  line('hybrid (RRF)', hybrid);
  line(
    'hybrid + tag filter (half the library)',
    tag,
    `  (${(percentile(tag, 95) / percentile(hybrid, 95)).toFixed(2)}× p95)`,
  );
  line(
    'hybrid + sensitivity ≤ internal',
    sens,
    `  (${(percentile(sens, 95) / percentile(hybrid, 95)).toFixed(2)}× p95)`,
  );
  line('vector + tag filter', await measure('vector', { tags: { line: 'A' } }));
  console.log('keyword steps (all query terms unless pruned):');
  line(
    '  1. bm25() with the chunk/document join',
    sqlTimes(
      `SELECT c.id, bm25(chunk_fts, 1.0, 8.0, 2.0) AS score FROM chunk_fts JOIN chunks c ON c.id = chunk_fts.rowid
       JOIN documents d ON d.id = c.doc_id WHERE chunk_fts MATCH ? AND 1 ORDER BY score LIMIT ?`,
    ),
  );
  line('  2. configured rank, no join', sqlTimes(rankSql));
  line(
    '  3. + common terms pruned',
    sqlTimes(rankSql, (q) => indexKeywordQuery(db, q, noBudget).match),
  );
  line(
    `  4. + at most ${DEFAULT_TERM_PRUNING.maxMatches.toLocaleString('en')} matching chunks`,
    sqlTimes(rankSql, (q) => indexKeywordQuery(db, q).match),
    `  (top 10 as without it: ${budgetOverlap().toFixed(3)})`,
  );
  line('  5. + in the read worker (= keyword above)', await measure('keyword'));
  console.log(
    `keyword statements run in the read worker: ${search.keywordInWorker} (from ${KEYWORD_WORKER_FROM_CHUNKS.toLocaleString('en')} chunks; overlaps the vector half in hybrid)`,
  );

  // Exact float scan: the reference for recall, and the latency an exact search would have.
  const exactTimes: number[] = [];
  const exact = queryVectors.map((q) => {
    const t = performance.now();
    const ids = knnExact(db, q, K).map((n) => n.chunkId);
    exactTimes.push(performance.now() - t);
    return ids;
  });
  line('exact float scan (reference)', exactTimes);
  const ours = queryVectors.map((q) => knn(db, q, K).map((n) => n.chunkId));
  console.log(`vector index recall@10 vs exact: ${recallAtK(ours, exact).toFixed(3)} (random vectors: the worst case)`);
  console.log(`  ${deepRecall(db, queryVectors.slice(0, 50))}`);
  // Re-embedding 1,000 chunks (their vectors deleted and written again, the same ones): the next search
  // applies the 2,000 noted changes to the in-memory index instead of loading it again.
  const changed = Array.from({ length: Math.min(1000, size) }, (_, i) => Math.floor((i * size) / 1000) + 1);
  db.transaction(() => {
    deleteVectors(db, changed);
    for (const id of changed) insertVector(db, BigInt(id), vectors[id - 1] as Float32Array);
  })();
  const tApply = performance.now();
  knn(db, queryVectors[0] as Float32Array, K);
  console.log(
    `first search after re-embedding ${changed.length} chunks: ${(performance.now() - tApply).toFixed(0)} ms`,
  );
  await search.close();
  store.close();

  if (opts.lancedb) {
    const vfile = path.join(work, 'vectors.f32');
    const qfile = path.join(work, 'queries.f32');
    writeRows(vfile, vectors);
    writeRows(qfile, queryVectors);
    const lanceDir = path.join(work, 'lancedb');
    fs.rmSync(lanceDir, { recursive: true, force: true });
    fs.mkdirSync(lanceDir);
    const base = { dim: DIM, queriesFile: qfile, k: K };
    const fb = runPeer({ engine: 'fieldbook', dir: home, ...base }, work);
    const lance = runPeer({ engine: 'lancedb', dir: lanceDir, vectorsFile: vfile, ...base }, work);
    const fbRun = fb.runs[0];
    console.log(`side by side, vector top-${K}, each engine in its own process, same vectors and queries:`);
    for (const r of [...fb.runs, ...lance.runs]) {
      const ratio = fbRun
        ? `, ${(percentile(r.times, 50) / percentile(fbRun.times, 50)).toFixed(2)}× Fieldbook p50`
        : '';
      line(`  ${r.label}`, r.times, `  recall@10 ${recallAtK(r.ids, exact).toFixed(3)}${ratio}`);
    }
    console.log(
      `  size per 1k chunks: Fieldbook ${mb((dbBytes / size) * 1000)} (text, keyword index, floats, int8 index); ` +
        `LanceDB ${mb((lance.diskBytes / size) * 1000)} (vectors + IVF-PQ only, built in ${lance.buildSeconds.toFixed(1)} s)`,
    );
    console.log(`  peak RSS: Fieldbook ${mb(fb.peakRssBytes)}; LanceDB ${mb(lance.peakRssBytes)} (whole process each)`);
    if (!opts.keep) fs.rmSync(lanceDir, { recursive: true, force: true });
  }
  if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
}

/**
 * Recall on real embeddings: eval passages and questions embedded by the first multilingual
 * model found (else the first model), through Fieldbook's embedder; vectors cached in the OS
 * temp folder so a second run does not embed again.
 */
async function benchRealEmbeddings(opts: SearchBenchOptions): Promise<void> {
  const { models } = discoverEmbeddingModels([path.join(repoRoot, 'models', 'embedding')]);
  const model = models.find((m) => /multilingual/i.test(m.name)) ?? models[0];
  console.log('\n## Vector index recall@10 on real embeddings');
  if (!model) {
    console.log('pending: no model in models/embedding (run `npm run models:fetch`)');
    return;
  }
  const passages: string[] = [];
  for (const set of ['drcd-dev', 'emanual', 'mtrag-cloud']) {
    const file = path.join(evalDir, set, 'corpus.jsonl');
    if (fs.existsSync(file))
      passages.push(...readJsonl(file, CorpusLine).map((p) => `${p.title}\n${p.text}`.slice(0, 600)));
  }
  const texts = passages.slice(0, opts.realPassages);
  const questions = evalQuestions(Math.max(20, Math.round(texts.length / 10)));
  const cache = path.join(os.tmpdir(), `fieldbook-bench-real-${model.name}-${texts.length}-${questions.length}.f32`);
  let rows: Float32Array[];
  if (fs.existsSync(cache)) {
    const buf = fs.readFileSync(cache);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    rows = Array.from({ length: all.length / DIM }, (_, i) => all.slice(i * DIM, (i + 1) * DIM));
  } else {
    const embedder = await loadEmbedder(model, `${model.name}@bench`);
    if (embedder.dim !== DIM) {
      console.log(`skipped: ${model.name} is ${embedder.dim}-d (this bench writes ${DIM}-d rows)`);
      await embedder.dispose();
      return;
    }
    const t0 = performance.now();
    let shown = 0;
    rows = await embedder.embedPassages(texts, (done, total) => {
      if (done - shown >= 500 || done === total) {
        shown = done;
        process.stdout.write(`embedding ${done}/${total}…\n`);
      }
    });
    for (const q of questions) rows.push(await embedder.embedQuery(q));
    console.log(
      `embedded ${texts.length} passages + ${questions.length} questions in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    await embedder.dispose();
    writeRows(cache, rows);
  }
  const passageVectors = rows.slice(0, texts.length);
  const queryVectors = rows.slice(texts.length);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-real-'));
  const store = openStore(work);
  try {
    buildLibrary(store.db, passageVectors.length, texts, (i) => passageVectors[i] as Float32Array);
    const exact = queryVectors.map((q) => knnExact(store.db, q, K).map((n) => n.chunkId));
    const ours = queryVectors.map((q) => knn(store.db, q, K).map((n) => n.chunkId));
    // The int8 order alone (no float re-scoring): how faithful the quantisation is on real vectors.
    const int8Only = store.db
      .prepare(`SELECT rowid FROM ${VECTOR_INDEX_TABLE} WHERE embedding MATCH vec_int8(?) AND k = ?`)
      .pluck();
    const raw = queryVectors.map((q) => int8Only.all(quantizeInt8(q), K) as number[]);
    console.log(
      `${model.name}: ${passageVectors.length} eval passages (zh-TW, English), ${queryVectors.length} eval questions: ` +
        `recall@10 vs exact ${recallAtK(ours, exact).toFixed(3)} (int8 order alone, no re-scoring: ${recallAtK(raw, exact).toFixed(3)}); ` +
        deepRecall(store.db, queryVectors),
    );
  } finally {
    store.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function benchSearch(opts: SearchBenchOptions): Promise<void> {
  const pool = sentencePool();
  const questions = evalQuestions(opts.queries);
  if (pool.length === 0 || questions.length === 0) {
    console.log('\n## Search: skipped (../shared/eval not found)');
    return;
  }
  if (opts.real) await benchRealEmbeddings(opts);
  for (const size of opts.sizes) await benchSize(size, opts, pool, questions);
}
