/**
 * Keyword (FTS5 BM25), vector (sqlite-vec KNN) and hybrid (reciprocal rank fusion)
 * search over chunks, with filters on tags, type, language, document and sensitivity.
 */
import type { SearchSettings } from '../config';
import type { Embedder } from '../embed/embedder';
import type { Box, DocType } from '../domain';
import type { Db } from '../store/db';
import { chunkContext, getChunks, SENSITIVITY_LEVELS, type ChunkRecord, type Sensitivity } from '../store/documents';
import { candidateCount, currentVectorSpace, knn, knnOrNull } from '../store/vectors';
import { createReadWorker, type ReadWorker } from '../store/read-worker';
import { makeSnippet } from '../text/snippet';
import {
  buildKeywordQuery,
  DEFAULT_TERM_PRUNING,
  extractCodes,
  pruneCommonTerms,
  type KeywordQuery,
  type TermPruning,
} from '../text/terms';
import { chunkCount, idfOf, termMatches } from './term-stats';

export type SearchMode = 'keyword' | 'vector' | 'hybrid';

export interface SearchFilters {
  tags?: Record<string, string>;
  docIds?: number[];
  types?: DocType[];
  languages?: string[];
  /** Highest sensitivity label the caller may see. */
  maxSensitivity?: Sensitivity;
  /** Only documents marked as safety rules. */
  safetyOnly?: boolean;
}

export interface SearchHit {
  rank: number;
  chunkId: number;
  docId: number;
  docTitle: string;
  docType: DocType;
  sourcePath: string;
  docVersion: number;
  sensitivity: Sensitivity;
  isSafety: boolean;
  pageStart: number | null;
  pageEnd: number | null;
  headingPath: string[];
  text: string;
  snippet: string;
  highlights: Array<[number, number]>;
  boxes: Box[];
  exactCodeMatch: boolean;
  /** Set when the passage was read by OCR (confidence 0–100). */
  ocrConfidence: number | null;
  scores: { keyword?: number; vector?: number; fused: number };
}

export interface SearchResponse {
  query: string;
  requestedMode: SearchMode;
  mode: SearchMode;
  /** Set when the requested mode could not run as asked (e.g. no embedding model). */
  notice?: string;
  hits: SearchHit[];
}

export interface SearchOptions {
  k?: number;
  mode?: SearchMode;
  filters?: SearchFilters;
}

export interface SearchService {
  /** Ranked chunks without snippets (evaluation, answer assembly). */
  rank(query: string, opts?: SearchOptions): Promise<Ranking>;
  /** Ranked chunks as hits with highlighted snippets (UI, CLI). */
  search(query: string, opts?: SearchOptions): Promise<SearchResponse>;
  /** Keyword searches that ran in the read worker (see `keywordWorkerFromChunks`). */
  readonly keywordInWorker: number;
  close(): Promise<void>;
}

interface Ranked {
  chunkId: number;
  score: number;
}

