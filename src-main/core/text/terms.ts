/**
 * Index and query terms for the FTS5 keyword index.
 *
 * SQLite's unicode61 tokenizer keeps a whole run of CJK characters as one token, so
 * Chinese would only match whole runs. We therefore write CJK runs as overlapping
 * bigrams (復位步驟 → 复位 位步 步骤), the standard approach for CJK retrieval: a
 * two-character query such as 復位 is then one exact term. Latin words pass through
 * to unicode61 + porter. Codes (E-203, F0001, 6ES7 214-1AG40-0XB0) are also written
 * in a separate column as compact keys (E203, F0001, 6ES72141AG400XB0) so any
 * spelling of a code matches and exact code hits can be boosted.
 */
import { isCjkChar, normalizeForMatch } from './normalize';

/** Split normalised text into CJK runs and everything else. */
function segments(text: string): Array<{ cjk: boolean; text: string }> {
  const out: Array<{ cjk: boolean; text: string }> = [];
  let current = '';
  let currentCjk = false;
  for (const ch of text) {
    const cjk = isCjkChar(ch);
    if (current && cjk !== currentCjk) {
      out.push({ cjk: currentCjk, text: current });
      current = '';
    }
    currentCjk = cjk;
    current += ch;
  }
  if (current) out.push({ cjk: currentCjk, text: current });
  return out;
}

function cjkBigrams(run: string): string[] {
  const chars = Array.from(run);
  if (chars.length === 1) return [chars[0] as string];
  const grams: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) grams.push(`${chars[i]}${chars[i + 1]}`);
  return grams;
}

/** Text for the FTS `body` column: normalised, CJK runs as bigrams. */
export function indexText(text: string): string {
  const parts: string[] = [];
  for (const seg of segments(normalizeForMatch(text))) {
    parts.push(seg.cjk ? cjkBigrams(seg.text).join(' ') : seg.text.trim());
  }
  return parts.filter(Boolean).join(' ');
}

const CODE_TOKEN_RE = /[A-Za-z0-9]+(?:[-_./][A-Za-z0-9]+)*/g;
/** Upper-case alarm prefixes followed by a number: "ALM 21", "ERR 5" (not "to 25"). */
const LETTER_SPACE_NUMBER_RE = /\b([A-Z]{2,4}) (\d{1,6})\b/g;

function hasLetterAndDigit(s: string): boolean {
  return /[a-z]/i.test(s) && /\d/.test(s);
}

function compactCode(s: string): string {
  return s.replace(/[-_./\s]/g, '').toUpperCase();
}

/**
 * Codes and part numbers in a text as compact keys: tokens that mix letters and
 * digits (E-203, F0001, 1AG40-0XB0), "ALM 21"-style prefix + number, and pairs of
 * adjacent code tokens (6ES7 214-1AG40-0XB0 → 6ES72141AG400XB0).
 */
export function extractCodes(text: string): string[] {
  const normal = text.normalize('NFKC');
  const found = new Set<string>();
  const tokens: Array<{ value: string; start: number; end: number }> = [];
  for (const m of normal.matchAll(CODE_TOKEN_RE)) {
    tokens.push({ value: m[0], start: m.index, end: m.index + m[0].length });
  }
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as { value: string; start: number; end: number };
    if (tok.value.length >= 3 && hasLetterAndDigit(tok.value)) found.add(compactCode(tok.value));
    const next = tokens[i + 1];
    if (next && next.start - tok.end === 1 && normal[tok.end] === ' ') {
      const pair = `${tok.value}${next.value}`;
      if (hasLetterAndDigit(pair) && /\d/.test(tok.value) && /\d/.test(next.value) && pair.length >= 8) {
        found.add(compactCode(pair));
      }
    }
  }
  for (const m of normal.matchAll(LETTER_SPACE_NUMBER_RE)) {
    found.add(compactCode(`${m[1]}${m[2]}`));
  }
  return [...found];
}

const ENGLISH_STOPWORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my of on or our should so than that the their them then there these they this to was we were what when ' +
    'where which while who whom why will with would you your about after before any all also just more most not ' +
    'no nor only other same some such too very s t don'
  ).split(' '),
);

/** Question words that carry no topic (already in folded, simplified form). */
const CHINESE_STOP_BIGRAMS = new Set([
  '什么',
  '么是',
  '如何',
  '怎么',
  '么样',
  '为什',
  '哪些',
  '哪个',
  '哪一',
  '是否',
  '可以',
  '请问',
  '一下',
  '多少',
  '的是',
  '是什',
  '是哪',
  '要怎',
  '该如',
  '应该',
]);

