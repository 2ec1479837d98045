/** `fieldbook eval retrieval …` — retrieval quality on a JSONL corpus and query set. */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { appRoot, type AnswerSettings } from '../core/config';
import { runAnswerEval, type AnswerEvalOptions } from '../core/eval/answer-eval';
import { formatFaithfulness } from '../core/eval/faithfulness';
import { runFollowUpEval } from '../core/eval/followup-eval';
import { runProcedureEval, type ProcedureEvalReport, type ProcedureSummary } from '../core/eval/procedure-eval';
import { runRetrievalEval, type RetrievalEvalOptions, type RetrievalEvalReport } from '../core/eval/retrieval-eval';
import { bold, dim, type Output } from './format';

export class EvalUsageError extends Error {}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new EvalUsageError(`${name} must be a non-negative number`);
  return n;
}

/**
 * `--llm-timeout SECONDS` and `--max-answer-tokens N`: generation limits for the eval (the product's
 * 120 s limit is for a person waiting; a loaded CPU needs longer to show what the model writes).
 */
function answerSettings(values: {
  'llm-timeout'?: string;
  'max-answer-tokens'?: string;
}): Partial<AnswerSettings> | null {
  const timeout = num('--llm-timeout', values['llm-timeout']);
  const maxTokens = num('--max-answer-tokens', values['max-answer-tokens']);
  if (!timeout && !maxTokens) return null;
  return {
    ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
    ...(maxTokens ? { maxAnswerTokens: maxTokens } : {}),
  };
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

function formatProcedureLine(label: string, s: ProcedureSummary): string {
  return `${label.padEnd(8)}${[
    s.questions,
    s.stepRecall,
    s.stepsInOrder,
    s.safetyRecall,
    s.allSafetyPresent,
    s.citationPrecision,
  ]
    .map((v) => String(v).padStart(11))
    .join('')}`;
}

export function formatProcedureReport(r: ProcedureEvalReport): string[] {
  const head = ['questions', 'steps', 'in order', 'safety', 'all safety', 'cit.prec'];
  const lines = [`${''.padEnd(8)}${head.map((h) => h.padStart(11)).join('')}`, formatProcedureLine('all', r.summary)];
  for (const [lang, s] of Object.entries(r.byLanguage)) lines.push(formatProcedureLine(lang, s));
  lines.push(
    `modes: ${Object.entries(r.modes)
      .map(([m, n]) => `${m} ${n}`)
      .join(', ')}; needs review: ${r.needsReview}`,
  );
  if (r.faithfulness) lines.push(...formatFaithfulness(r.faithfulness));
  for (const s of r.scores) if (s.missing.length) lines.push(`  ${s.id}: missing ${s.missing.join('; ')}`);
  for (const s of r.skipped) lines.push(`  ${s.id}: skipped (${s.reason})`);
  return lines;
}

async function cmdEvalProcedures(
  values: {
    procedures: string;
    'corpus-dir'?: string;
    'embedding-model'?: string;
    llm?: string;
    limit?: string;
    details?: string;
    'llm-timeout'?: string;
    'max-answer-tokens'?: string;
  },
  o: Output,
  json: boolean,
): Promise<number> {
  const limit = num('--limit', values.limit);
  const answer = answerSettings(values);
  const r = await runProcedureEval({
    setFile: values.procedures,
    samplesDir: path.join(appRoot(), 'resources', 'samples'),
    corpusDir: values['corpus-dir'] ?? path.resolve(appRoot(), '..', 'shared', 'corpus'),
    ...(values['embedding-model'] ? { embeddingModelDir: values['embedding-model'] } : {}),
    ...(values.llm ? { llmModelFile: values.llm } : {}),
    ...(limit ? { limit } : {}),
    ...(values.details ? { detailsFile: values.details } : {}),
    ...(answer ? { answer } : {}),
    ...(json ? {} : { onProgress: (m: string) => o.err(dim(o, m)) }),
  });
  if (json) {
    o.out(JSON.stringify(r));
    return 0;
  }
  o.out(
    bold(
      o,
      `Procedure answers: ${r.summary.questions} questions (steps = step recall, safety = safety-condition recall)`,
    ),
  );
  for (const line of formatProcedureReport(r)) o.out(line);
  return 0;
}

async function cmdEvalAnswers(rest: string[], o: Output, json: boolean): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    options: {
      corpus: { type: 'string' },
      queries: { type: 'string' },
      unanswerable: { type: 'string' },
      procedures: { type: 'string' },
      'corpus-dir': { type: 'string' },
      'embedding-model': { type: 'string' },
      llm: { type: 'string' },
      limit: { type: 'string' },
      details: { type: 'string' },
      'llm-timeout': { type: 'string' },
      'max-answer-tokens': { type: 'string' },
    },
  });
  if (values.procedures) return cmdEvalProcedures({ ...values, procedures: values.procedures }, o, json);
  if (!values.corpus || !values.queries)
    throw new EvalUsageError('eval answers needs --corpus FILE and --queries FILE (or --procedures FILE)');
  const opts: AnswerEvalOptions = { corpusFile: values.corpus, queriesFile: values.queries };
  if (values.unanswerable) opts.unanswerableFile = values.unanswerable;
  if (values['embedding-model']) opts.embeddingModelDir = values['embedding-model'];
  if (values.llm) opts.llmModelFile = values.llm;
  const limit = num('--limit', values.limit);
  if (limit) opts.limit = limit;
  if (values.details) opts.detailsFile = values.details;
  const answer = answerSettings(values);
  if (answer) opts.answer = answer;
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
  if (r.faithfulness) for (const line of formatFaithfulness(r.faithfulness)) o.out(line);
  if (r.unanswerable)
    o.out(
      `"not found" on ${r.unanswerable.questions} unanswerable questions: ${r.unanswerable.notFound}` +
        (r.faithfulness ? `; generated answers that decline: ${r.unanswerable.declinedByModel}` : ''),
    );
  for (const [label, c] of [
    ['a citation points at a gold passage', r.calibration.evidence],
    ['the answer holds a gold answer', r.calibration.answer],
  ] as const) {
    o.out(`confidence vs "${label}" (${c.answers} answers, ${c.accuracy} right): ECE ${c.ece}`);
    o.out(`  needs review on wrong answers: ${c.reviewOnWrong}, on right answers: ${c.reviewOnRight}`);
    for (const b of c.bins) {
      o.out(
        `  ${b.lo.toFixed(1)}–${b.hi.toFixed(1)}  ${String(b.answers).padStart(5)} answers  confidence ${b.meanConfidence.toFixed(2)}  right ${b.accuracy.toFixed(2)}`,
      );
    }
  }
  const ttft = r.timing.meanTimeToFirstTokenMs;
  o.out(`mean time per question: ${r.timing.meanTotalMs} ms${ttft !== null ? `, first token ${ttft} ms` : ''}`);
  return 0;
}

