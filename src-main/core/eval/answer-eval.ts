/**
 * `fieldbook eval answers`: ask every question against a throwaway knowledge base and
 * measure what a technician would check: is the answer's evidence right (a cited passage
 * contains a gold answer; citations point at gold passages), does the answer state the
 * gold answer, and does it say "not found" when the knowledge base has no answer.
 */
import fs from 'node:fs';
import type { AnswerResult } from '../answer/answer-service';
import type { ConfidenceSignals } from '../answer/confidence';
import type { AnswerSettings, ChunkSettings } from '../config';
import { normalizeForMatch } from '../text/normalize';
import { calibration, type Calibration, type ConfidencePoint } from './calibration';
import { EvalQueryLine, readJsonl, withEvalKb } from './eval-kb';
import { faithfulness, type Faithfulness, type FaithfulnessInput } from './faithfulness';

export interface AnswerEvalOptions {
  corpusFile: string;
  queriesFile: string;
  /** Questions whose answer is NOT in the corpus (e.g. another set's queries). */
  unanswerableFile?: string;
  embeddingModelDir?: string;
  llmModelFile?: string;
  limit?: number;
  chunk?: Partial<ChunkSettings>;
  answer?: Partial<AnswerSettings>;
  /** Write one JSON line per answered question (confidence, its signals, right/wrong) to this file. */
  detailsFile?: string;
  onProgress?: (message: string) => void;
}

export interface AnswerEvalReport {
  answerable: {
    questions: number;
    /** A cited passage contains one of the gold answer strings. */
    citedPassageHasGold: number;
    /** Share of citations that point at a gold passage. */
    citationPrecision: number;
    /** The answer text contains one of the gold answer strings. */
    answerHasGold: number;
    /** Wrongly answered "not found". */
    notFound: number;
    needsReview: number;
  };
  /**
   * `notFound`: the answer service said "not found" (retrieval too weak to answer). `declinedByModel`:
   * a generated answer that itself says the context does not hold the answer (phrase match, see MODEL_DECLINED).
   */
  unanswerable: { questions: number; notFound: number; declinedByModel: number } | null;
  /**
   * Confidence against correctness over the answered (not "not found") questions: right = a
   * citation points at a gold passage (`evidence`), or the answer text holds a gold answer (`answer`).
   */
  calibration: { evidence: Calibration; answer: Calibration };
  /** Generated answers to the answerable questions (null without an LLM): sentences supported by their citations. */
  faithfulness: Faithfulness | null;
  modes: Record<string, number>;
  timing: { meanTotalMs: number; meanTimeToFirstTokenMs: number | null };
  corpus: { passages: number; chunks: number; failed: number; ingestSeconds: number };
}

const norm = (s: string): string => normalizeForMatch(s).replace(/\s+/g, '');

function containsAny(text: string, answers: string[]): boolean {
  const t = norm(text);
  return answers.some((a) => a.trim() && t.includes(norm(a)));
}

/** A generated answer that says the context has no answer (the system prompt's rule 3), in English or Chinese. */
const MODEL_DECLINED =
  /\b(?:does not|doesn't|do not|don't) (?:contain|include|mention|provide|have)\b|\bno (?:information|mention)\b|\bnot (?:mentioned|provided|found|contained)\b|(?:找不到|沒有提到|没有提到|沒有相關|没有相关|未提及|未提供|不包含|沒有包含|没有包含|無法回答|无法回答|並未提)/iu;

export function modelDeclined(answer: string): boolean {
  return MODEL_DECLINED.test(answer);
}

const ratio = (n: number, d: number): number => (d === 0 ? 0 : Math.round((n / d) * 10_000) / 10_000);

