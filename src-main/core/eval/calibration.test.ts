import { describe, expect, it } from 'vitest';
import { calibration } from './calibration';

describe('issue 13.4: calibration of answer confidence', () => {
  it('bins answers by confidence, computes ECE and the review-flag rates on a hand-made set', () => {
    const c = calibration(
      [
        // bin 0.2–0.3: two answers, mean confidence 0.25, one right → |0.5 − 0.25| = 0.25
        { confidence: 0.2, needsReview: true, right: false },
        { confidence: 0.3 - 1e-9, needsReview: true, right: true },
        // bin 0.9–1.0: two answers, mean confidence 0.95, both right → |1 − 0.95| = 0.05
        { confidence: 0.9, needsReview: false, right: true },
        { confidence: 1, needsReview: false, right: true },
      ],
      10,
    );
    expect(c.bins).toEqual([
      { lo: 0.2, hi: 0.3, answers: 2, meanConfidence: 0.25, accuracy: 0.5 },
      { lo: 0.9, hi: 1, answers: 2, meanConfidence: 0.95, accuracy: 1 },
    ]);
    // ECE = 2/4 × 0.25 + 2/4 × 0.05 = 0.15
    expect(c.ece).toBeCloseTo(0.15, 4);
    expect(c).toMatchObject({ answers: 4, accuracy: 0.75, reviewOnWrong: 1, reviewOnRight: 0.3333 });
  });

  it('is zero error for perfectly calibrated answers and empty for no answers', () => {
    expect(
      calibration([
        { confidence: 0.55, needsReview: true, right: true },
        { confidence: 0.55, needsReview: true, right: false },
      ]).ece,
    ).toBeCloseTo(0.05, 4);
    expect(calibration([])).toMatchObject({ answers: 0, accuracy: 0, bins: [], ece: 0, reviewOnWrong: 0 });
  });
});
