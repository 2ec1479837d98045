/**
 * `fieldbook eval followups`: follow-up detection measured both ways.
 *
 * - Multi-turn questions (mtrag, with their history): how often the detector joins the
 *   question with the previous user turn, and retrieval quality (keyword mode) when it does
 *   so, against never joining and always joining.
 * - Unrelated consecutive questions (pairs from the eval sets whose gold passages differ):
 *   how often the detector wrongly joins them. Lower is better; the target is 0.
 */
import { refersBack, retrievalQueryFor } from '../answer/answer-service';
import type { RetrievalScores } from './metrics';
import { EvalQueryLine, readJsonl, withEvalKb, type EvalQuery } from './eval-kb';
import { scoreRetrieval } from './retrieval-eval';

export interface FollowUpEvalOptions {
  /** Corpus and multi-turn queries (each with `history`). */
  corpusFile: string;
  queriesFile: string;
  /** Query sets whose consecutive questions (with different gold passages) form unrelated pairs. */
  unrelatedFiles: string[];
  limit?: number;
  onProgress?: (message: string) => void;
}

export interface FollowUpEvalReport {
  multiTurn: {
    questions: number;
    /** Share the detector joined with the previous user turn. */
    joined: number;
    retrieval: { never: RetrievalScores; always: RetrievalScores; detected: RetrievalScores };
  };
  unrelated: {
    pairs: number;
    /** Share of unrelated pairs the detector joined (wrongly). */
    joined: number;
    bySet: Record<string, { pairs: number; joined: number }>;
    examples: Array<{ previous: string; question: string }>;
  };
}

const ratio = (n: number, d: number): number => (d === 0 ? 0 : Math.round((n / d) * 10_000) / 10_000);

/** The previous user turn of a multi-turn query, if any. */
export function previousUserTurn(q: EvalQuery): string | null {
  return q.history?.filter((t) => t.speaker === 'user').at(-1)?.text ?? null;
}

/** Consecutive questions of a set whose gold passages do not overlap. */
export function unrelatedPairs(queries: EvalQuery[]): Array<{ previous: string; question: string }> {
  const pairs: Array<{ previous: string; question: string }> = [];
  for (let i = 1; i < queries.length; i++) {
    const a = queries[i - 1] as EvalQuery;
    const b = queries[i] as EvalQuery;
    if (a.gold_ids.some((g) => b.gold_ids.includes(g))) continue;
    pairs.push({ previous: a.question, question: b.question });
  }
  return pairs;
}

export async function runFollowUpEval(opts: FollowUpEvalOptions): Promise<FollowUpEvalReport> {
  let queries = readJsonl(opts.queriesFile, EvalQueryLine).filter((q) => previousUserTurn(q) !== null);
  if (opts.limit) queries = queries.slice(0, opts.limit);
  const bySet: FollowUpEvalReport['unrelated']['bySet'] = {};
  const examples: FollowUpEvalReport['unrelated']['examples'] = [];
  let pairs = 0;
  let wronglyJoined = 0;
  for (const file of opts.unrelatedFiles) {
    let set = unrelatedPairs(readJsonl(file, EvalQueryLine));
    if (opts.limit) set = set.slice(0, opts.limit);
    const joined = set.filter((p) => refersBack(p.question));
    bySet[file] = { pairs: set.length, joined: ratio(joined.length, set.length) };
    pairs += set.length;
    wronglyJoined += joined.length;
    examples.push(...joined.slice(0, 3));
  }
  const asked = (join: 'never' | 'always' | 'detected'): EvalQuery[] =>
    queries.map((q) => {
      const prev = previousUserTurn(q) as string;
      const question =
        join === 'never'
          ? q.question
          : join === 'always'
            ? `${prev}\n${q.question}`
            : retrievalQueryFor(q.question, [prev]);
      return { ...q, question, history: [] };
    });
  const joined = queries.filter((q) => refersBack(q.question)).length;
  return withEvalKb(opts, async ({ fb, idByPath }) => {
    opts.onProgress?.(`Scoring ${queries.length} multi-turn questions three ways…`);
    return {
      multiTurn: {
        questions: queries.length,
        joined: ratio(joined, queries.length),
        retrieval: {
          never: await scoreRetrieval(fb, idByPath, asked('never'), 'keyword', 0),
          always: await scoreRetrieval(fb, idByPath, asked('always'), 'keyword', 0),
          detected: await scoreRetrieval(fb, idByPath, asked('detected'), 'keyword', 0),
        },
      },
      unrelated: { pairs, joined: ratio(wronglyJoined, pairs), bySet, examples },
    };
  });
}
