/**
 * Citations in a generated answer: map [n] markers to context blocks, drop and report
 * markers that point at nothing, and check — without the model — that the sentence
 * carrying [n] is supported by block n (quoted span or term overlap).
 */
import { normalizeForMatch } from '../text/normalize';
import { buildKeywordQuery } from '../text/terms';

export interface CitedSentence {
  text: string;
  cites: number[];
}

const MARKER_RE = /\[(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\]/g;

/**
 * Citation markers as real models write them — 【1】, ［1］, 〔1〕, [1,2], [1-3], [^1], [Block 1],
 * [來源 1], [1] [2] — rewritten as plain [n][m]. A range expands when it is short (≤ 10 blocks).
 */
const LOOSE_MARKER_RE =
  /[[［【〔]\s*(?:\^|#|(?:block|source|context|ref|passage|doc)\.?\s*|(?:來源|区块|區塊|段落|資料|资料|文件|出處|出处)\s*)?(\d{1,3}(?:\s*(?:[,，、;；]|[-–~～至到])\s*(?:(?:block|source)\s*)?\d{1,3})*)\s*[\]］】〕]/giu;

/** The prompt's own placeholder copied by a small model ("[編號]", "[n]"): no citation, dropped. */
const PLACEHOLDER_RE = /\s?[[［【](?:編號|编号|號碼|号码|n|N|number|block number)[\]］】]/gu;

export function normalizeMarkers(answer: string): string {
  return answer.replace(PLACEHOLDER_RE, '').replace(LOOSE_MARKER_RE, (_whole, inner: string) => {
    const nums: number[] = [];
    for (const part of inner.split(/\s*[,，、;；]\s*/)) {
      const range = /^(\d{1,3})\s*[-–~～至到]\s*(?:(?:block|source)\s*)?(\d{1,3})$/iu.exec(part);
      if (range) {
        const [a, b] = [Number(range[1]), Number(range[2])];
        if (b >= a && b - a < 10) for (let n = a; n <= b; n++) nums.push(n);
        else nums.push(a, b);
      } else {
        const n = /\d{1,3}/.exec(part);
        if (n) nums.push(Number(n[0]));
      }
    }
    return nums.map((n) => `[${n}]`).join('');
  });
}

function markerNumbers(text: string): number[] {
  const cites: number[] = [];
  for (const m of text.matchAll(MARKER_RE)) {
    for (const n of (m[1] as string).split(/[,，、\s]+/)) if (n) cites.push(Number(n));
  }
  return [...new Set(cites)];
}

/**
 * Split an answer into sentences, keeping the [n] markers that follow a sentence end. A marker
 * that leads a line ("[1] Title — heading" then the text, as the context blocks are laid out;
 * Qwen2.5-Coder-0.5B writes this) cites the sentences after it that carry no marker of their own,
 * up to the next leading marker.
 */
export function answerSentences(answer: string): CitedSentence[] {
  const parts = answer
    .replace(/\r/g, '')
    .split(/(?<=[。！？!?])(?!\s*\[)|(?<=[.])(?=\s+(?!\[))|\n+/u)
    .map((s) => s.trim());
  const out: CitedSentence[] = [];
  let carry: number[] = [];
  for (const text of parts) {
    const own = markerNumbers(text);
    const leading = /^(?:\[\d{1,3}(?:\s*[,，、]\s*\d{1,3})*\]\s*)+/.exec(text);
    if (leading) carry = markerNumbers(leading[0]);
    if (text.replace(MARKER_RE, '').trim().length <= 1) continue;
    out.push({ text, cites: own.length ? own : carry });
  }
  return out;
}

/** Share of the sentence's content terms found in the passage (0..1); a quoted span counts as full support. */
export function supportScore(sentence: string, passage: string): number {
  const body = sentence.replace(MARKER_RE, '').trim();
  const normPassage = normalizeForMatch(passage);
  for (const q of body.match(/[「"“]([^」"”]{6,})[」"”]/g) ?? []) {
    if (normPassage.includes(normalizeForMatch(q.slice(1, -1)))) return 1;
  }
  const terms = buildKeywordQuery(body).terms.filter((t) => !/^\d$/.test(t));
  if (terms.length === 0) return 0;
  const found = terms.filter((t) => normPassage.includes(t)).length;
  return found / terms.length;
}

export interface CitationCheck {
  n: number;
  supported: boolean;
  score: number;
}

export interface CitationAnalysis {
  sentences: Array<CitedSentence & { checks: CitationCheck[] }>;
  /** Markers that point at no context block (removed from the shown answer). */
  invalid: number[];
  /** Valid block numbers cited at least once, in first-use order. */
  used: number[];
  /** The answer with invalid markers removed. */
  cleanedAnswer: string;
  /** Share of content sentences with at least one supported citation. */
  coverage: number;
}

export const SUPPORT_THRESHOLD = 0.5;

export function analyseCitations(answer: string, passages: Map<number, string>): CitationAnalysis {
  const invalid = new Set<number>();
  const cleanedAnswer = normalizeMarkers(answer).replace(MARKER_RE, (whole, inner: string) => {
    const nums = inner
      .split(/[,，、\s]+/)
      .filter(Boolean)
      .map(Number);
    const ok = nums.filter((n) => passages.has(n));
    for (const n of nums) if (!passages.has(n)) invalid.add(n);
    return ok.length ? ok.map((n) => `[${n}]`).join('') : '';
  });
  const used: number[] = [];
  const sentences = answerSentences(cleanedAnswer).map((s) => {
    const checks = s.cites.map((n) => {
      if (!used.includes(n)) used.push(n);
      const score = supportScore(s.text, passages.get(n) ?? '');
      return { n, supported: score >= SUPPORT_THRESHOLD, score: Math.round(score * 100) / 100 };
    });
    return { ...s, checks };
  });
  const supported = sentences.filter((s) => s.checks.some((c) => c.supported)).length;
  return {
    sentences,
    invalid: [...invalid].sort((a, b) => a - b),
    used,
    cleanedAnswer: cleanedAnswer.replace(/[ \t]+\n/g, '\n').trim(),
    coverage: sentences.length ? supported / sentences.length : 0,
  };
}