export async function runAnswerEval(opts: AnswerEvalOptions): Promise<AnswerEvalReport> {
  let queries = readJsonl(opts.queriesFile, EvalQueryLine);
  if (opts.limit) queries = queries.slice(0, opts.limit);
  let negatives = opts.unanswerableFile ? readJsonl(opts.unanswerableFile, EvalQueryLine) : null;
  if (negatives && opts.limit) negatives = negatives.slice(0, opts.limit);
  return withEvalKb(opts, async ({ fb, idByPath, corpus }) => {
    const modes: Record<string, number> = {};
    let citedGold = 0;
    let precisionSum = 0;
    let answerGold = 0;
    let wrongNotFound = 0;
    let review = 0;
    let totalMs = 0;
    let ttftSum = 0;
    let ttftN = 0;
    const results: FaithfulnessInput[] = [];
    const evidencePoints: ConfidencePoint[] = [];
    const answerPoints: ConfidencePoint[] = [];
    const details: Array<{
      id: string;
      confidence: number;
      signals: ConfidenceSignals | undefined;
      citesGold: boolean;
      answerHasGold: boolean;
      mode: string;
      answer: string;
      sentenceSupport: AnswerResult['sentenceSupport'];
      stopReason: string | null;
      timings: AnswerResult['timings'];
    }> = [];
    opts.onProgress?.(`Answering ${queries.length} questions…`);
    // Written as the answers come, so a long run with a real model can be read while it goes.
    if (opts.detailsFile) fs.writeFileSync(opts.detailsFile, '');
    for (const q of queries) {
      const res = await fb.answers.ask(q.question);
      results.push(res);
      modes[res.mode] = (modes[res.mode] ?? 0) + 1;
      totalMs += res.timings.totalMs ?? 0;
      if (typeof res.timings.timeToFirstTokenMs === 'number') {
        ttftSum += res.timings.timeToFirstTokenMs;
        ttftN++;
      }
      if (res.mode === 'not-found') wrongNotFound++;
      if (res.needsReview) review++;
      const gold = new Set(q.gold_ids);
      const cited = res.citations.map((c) => ({ c, passage: idByPath.get(c.sourcePath) }));
      if (cited.length) precisionSum += cited.filter((x) => x.passage && gold.has(x.passage)).length / cited.length;
      const texts = new Map<number, string>(
        (
          fb.db
            .prepare('SELECT id, text FROM chunks WHERE id IN (SELECT value FROM json_each(?))')
            .all(JSON.stringify(res.citations.map((c) => c.chunkId))) as Array<{ id: number; text: string }>
        ).map((r) => [r.id, r.text]),
      );
      if (res.citations.some((c) => containsAny(texts.get(c.chunkId) ?? '', q.answers))) citedGold++;
      const hasGold = containsAny(res.answer, q.answers);
      if (hasGold) answerGold++;
      if (res.mode !== 'not-found') {
        const citesGold = cited.some((x) => x.passage && gold.has(x.passage));
        evidencePoints.push({ confidence: res.confidence, needsReview: res.needsReview, right: citesGold });
        answerPoints.push({ confidence: res.confidence, needsReview: res.needsReview, right: hasGold });
        details.push({
          id: q.id,
          confidence: res.confidence,
          signals: res.confidenceSignals,
          citesGold,
          answerHasGold: hasGold,
          mode: res.mode,
          answer: res.answer,
          sentenceSupport: res.sentenceSupport,
          stopReason: res.stopReason,
          timings: res.timings,
        });
        if (opts.detailsFile) fs.appendFileSync(opts.detailsFile, `${JSON.stringify(details.at(-1))}\n`);
      }
    }
    let unanswerable: AnswerEvalReport['unanswerable'] = null;
    if (negatives) {
      opts.onProgress?.(`Asking ${negatives.length} questions that have no answer here…`);
      let nf = 0;
      let declined = 0;
      for (const q of negatives) {
        const res = await fb.answers.ask(q.question);
        if (res.mode === 'not-found') nf++;
        else if (res.mode === 'generative' && modelDeclined(res.answer)) declined++;
      }
      unanswerable = {
        questions: negatives.length,
        notFound: ratio(nf, negatives.length),
        declinedByModel: ratio(declined, negatives.length),
      };
    }
    const n = queries.length;
    return {
      answerable: {
        questions: n,
        citedPassageHasGold: ratio(citedGold, n),
        citationPrecision: ratio(precisionSum, n),
        answerHasGold: ratio(answerGold, n),
        notFound: ratio(wrongNotFound, n),
        needsReview: ratio(review, n),
      },
      unanswerable,
      calibration: { evidence: calibration(evidencePoints), answer: calibration(answerPoints) },
      faithfulness: faithfulness(results),
      modes,
      timing: {
        meanTotalMs: Math.round(totalMs / Math.max(1, n)),
        meanTimeToFirstTokenMs: ttftN ? Math.round(ttftSum / ttftN) : null,
      },
      corpus,
    };
  });
}
