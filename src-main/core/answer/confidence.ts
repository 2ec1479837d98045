/**
 * Answer confidence (0..1) from what the answer service measured, meant as the chance that
 * the answer is right: below the review threshold (settings, 0.6) the answer is flagged
 * "needs manual review". Extractive answers are scored from how well the quoted section
 * matches the question; generated ones from retrieval and citation support. The weights were
 * fitted on the dev sets (`fieldbook eval answers` prints the reliability table; see README).
 */

export interface ConfidenceSignals {
  /** idf-weighted share of the question's terms found in one of the best retrieved passages. */
  retrieval: number;
  /** Share of the answer's sentences with a supported citation (generated answers). */
  citationCoverage: number;
  /** Extractive: share of the question's terms in the quoted section (title, headings, text). */
  passage?: number;
  /** Extractive: share of the question's terms in the quoted section's own headings. */
  heading?: number;
  /** Extractive: how far the quoted section's score is ahead of the next candidate (0..1). */
  margin?: number;
  /** Relative lead of the best retrieved chunk over the best one from another document (0..1). */
  lead?: number;
  /** Extractive: 1 when the quoted section holds the best retrieved chunk. */
  agreement?: number;
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Logistic regression fitted on the dev sets' extractive answers (drcd-dev first 800, emanual,
 * mtrag-cloud; each set weighted equally; label: a citation points at a gold passage). `chinese`
 * shifts Chinese questions, whose bigram terms match less of a right passage than English words.
 * Fitted on half of the answers, the other half's expected calibration error was 0.07 / 0.10 / 0.21
 * (mtrag: 42 answers). The heading signal is not used: the dev sets' passages have no headings.
 */
export const EXTRACTIVE_WEIGHTS = {
  bias: -1.61,
  retrieval: 0.41,
  passage: 1.12,
  margin: 2.52,
  lead: 3.38,
  agreement: 0.74,
  chinese: 0.99,
};

export function answerConfidence(
  mode: 'generative' | 'extractive' | 'not-found',
  s: ConfidenceSignals,
  chinese: boolean,
): number {
  if (mode === 'not-found') return 0;
  let c: number;
  if (mode === 'extractive') {
    const w = EXTRACTIVE_WEIGHTS;
    c = logistic(
      w.bias +
        w.retrieval * s.retrieval +
        w.passage * (s.passage ?? 0) +
        w.margin * (s.margin ?? 0) +
        w.lead * (s.lead ?? 0) +
        w.agreement * (s.agreement ?? 0) +
        (chinese ? w.chinese : 0),
    );
  } else {
    // Half retrieval strength, half citation coverage.
    c = 0.5 * s.retrieval + 0.5 * s.citationCoverage;
  }
  return Math.round(c * 100) / 100;
}
