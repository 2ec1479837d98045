/**
 * How confidence relates to correctness: a reliability table (answers binned by confidence,
 * mean confidence vs share right per bin), the expected calibration error, and how often the
 * "needs manual review" flag fires on wrong and on right answers.
 */

export interface CalibrationBin {
  /** Confidence range [lo, hi) (the last bin includes 1). */
  lo: number;
  hi: number;
  answers: number;
  meanConfidence: number;
  /** Share of the bin's answers that are right. */
  accuracy: number;
}

export interface Calibration {
  answers: number;
  /** Share of answers that are right. */
  accuracy: number;
  bins: CalibrationBin[];
  /** Expected calibration error: Σ (bin answers / answers) × |accuracy − mean confidence|. */
  ece: number;
  /** Share of wrong answers flagged "needs manual review". */
  reviewOnWrong: number;
  /** Share of right answers flagged "needs manual review". */
  reviewOnRight: number;
}

export interface ConfidencePoint {
  confidence: number;
  needsReview: boolean;
  right: boolean;
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

export function calibration(points: ConfidencePoint[], binCount = 10): Calibration {
  const bins = Array.from({ length: binCount }, (_, i) => ({
    lo: i / binCount,
    hi: (i + 1) / binCount,
    items: [] as ConfidencePoint[],
  }));
  for (const p of points) {
    const i = Math.min(binCount - 1, Math.max(0, Math.floor(p.confidence * binCount)));
    bins[i]?.items.push(p);
  }
  const n = points.length;
  let ece = 0;
  const table: CalibrationBin[] = [];
  for (const b of bins) {
    if (b.items.length === 0) continue;
    const mean = b.items.reduce((acc, p) => acc + p.confidence, 0) / b.items.length;
    const acc = b.items.filter((p) => p.right).length / b.items.length;
    ece += (b.items.length / n) * Math.abs(acc - mean);
    table.push({
      lo: round(b.lo),
      hi: round(b.hi),
      answers: b.items.length,
      meanConfidence: round(mean),
      accuracy: round(acc),
    });
  }
  const wrong = points.filter((p) => !p.right);
  const right = points.filter((p) => p.right);
  const flagged = (ps: ConfidencePoint[]): number =>
    ps.length ? round(ps.filter((p) => p.needsReview).length / ps.length) : 0;
  return {
    answers: n,
    accuracy: n ? round(right.length / n) : 0,
    bins: table,
    ece: round(ece),
    reviewOnWrong: flagged(wrong),
    reviewOnRight: flagged(right),
  };
}
