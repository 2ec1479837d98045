import { describe, expect, it } from 'vitest';
import { ndcgAt, recallAt, reciprocalRankAt, ScoreAccumulator } from './metrics';

describe('retrieval metrics', () => {
  const gold = new Set(['b', 'd']);
  const ranked = ['a', 'b', 'c', 'd'];
  it('recall@k counts the share of gold ids in the top k', () => {
    expect(recallAt(ranked, gold, 1)).toBe(0);
    expect(recallAt(ranked, gold, 2)).toBe(0.5);
    expect(recallAt(ranked, gold, 4)).toBe(1);
  });
  it('MRR uses the first gold hit', () => {
    expect(reciprocalRankAt(ranked, gold, 10)).toBe(0.5);
    expect(reciprocalRankAt(['x'], gold, 10)).toBe(0);
  });
  it('nDCG is 1 for a perfect ranking and in (0,1) otherwise', () => {
    expect(ndcgAt(['b', 'd', 'a'], gold, 10)).toBeCloseTo(1);
    const v = ndcgAt(ranked, gold, 10);
    expect(v).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3)));
  });
  it('averages over queries', () => {
    const acc = new ScoreAccumulator();
    acc.add(['b'], new Set(['b']));
    acc.add(['x'], new Set(['b']));
    expect(acc.result()).toMatchObject({ 'recall@1': 0.5, 'mrr@10': 0.5, queries: 2 });
  });
});