async function cmdEvalFollowUps(rest: string[], o: Output, json: boolean): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    options: {
      corpus: { type: 'string' },
      queries: { type: 'string' },
      unrelated: { type: 'string', multiple: true },
      limit: { type: 'string' },
    },
  });
  if (!values.corpus || !values.queries)
    throw new EvalUsageError(
      'eval followups needs --corpus FILE and --queries FILE (multi-turn) [--unrelated Q.jsonl …]',
    );
  const limit = num('--limit', values.limit);
  const r = await runFollowUpEval({
    corpusFile: values.corpus,
    queriesFile: values.queries,
    unrelatedFiles: values.unrelated ?? [],
    ...(limit ? { limit } : {}),
    ...(json ? {} : { onProgress: (m: string) => o.err(dim(o, m)) }),
  });
  if (json) {
    o.out(JSON.stringify(r));
    return 0;
  }
  const m = r.multiTurn;
  o.out(bold(o, `Follow-ups: ${m.questions} multi-turn questions, ${r.unrelated.pairs} unrelated pairs`));
  o.out(`multi-turn questions joined with the previous turn: ${m.joined}`);
  for (const [way, s] of Object.entries(m.retrieval)) {
    o.out(`  ${way.padEnd(9)} recall@5 ${s['recall@5']}  recall@10 ${s['recall@10']}  mrr@10 ${s['mrr@10']}`);
  }
  o.out(`unrelated consecutive questions joined (wrongly): ${r.unrelated.joined}`);
  for (const [file, s] of Object.entries(r.unrelated.bySet)) o.out(`  ${s.joined} of ${s.pairs} pairs  ${file}`);
  for (const e of r.unrelated.examples.slice(0, 5)) o.out(dim(o, `  joined: "${e.previous}" → "${e.question}"`));
  return 0;
}

export async function cmdEval(args: string[], o: Output, json: boolean): Promise<number> {
  const [kind, ...rest] = args;
  if (kind === 'answers') return cmdEvalAnswers(rest, o, json);
  if (kind === 'followups') return cmdEvalFollowUps(rest, o, json);
  if (kind !== 'retrieval') {
    throw new EvalUsageError(
      'usage: fieldbook eval retrieval|answers|followups --corpus corpus.jsonl --queries queries.jsonl',
    );
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