/** Quote a term for an FTS5 MATCH expression. */
function quote(term: string): string {
  return `"${term.replace(/"/g, '""')}"`;
}

export interface KeywordQuery {
  /** FTS5 MATCH expression, or null when the query has no searchable term. */
  match: string | null;
  /** Compact code keys found in the query (for boosting exact hits). */
  codes: string[];
  /** Normalised terms, for highlighting snippets. */
  terms: string[];
}

/** Limits for `pruneCommonTerms`. */
export interface TermPruning {
  /** Terms whose idf is below this carry (almost) no information: ln(1/0.08) ≈ in 8 % or more of the chunks. */
  minIdf: number;
  /** At most this many terms, the rarest first. */
  maxTerms: number;
  /** Always keep this many of the rarest terms, however common (a question made only of common words). */
  minKeep: number;
  /**
   * Rarest first, terms are kept while the chunks they match add up to at most this many. BM25
   * scores every chunk that matches any term (about 1 µs each), so this bounds the keyword
   * search's time in a large library; a library under this many chunks per term never reaches it.
   */
  maxMatches: number;
}

export const DEFAULT_TERM_PRUNING: TermPruning = {
  minIdf: Math.log(1 / 0.08),
  maxTerms: 12,
  minKeep: 2,
  maxMatches: 100_000,
};

/**
 * The query terms worth sending to the keyword index: very common terms (such as the
 * frequent CJK bigrams 的是, 可以) match a large share of the chunks, cost the most to rank
 * and barely change the order, so they are dropped; the rarest `maxTerms` are kept, and at
 * least `minKeep`. With `matches` (chunks per term), the kept terms also stay within
 * `maxMatches` chunks in all. Terms with no idf (not seen) are kept. Order of `terms` is preserved.
 */
export function pruneCommonTerms(
  terms: string[],
  idf: ReadonlyMap<string, number>,
  limits: TermPruning = DEFAULT_TERM_PRUNING,
  matches?: ReadonlyMap<string, number>,
): string[] {
  const byRarity = [...terms].sort((a, b) => (idf.get(b) ?? Infinity) - (idf.get(a) ?? Infinity));
  const kept = new Set<string>();
  let matched = 0;
  for (const [i, t] of byRarity.entries()) {
    if (kept.size === limits.maxTerms) break;
    const n = matches?.get(t) ?? 0;
    const informative = (idf.get(t) ?? Infinity) >= limits.minIdf && matched + n <= limits.maxMatches;
    if (i < limits.minKeep || informative) {
      kept.add(t);
      matched += n;
    }
  }
  return terms.filter((t) => kept.has(t));
}

/**
 * Turn a free-text question into an FTS5 expression: any term may match (OR), BM25
 * ranks by how many rare terms a chunk has. Codes also query the `codes` column.
 * `select` may narrow the body terms sent to the index (e.g. `pruneCommonTerms`); `terms`
 * in the result stay complete (highlighting).
 */
export function buildKeywordQuery(query: string, select?: (terms: string[]) => string[]): KeywordQuery {
  const terms = new Set<string>();
  for (const seg of segments(normalizeForMatch(query))) {
    if (seg.cjk) {
      const grams = cjkBigrams(seg.text);
      const kept = grams.filter((g) => !CHINESE_STOP_BIGRAMS.has(g));
      for (const g of kept.length > 0 ? kept : grams) terms.add(g);
    } else {
      for (const word of seg.text.match(/[\p{L}\p{N}]+/gu) ?? []) {
        if (!ENGLISH_STOPWORDS.has(word)) terms.add(word);
      }
    }
  }
  const codes = extractCodes(query);
  const clauses: string[] = [];
  // A lone CJK character is only ever the start of an indexed bigram: match it as a prefix.
  const termExpr = (t: string): string => (Array.from(t).length === 1 && isCjkChar(t) ? `${quote(t)}*` : quote(t));
  const sent = select && terms.size > 0 ? select([...terms]) : [...terms];
  if (sent.length > 0) clauses.push(`body : (${sent.map(termExpr).join(' OR ')})`);
  if (codes.length > 0) clauses.push(`codes : (${codes.map(quote).join(' OR ')})`);
  return {
    match: clauses.length > 0 ? clauses.join(' OR ') : null,
    codes,
    terms: [...terms],
  };
}
