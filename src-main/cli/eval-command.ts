/** `fieldbook eval retrieval …` — retrieval quality on a JSONL corpus and query set. */
import { parseArgs } from 'node:util';
import { runAnswerEval, type AnswerEvalOptions } from '../core/eval/answer-eval';
import { runRetrievalEval, type RetrievalEvalOptions, type RetrievalEvalReport } from '../core/eval/retrieval-eval';
import { bold, dim, type Output } from './format';

export class EvalUsageError extends Error {}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new EvalUsageError(`${name} must be a non-negative number`);
  return n;
}

export function formatRetrievalTable(report: RetrievalEvalReport): string[] {
  const cols = ['recall@1', 'recall@5', 'recall@10', 'mrr@10', 'ndcg@10', 'queries'] as const;
  const lines = [`${'mode'.padEnd(9)}${cols.map((c) => c.padStart(11)).join('')}`];
  for (const [mode, s] of Object.entries(report.modes)) {
    lines.push(`${mode.padEnd(9)}${cols.map((c) => String(s[c]).padStart(11)).join('')}`);
    for (const [lang, ls] of Object.entries(s.byLanguage ?? {})) {
      lines.push(`  ${lang.padEnd(7)}${cols.map((c) => String(ls[c]).padStart(11)).join('')}`);
    }
  }
  for (const [mode, why] of Object.entries(report.skipped)) lines.push(`${mode.padEnd(9)}skipped: ${why}`);
  return lines;
}

async function cmdEvalAnswers(rest: string[], o: Output, json: boolean): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    options: {
      corpus: { type: 'string' },
      queries: { type: 'string' },
      unanswerable: { type: 'string' },
      'embedding-model': { type: 'string' },
      llm: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  if (!values.corpus || !values.queries)
    throw new EvalUsageError('eval answers needs --corpus FILE and --queries FILE');
  const opts: AnswerEvalOptions = { corpusFile: values.corpus, queriesFile: values.queries };
  if (values.unanswerable) opts.unanswerableFile = values.unanswerable;
  if (values['embedding-model']) opts.embeddingModelDir = values['embedding-model'];
  if (values.llm) opts.llmModelFile = values.llm;
  const limit = num('--limit', values.limit);
  if (limit) opts.limit = limit;
  if (!json) opts.onProgress = (m) => o.err(dim(o, m));
  const r = await runAnswerEval(opts);
  if (json) {
    o.out(JSON.stringify(r));
    return 0;
  }
  const a = r.answerable;
  o.out(bold(o, `Answers on ${r.corpus.passages} passages, ${a.questions} questions`));
  o.out(
    `modes: ${Object.entries(r.modes)
      .map(([m, n]) => `${m} ${n}`)
      .join(', ')}`,
  );
  o.out(`cited passage contains a gold answer: ${a.citedPassageHasGold}`);
  o.out(`citation precision (cites a gold passage): ${a.citationPrecision}`);
  o.out(`answer text contains a gold answer: ${a.answerHasGold}`);
  o.out(`"not found" on answerable questions: ${a.notFound}; needs review: ${a.needsReview}`);
  if (r.unanswerable)
    o.out(`"not found" on ${r.unanswerable.questions} unanswerable questions: ${r.unanswerable.notFound}`);
  const ttft = r.timing.meanTimeToFirstTokenMs;
  o.out(`mean time per question: ${r.timing.meanTotalMs} ms${ttft !== null ? `, first token ${ttft} ms` : ''}`);
  return 0;
}

export async function cmdEval(args: string[], o: Output, json: boolean): Promise<number> {
  const [kind, ...rest] = args;
  if (kind === 'answers') return cmdEvalAnswers(rest, o, json);
  if (kind !== 'retrieval') {
    throw new EvalUsageError('usage: fieldbook eval retrieval|answers --corpus corpus.jsonl --queries queries.jsonl');
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      corpus: { type: 'string' },
      queries: { type: 'string' },
      'embedding-model': { type: 'string' },
      limit: { type: 'string' },
      history: { type: 'string' },
      'chunk-size': { type: 'string' },
      'chunk-overlap': { type: 'string' },
      'rrf-k': { type: 'string' },
      'keyword-weight': { type: 'string' },
    },
  });
  if (!values.corpus || !values.queries)
    throw new EvalUsageError('eval retrieval needs --corpus FILE and --queries FILE');
  const opts: RetrievalEvalOptions = { corpusFile: values.corpus, queriesFile: values.queries };
  if (values['embedding-model']) opts.embeddingModelDir = values['embedding-model'];
  const limit = num('--limit', values.limit);
  if (limit) opts.limit = limit;
  const history = num('--history', values.history);
  if (history) opts.historyTurns = history;
  const chunkSize = num('--chunk-size', values['chunk-size']);
  const chunkOverlap = num('--chunk-overlap', values['chunk-overlap']);
  if (chunkSize !== undefined || chunkOverlap !== undefined) {
    opts.chunk = {};
    if (chunkSize !== undefined) opts.chunk.chunkSize = chunkSize;
    if (chunkOverlap !== undefined) opts.chunk.chunkOverlap = chunkOverlap;
  }
  const rrfK = num('--rrf-k', values['rrf-k']);
  const kw = num('--keyword-weight', values['keyword-weight']);
  if (rrfK !== undefined || kw !== undefined) {
    opts.search = {};
    if (rrfK !== undefined) opts.search.rrfK = rrfK;
    if (kw !== undefined) opts.search.keywordWeight = kw;
  }
  if (!json) opts.onProgress = (m) => o.err(dim(o, m));
  const report = await runRetrievalEval(opts);
  if (json) {
    o.out(
      JSON.stringify({
        ...report.modes,
        skipped: report.skipped,
        corpus: report.corpus,
        settings: report.settings,
        querySeconds: report.querySeconds,
      }),
    );
  } else {
    o.out(
      bold(
        o,
        `Retrieval on ${report.corpus.passages} passages (${report.corpus.chunks} chunks, ingest ${report.corpus.ingestSeconds} s)`,
      ),
    );
    for (const line of formatRetrievalTable(report)) o.out(line);
    if (report.corpus.failed) o.out(`! ${report.corpus.failed} passages failed to ingest`);
  }
  return 0;
}
