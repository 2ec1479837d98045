/**
 * Extractive answers (no LLM installed, or the LLM failed): the sentences of the best
 * passages that share the most terms with the question, each with its citation.
 */
import { splitSentences } from '../ingest/chunker';
import { normalizeForMatch } from '../text/normalize';
import { buildKeywordQuery } from '../text/terms';
import type { ContextBlock } from './prompt';

export function extractiveAnswer(question: string, blocks: ContextBlock[], maxSentences = 4): string {
  const terms = buildKeywordQuery(question).terms;
  const candidates: Array<{ text: string; n: number; score: number; order: number }> = [];
  blocks.slice(0, 3).forEach((b, bi) => {
    const sentences = b.text
      .split('\n')
      .flatMap((line) => splitSentences(line))
      .filter((s) => s.length >= 4);
    sentences.forEach((s, si) => {
      const norm = normalizeForMatch(s);
      const hits = terms.filter((t) => norm.includes(t)).length;
      // Earlier blocks and earlier sentences win ties; a heading-only line scores low.
      const score = hits / Math.max(1, terms.length) - bi * 0.05 - si * 0.001;
      candidates.push({ text: s, n: b.n, score, order: bi * 1000 + si });
    });
  });
  // Overlapping chunks repeat sentences: keep the first copy of each.
  const seen = new Set<string>();
  const unique = candidates.filter((c) => {
    const key = normalizeForMatch(c.text).replace(/\s+/g, '');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const chosen = unique
    .filter((c) => c.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, maxSentences)
    .sort((a, b) => a.order - b.order);
  const picked = chosen.length > 0 ? chosen : unique.slice(0, 2);
  return picked.map((c) => `${c.text} [${c.n}]`).join('\n');
}
