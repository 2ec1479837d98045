/**
 * `fieldbook eval retrieval`: ingest an evaluation corpus into a throwaway data
 * directory through the normal pipeline (files → parser processes → chunks → index),
 * run every query in each search mode and score the ranked passages.
 */
import type { ChunkSettings, SearchSettings } from '../config';
import type { Fieldbook } from '../fieldbook';
import type { SearchMode } from '../search/search-service';
import { EvalQueryLine, readJsonl, withEvalKb, type EvalQuery } from './eval-kb';
import { ScoreAccumulator, type RetrievalScores } from './metrics';

export interface RetrievalEvalOptions {
  corpusFile: string;
  queriesFile: string;
  /** Embedding model folder for vector and hybrid modes. */
  embeddingModelDir?: string;
  /** Evaluate only the first N queries. */
  limit?: number;
  /** Prepend the previous user turns of multi-turn queries to the question. */
  historyTurns?: number;
  chunk?: Partial<ChunkSettings>;
  search?: Partial<SearchSettings>;
  onProgress?: (message: string) => void;
}

export interface RetrievalEvalReport {
  modes: Partial<Record<SearchMode, RetrievalScores & { byLanguage?: Record<string, RetrievalScores> }>>;
  skipped: Partial<Record<SearchMode, string>>;
  corpus: { passages: number; chunks: number; failed: number; ingestSeconds: number };
  settings: { chunk: ChunkSettings; search: SearchSettings; embeddingModel: string | null };
  querySeconds: Partial<Record<SearchMode, number>>;
}

/** Question text used for retrieval: optionally the last user turns, then the question. */
export function retrievalQuestion(q: EvalQuery, historyTurns: number): string {
  if (!historyTurns || !q.history?.length) return q.question;
  const userTurns = q.history
    .filter((t) => t.speaker === 'user')
    .slice(-historyTurns)
    .map((t) => t.text);
  return [...userTurns, q.question].join('\n');
}

export async function runRetrievalEval(opts: RetrievalEvalOptions): Promise<RetrievalEvalReport> {
  let queries = readJsonl(opts.queriesFile, EvalQueryLine);
  if (opts.limit) queries = queries.slice(0, opts.limit);
  return withEvalKb(opts, async ({ fb, idByPath, corpus }) => {
    const embedder = await fb.embedder();
    const result: RetrievalEvalReport = {
      modes: {},
      skipped: {},
      corpus,
      settings: { chunk: fb.settings().chunk, search: fb.settings().search, embeddingModel: embedder?.id ?? null },
      querySeconds: {},
    };
    for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
      if (mode !== 'keyword' && !embedder) {
        result.skipped[mode] = opts.embeddingModelDir
          ? `embedding model could not be loaded: ${(await fb.embeddingStatus()).problem ?? 'unknown error'}`
          : 'no embedding model given (--embedding-model DIR)';
        continue;
      }
      opts.onProgress?.(`Scoring ${queries.length} queries, ${mode}…`);
      const q0 = performance.now();
      const scores = await scoreRetrieval(fb, idByPath, queries, mode, opts.historyTurns ?? 0);
      result.querySeconds[mode] = round((performance.now() - q0) / 1000);
      result.modes[mode] = scores;
    }
    return result;
  });
}

/** Score every query in one search mode against a built evaluation knowledge base. */
export async function scoreRetrieval(
  fb: Fieldbook,
  idByPath: ReadonlyMap<string, string>,
  queries: EvalQuery[],
  mode: SearchMode,
  historyTurns: number,
): Promise<RetrievalScores & { byLanguage?: Record<string, RetrievalScores> }> {
  const all = new ScoreAccumulator();
  const byLang = new Map<string, ScoreAccumulator>();
  for (const q of queries) {
    // Rank enough chunks to fill ten distinct passages.
    const ranking = await fb.search.rank(retrievalQuestion(q, historyTurns), { k: 60, mode });
    const ids: string[] = [];
    for (const r of ranking.ranked) {
      const id = idByPath.get(r.doc.source_path);
      if (id && !ids.includes(id)) ids.push(id);
      if (ids.length >= 10) break;
    }
    const gold = new Set(q.gold_ids);
    all.add(ids, gold);
    const lang = q.lang ?? q.language;
    if (lang) {
      if (!byLang.has(lang)) byLang.set(lang, new ScoreAccumulator());
      byLang.get(lang)?.add(ids, gold);
    }
  }
  const scores: RetrievalScores & { byLanguage?: Record<string, RetrievalScores> } = all.result();
  if (byLang.size) scores.byLanguage = Object.fromEntries([...byLang].map(([l, acc]) => [l, acc.result()]));
  return scores;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