/** SQL conditions over `d` (documents) and `c` (chunks) for the filters. */
function filterSql(filters: SearchFilters | undefined): { sql: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (!filters) return { sql: '1', params };
  if (filters.maxSensitivity) {
    const allowed = SENSITIVITY_LEVELS.slice(0, SENSITIVITY_LEVELS.indexOf(filters.maxSensitivity) + 1);
    conds.push(`d.sensitivity IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(allowed));
  }
  if (filters.docIds?.length) {
    conds.push('d.id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filters.docIds));
  }
  if (filters.types?.length) {
    conds.push('d.type IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filters.types));
  }
  if (filters.languages?.length) {
    conds.push('d.language IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filters.languages));
  }
  if (filters.safetyOnly) conds.push('d.is_safety = 1');
  for (const [key, value] of Object.entries(filters.tags ?? {})) {
    conds.push('EXISTS (SELECT 1 FROM document_tags t WHERE t.doc_id = d.id AND t.key = ? AND t.value = ?)');
    params.push(key, value);
  }
  return { sql: conds.length ? conds.join(' AND ') : '1', params };
}

function hasFilters(f: SearchFilters | undefined): boolean {
  return f !== undefined && filterSql(f).sql !== '1';
}

/** Below this many chunks every query term is kept (pruning is for speed, and small libraries are fast anyway). */
const PRUNE_FROM_CHUNKS = 1000;

/**
 * The keyword query for the index: common terms pruned by their idf in this library, and the
 * kept ones within a budget of matching chunks (see `pruneCommonTerms`).
 */
export function indexKeywordQuery(db: Db, query: string, limits: TermPruning = DEFAULT_TERM_PRUNING): KeywordQuery {
  return buildKeywordQuery(query, (terms) => {
    const chunks = chunkCount(db);
    if (chunks < PRUNE_FROM_CHUNKS) return terms;
    const matches = termMatches(db, terms);
    return pruneCommonTerms(terms, idfOf(chunks, matches), limits, matches);
  });
}

/** A keyword search as one read-only statement, or null when the query has no searchable term. */
interface KeywordStatement {
  sql: string;
  params: unknown[];
}

function keywordStatement(db: Db, query: string, limit: number, filters?: SearchFilters): KeywordStatement | null {
  const q = indexKeywordQuery(db, query);
  if (!q.match) return null;
  // `rank` is the index's configured BM25 (migration 15): FTS5 orders by it before any join.
  if (!hasFilters(filters)) {
    return {
      sql: 'SELECT rowid AS id, rank AS score FROM chunk_fts WHERE chunk_fts MATCH ? ORDER BY rank LIMIT ?',
      params: [q.match, limit],
    };
  }
  const f = filterSql(filters);
  return {
    sql: `SELECT c.id AS id, chunk_fts.rank AS score
          FROM chunk_fts JOIN chunks c ON c.id = chunk_fts.rowid JOIN documents d ON d.id = c.doc_id
          WHERE chunk_fts MATCH ? AND ${f.sql}
          ORDER BY chunk_fts.rank LIMIT ?`,
    params: [q.match, ...f.params, limit],
  };
}

type KeywordRow = { id: number; score: number };

const keywordRanked = (rows: KeywordRow[]): Ranked[] => rows.map((r) => ({ chunkId: r.id, score: -r.score }));

/** Run a keyword statement on this thread. */
const keywordRankedHere = (db: Db, st: KeywordStatement): Ranked[] =>
  keywordRanked(db.prepare(st.sql).all(...st.params) as KeywordRow[]);

export function keywordRanking(db: Db, query: string, limit: number, filters?: SearchFilters): Ranked[] {
  const st = keywordStatement(db, query, limit, filters);
  return st ? keywordRankedHere(db, st) : [];
}

/** A filter that leaves at most this many chunks is searched exactly on their floats, without the index. */
const EXACT_FILTERED_MAX_CHUNKS = 4096;

/** Chunks in the documents a filter allows (`null`: every document), from each document's last `ord` (one index seek each). */
function chunksAllowed(db: Db, f: { sql: string; params: unknown[] } | null): number {
  const row = db
    .prepare(
      `SELECT COALESCE(SUM((SELECT MAX(c.ord) + 1 FROM chunks c WHERE c.doc_id = d.id)), 0) AS n FROM documents d WHERE ${f ? f.sql : '1'}`,
    )
    .get(...(f ? f.params : [])) as { n: number };
  return row.n;
}

/** Exact nearest chunks among those the filter allows: every allowed float vector scanned. */
function filteredExact(db: Db, vector: Float32Array, limit: number, f: { sql: string; params: unknown[] }): Ranked[] {
  const rows = db
    .prepare(
      `SELECT c.id AS id, vec_distance_cosine(v.embedding, ?) AS distance
       FROM documents d JOIN chunks c ON c.doc_id = d.id JOIN chunk_vectors v ON v.chunk_id = c.id
       WHERE ${f.sql} ORDER BY distance LIMIT ?`,
    )
    .all(Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength), ...f.params, limit) as Array<{
    id: number;
    distance: number;
  }>;
  return rows.map((r) => ({ chunkId: r.id, score: 1 - r.distance }));
}

export function vectorRanking(
  db: Db,
  vector: Float32Array,
  limit: number,
  filters?: SearchFilters,
  exactMaxChunks = EXACT_FILTERED_MAX_CHUNKS,
): Ranked[] {
  const toRanked = (near: Array<{ chunkId: number; distance: number }>): Ranked[] =>
    near.slice(0, limit).map((n) => ({ chunkId: n.chunkId, score: 1 - n.distance }));
  if (!hasFilters(filters)) return toRanked(knn(db, vector, limit));
  const f = filterSql(filters);
  const allowed = chunksAllowed(db, f);
  if (allowed === 0) return [];
  // A narrow filter: its own chunks, exactly (cheaper than an index pass deep enough to find them).
  if (allowed <= exactMaxChunks) return filteredExact(db, vector, limit, f);
  // A wide one: the index's nearest, filtered before re-scoring; as many as the filter's share needs, more if short.
  const total = Math.max(allowed, chunksAllowed(db, null));
  const allow = (ids: number[]): ReadonlySet<number> =>
    new Set(
      (
        db
          .prepare(
            `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id
             WHERE c.id IN (SELECT value FROM json_each(?)) AND ${f.sql}`,
          )
          .all(JSON.stringify(ids), ...f.params) as Array<{ id: number }>
      ).map((r) => r.id),
    );
  let candidates = candidateCount(Math.ceil((limit * total * 1.1) / allowed) + 10);
  for (;;) {
    if (candidates >= total) return filteredExact(db, vector, limit, f);
    const near = knnOrNull(db, vector, limit, { candidates, allow });
    if (!near) return filteredExact(db, vector, limit, f);
    if (near.length >= limit) return toRanked(near);
    candidates *= 2;
  }
}

/** Reciprocal rank fusion of ranked lists with per-list weights. */
export function fuseRankings(lists: Array<{ ranked: Ranked[]; weight: number }>, rrfK: number): Map<number, number> {
  const fused = new Map<number, number>();
  for (const { ranked, weight } of lists) {
    ranked.forEach((r, i) => fused.set(r.chunkId, (fused.get(r.chunkId) ?? 0) + weight / (rrfK + i + 1)));
  }
  return fused;
}

interface DocRow {
  id: number;
  title: string;
  type: DocType;
  source_path: string;
  version: number;
  sensitivity: Sensitivity;
  is_safety: number;
}

/** A ranked chunk before snippets are cut (what evaluation and answer assembly need). */
export interface RankedChunk {
  chunk: ChunkRecord;
  doc: DocRow;
  exactCodeMatch: boolean;
  scores: SearchHit['scores'];
}

export interface Ranking {
  requestedMode: SearchMode;
  mode: SearchMode;
  notice?: string;
  ranked: RankedChunk[];
}

/**
 * From this many chunks, hybrid and keyword searches run the keyword statement in a read worker
 * (`store/read-worker.ts`), overlapping the query embedding and the vector scan on this thread;
 * below it the keyword half takes a few milliseconds and runs here.
 */
export const KEYWORD_WORKER_FROM_CHUNKS = 50_000;

export function createSearchService(deps: {
  db: Db;
  getEmbedder: () => Promise<Embedder | null>;
  settings: () => SearchSettings;
  /** Override of `KEYWORD_WORKER_FROM_CHUNKS` (tests). */
  keywordWorkerFromChunks?: number;
}): SearchService {
  const { db } = deps;
  const workerFrom = deps.keywordWorkerFromChunks ?? KEYWORD_WORKER_FROM_CHUNKS;
  let reader: ReadWorker | null = null;

  /** The keyword ranking, from the read worker in a large library (this thread if the worker fails). */
  function keywordRankingSoon(query: string, limit: number, filters?: SearchFilters): Promise<Ranked[]> {
    const st = keywordStatement(db, query, limit, filters);
    if (!st) return Promise.resolve([]);
    if (db.memory || chunkCount(db) < workerFrom) return Promise.resolve(keywordRankedHere(db, st));
    reader ??= createReadWorker(db.name);
    return reader.all<KeywordRow>(st.sql, st.params).then(keywordRanked, () => keywordRankedHere(db, st));
  }

  async function rank(query: string, opts: SearchOptions = {}): Promise<Ranking> {
    const settings = deps.settings();
    const k = Math.max(1, Math.min(opts.k ?? settings.topK, 200));
    const requestedMode = opts.mode ?? 'hybrid';
    let mode = requestedMode;
    let notice: string | undefined;
    let embedder: Embedder | null = null;
    if (mode !== 'keyword') {
      embedder = await deps.getEmbedder();
      const space = currentVectorSpace(db);
      if (!embedder || !space || space.modelId !== embedder.id) {
        notice = embedder
          ? 'Vectors are not built for the active embedding model yet: keyword-only search.'
          : 'No embedding model installed: keyword-only search.';
        mode = 'keyword';
        embedder = null;
      }
    }
    const depth = mode === 'hybrid' ? Math.max(k, settings.fusionDepth) : k;
    // The keyword half first: in a large library it runs in the read worker during the vector half.
    const keywordSoon = mode !== 'vector' ? keywordRankingSoon(query, depth, opts.filters) : Promise.resolve([]);
    // Awaited below; a failure of the vector half must not leave it unhandled.
    keywordSoon.catch(() => undefined);
    const vector =
      embedder && mode !== 'keyword' ? vectorRanking(db, await embedder.embedQuery(query), depth, opts.filters) : [];
    const keyword = await keywordSoon;
    const queryCodes = new Set(extractCodes(query));
    const fused =
      mode === 'hybrid'
        ? fuseRankings(
            [
              { ranked: keyword, weight: settings.keywordWeight },
              { ranked: vector, weight: 1 },
            ],
            settings.rrfK,
          )
        : new Map((mode === 'keyword' ? keyword : vector).map((r) => [r.chunkId, r.score]));
    // Chunk rows are read for the top k only (hundreds of fused candidates cost more than the
    // searches), except when the query names a code: its exact hits are boosted first.
    const codeBoost = mode === 'hybrid' && queryCodes.size > 0;
    const byScore = (m: Map<number, number>): number[] =>
      [...m.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
    const chunks = getChunks(db, codeBoost ? [...fused.keys()] : byScore(fused).slice(0, k));
    const docIds = [...new Set([...chunks.values()].map((c) => c.docId))];
    const docs = new Map(
      (
        db
          .prepare(
            'SELECT id, title, type, source_path, version, sensitivity, is_safety FROM documents WHERE id IN (SELECT value FROM json_each(?))',
          )
          .all(JSON.stringify(docIds)) as DocRow[]
      ).map((d) => [d.id, d]),
    );
    const codeHit = (chunkId: number): boolean => {
      if (queryCodes.size === 0) return false;
      const c = chunks.get(chunkId);
      const d = c ? docs.get(c.docId) : undefined;
      if (!c || !d) return false;
      return extractCodes(`${chunkContext(d.title, c.headingPath)}\n${c.text}`).some((code) => queryCodes.has(code));
    };
    if (codeBoost) {
      // An exact code or part-number hit counts as if it were ranked first in one more list.
      for (const id of fused.keys()) if (codeHit(id)) fused.set(id, (fused.get(id) ?? 0) + 1 / (settings.rrfK + 1));
    }
    const kwScore = new Map(keyword.map((r) => [r.chunkId, r.score]));
    const vecScore = new Map(vector.map((r) => [r.chunkId, r.score]));
    const ranked: RankedChunk[] = [];
    for (const chunkId of byScore(fused).slice(0, k)) {
      const score = fused.get(chunkId) ?? 0;
      const chunk = chunks.get(chunkId);
      const doc = chunk ? docs.get(chunk.docId) : undefined;
      if (!chunk || !doc) continue;
      const scores: SearchHit['scores'] = { fused: score };
      const kw = kwScore.get(chunkId);
      const vs = vecScore.get(chunkId);
      if (kw !== undefined) scores.keyword = kw;
      if (vs !== undefined) scores.vector = vs;
      ranked.push({ chunk, doc, exactCodeMatch: codeHit(chunkId), scores });
    }
    const ranking: Ranking = { requestedMode, mode, ranked };
    if (notice) ranking.notice = notice;
    return ranking;
  }

  return {
    rank,
    get keywordInWorker() {
      return reader?.answered ?? 0;
    },
    async close() {
      await reader?.close();
      reader = null;
    },
    async search(query, opts = {}) {
      const ranking = await rank(query, opts);
      const terms = buildKeywordQuery(query).terms;
      const hits = ranking.ranked.map(({ chunk: c, doc: d, exactCodeMatch, scores }, i): SearchHit => {
        const snip = makeSnippet(c.text, terms);
        return {
          rank: i + 1,
          chunkId: c.id,
          docId: d.id,
          docTitle: d.title,
          docType: d.type,
          sourcePath: d.source_path,
          docVersion: d.version,
          sensitivity: d.sensitivity,
          isSafety: d.is_safety === 1,
          pageStart: c.pageStart,
          pageEnd: c.pageEnd,
          headingPath: c.headingPath,
          text: c.text,
          snippet: snip.text,
          highlights: snip.highlights,
          boxes: c.boxes,
          exactCodeMatch,
          ocrConfidence: c.ocrConfidence,
          scores,
        };
      });
      const response: SearchResponse = { query, requestedMode: ranking.requestedMode, mode: ranking.mode, hits };
      if (ranking.notice) response.notice = ranking.notice;
      return response;
    },
  };
}
