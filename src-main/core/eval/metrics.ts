/** Retrieval metrics over ranked id lists with a set of relevant (gold) ids. */

export function recallAt(ranked: string[], gold: ReadonlySet<string>, k: number): number {
  if (gold.size === 0) return 0;
  let found = 0;
  for (const id of ranked.slice(0, k)) if (gold.has(id)) found++;
  return found / gold.size;
}

export function reciprocalRankAt(ranked: string[], gold: ReadonlySet<string>, k: number): number {
  const i = ranked.slice(0, k).findIndex((id) => gold.has(id));
  return i < 0 ? 0 : 1 / (i + 1);
}

/** nDCG@k with binary relevance. */
export function ndcgAt(ranked: string[], gold: ReadonlySet<string>, k: number): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((id, i) => {
    if (gold.has(id)) dcg += 1 / Math.log2(i + 2);
  });
  let idcg = 0;
  for (let i = 0; i < Math.min(gold.size, k); i++) idcg += 1 / Math.log2(i + 2);
  return idcg === 0 ? 0 : dcg / idcg;
}

export interface RetrievalScores {
  'recall@1': number;
  'recall@5': number;
  'recall@10': number;
  'mrr@10': number;
  'ndcg@10': number;
  queries: number;
}

export class ScoreAccumulator {
  private sums = { r1: 0, r5: 0, r10: 0, mrr: 0, ndcg: 0 };
  private n = 0;

  add(ranked: string[], gold: ReadonlySet<string>): void {
    this.sums.r1 += recallAt(ranked, gold, 1);
    this.sums.r5 += recallAt(ranked, gold, 5);
    this.sums.r10 += recallAt(ranked, gold, 10);
    this.sums.mrr += reciprocalRankAt(ranked, gold, 10);
    this.sums.ndcg += ndcgAt(ranked, gold, 10);
    this.n++;
  }

  result(): RetrievalScores {
    const avg = (x: number): number => (this.n === 0 ? 0 : Math.round((x / this.n) * 10_000) / 10_000);
    return {
      'recall@1': avg(this.sums.r1),
      'recall@5': avg(this.sums.r5),
      'recall@10': avg(this.sums.r10),
      'mrr@10': avg(this.sums.mrr),
      'ndcg@10': avg(this.sums.ndcg),
      queries: this.n,
    };
  }
}
