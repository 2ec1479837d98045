/**
 * Extractive answers (no LLM installed, or the LLM failed): the sentences of the best
 * passages that share the most terms with the question, each with its citation. When the
 * best match is a section heading (e.g. "3.2 E-203 伺服過載之復位"), the lines under it —
 * usually the steps — are quoted instead of the bare heading.
 */
import { splitSentences } from '../ingest/chunker';
import { normalizeForMatch } from '../text/normalize';
import { buildKeywordQuery } from '../text/terms';
import type { ContextBlock } from './prompt';

interface Candidate {
  text: string;
  n: number;
  score: number;
  order: number;
  /** Index within its block, and the block's sentences, to pull the lines after a heading. */
  index: number;
  siblings: string[];
}

const isHeadingLike = (s: string): boolean => s.length < 40 && !/[。．.!?！？;；]$/.test(s);

export function extractiveAnswer(question: string, blocks: ContextBlock[], maxSentences = 4): string {
  const terms = buildKeywordQuery(question).terms;
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  blocks.slice(0, 3).forEach((b, bi) => {
    const sentences = b.text
      .split('\n')
      .flatMap((line) => splitSentences(line))
      .filter((s) => s.length >= 2);
    sentences.forEach((s, si) => {
      // Overlapping chunks repeat sentences: keep the first copy of each.
      const key = normalizeForMatch(s).replace(/\s+/g, '');
      if (seen.has(key)) return;
      seen.add(key);
      const norm = normalizeForMatch(s);
      const hits = terms.filter((t) => norm.includes(t)).length;
      // Short fragments (table headers, labels) say little on their own.
      const lengthFactor = s.length < 12 ? 0.4 : 1;
      const score = (hits / Math.max(1, terms.length)) * lengthFactor - bi * 0.05 - si * 0.001;
      candidates.push({ text: s, n: b.n, score, order: bi * 1000 + si, index: si, siblings: sentences });
    });
  });
  const best = candidates
    .filter((c) => c.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, maxSentences);
  const picked = new Map<string, { text: string; n: number; order: number }>();
  for (const c of best.length ? best : candidates.slice(0, 2)) {
    picked.set(`${c.n}:${c.index}`, c);
    if (isHeadingLike(c.text)) {
      // Quote what the heading introduces.
      for (let k = c.index + 1; k < Math.min(c.siblings.length, c.index + 4); k++) {
        picked.set(`${c.n}:${k}`, { text: c.siblings[k] as string, n: c.n, order: c.order + (k - c.index) * 0.01 });
      }
    }
  }
  const lines = [...picked.values()].sort((a, b) => a.order - b.order).slice(0, maxSentences + 3);
  return lines.map((c) => `${c.text} [${c.n}]`).join('\n');
}
