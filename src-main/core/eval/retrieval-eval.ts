/**
 * `fieldbook eval retrieval`: ingest an evaluation corpus into a throwaway data
 * directory through the normal pipeline (files → parser processes → chunks → index),
 * run every query in each search mode and score the ranked passages.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { ChunkSettings, SearchSettings } from '../config';
import { FieldbookError } from '../errors';
import { openFieldbook } from '../fieldbook';
import type { SearchMode } from '../search/search-service';
import { storeStats } from '../store/documents';
import { ScoreAccumulator, type RetrievalScores } from './metrics';

const CorpusLine = z.object({ id: z.string(), title: z.string().default(''), text: z.string() });
const HistoryTurn = z.object({ speaker: z.string(), text: z.string() });
export const EvalQueryLine = z.object({
  id: z.string(),
  question: z.string(),
  gold_ids: z.array(z.string()),
  answers: z.array(z.string()).default([]),
  history: z.array(HistoryTurn).optional(),
  lang: z.string().optional(),
  language: z.string().optional(),
});
export type EvalQuery = z.infer<typeof EvalQueryLine>;

/** Read a JSONL file, validating each line; errors name the file and line. */
export function readJsonl<T>(file: string, schema: z.ZodType<T>): T[] {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FieldbookError('PATH_NOT_FOUND', { file });
  }
  const out: T[] = [];
  raw.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new FieldbookError('INVALID_INPUT', { file, detail: `line ${i + 1}: ${(err as Error).message}` });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new FieldbookError('INVALID_INPUT', {
        file,
        detail: `line ${i + 1}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      });
    }
    out.push(parsed.data);
  });
  return out;
}

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
  const corpus = readJsonl(opts.corpusFile, CorpusLine);
  let queries = readJsonl(opts.queriesFile, EvalQueryLine);
  if (opts.limit) queries = queries.slice(0, opts.limit);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-eval-'));
  const docsDir = path.join(work, 'corpus');
  fs.mkdirSync(docsDir);
  const idByPath = new Map<string, string>();
  corpus.forEach((p, i) => {
    const file = path.join(docsDir, `${String(i).padStart(6, '0')}.md`);
    const title = p.title.replace(/\s+/g, ' ').trim();
    fs.writeFileSync(file, title ? `# ${title}\n\n${p.text}\n` : `${p.text}\n`);
    idByPath.set(file, p.id);
  });
  const modelRoots = opts.embeddingModelDir ? [path.dirname(path.resolve(opts.embeddingModelDir))] : [];
  const fb = openFieldbook({ home: path.join(work, 'home'), embeddingModelRoots: modelRoots });
  try {
    if (opts.chunk) fb.updateSettings({ chunk: opts.chunk });
    if (opts.search) fb.updateSettings({ search: opts.search });
    if (opts.embeddingModelDir) await fb.useEmbeddingModel(path.basename(path.resolve(opts.embeddingModelDir)));
    opts.onProgress?.(`Ingesting ${corpus.length} passages…`);
    const t0 = performance.now();
    const report = await fb.ingest.ingest([docsDir]);
    const ingestSeconds = (performance.now() - t0) / 1000;
    const stats = storeStats(fb.db);
    const embedder = await fb.embedder();
    const result: RetrievalEvalReport = {
      modes: {},
      skipped: {},
      corpus: {
        passages: corpus.length,
        chunks: stats.chunks,
        failed: report.counts.failed,
        ingestSeconds: round(ingestSeconds),
      },
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
      const all = new ScoreAccumulator();
      const byLang = new Map<string, ScoreAccumulator>();
      const q0 = performance.now();
      for (const q of queries) {
        // Rank enough chunks to fill ten distinct passages.
        const ranking = await fb.search.rank(retrievalQuestion(q, opts.historyTurns ?? 0), { k: 60, mode });
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
      result.querySeconds[mode] = round((performance.now() - q0) / 1000);
      const scores: RetrievalScores & { byLanguage?: Record<string, RetrievalScores> } = all.result();
      if (byLang.size) scores.byLanguage = Object.fromEntries([...byLang].map(([l, acc]) => [l, acc.result()]));
      result.modes[mode] = scores;
    }
    return result;
  } finally {
    await fb.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
