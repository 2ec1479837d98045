/**
 * Extractive answers (no LLM installed, or the LLM failed): the passage(s) that answer the
 * question, quoted whole and in document order, each under a line saying where it is from
 * (title › heading path · page) with its citation marker.
 *
 * A passage is a section of a document (adjacent chunks with the same heading path, joined
 * without their overlap — see passages.ts). Its text is read back into units: the heading
 * line, list items (with the lines the chunker split off them), paragraphs (with wrapped
 * lines), table rows. A numbered procedure is always quoted with every step; a long
 * section is quoted as a window of whole units (a long paragraph as whole sentences) around
 * the best match, never cut at "；", ":" or mid-clause. Which section answers the question
 * is decided by the idf-weighted share of the question's terms in its heading path and in
 * its text, and whether it is a procedure when the question asks how to do something.
 */
import { joinText, sizeOf } from '../ingest/chunker';
import { normalizeForMatch } from '../text/normalize';
import { buildKeywordQuery } from '../text/terms';

/** A section of a document, as the answer service assembles it from ranked chunks. */
export interface Passage {
  title: string;
  headingPath: string[];
  pageStart: number | null;
  pageEnd: number | null;
  /** The section's text: its chunks joined without their overlap. */
  text: string;
  isSafety: boolean;
  /** Position of its best chunk in the retrieval ranking (0 = first). */
  rank: number;
}

export type UnitKind = 'heading' | 'item' | 'para' | 'row';

export interface TextUnit {
  kind: UnitKind;
  text: string;
}

/** Numbered or bulleted list item: "1. ", "2)", "3、", "(4)", "- ", "● ", "第5步". Not "3.2 E-203" (a heading number). */
const LIST_ITEM_RE =
  /^(?:\d{1,2}[.)．、](?!\d)|[（(]\d{1,2}[)）]|[-•●▪◦*・]\s|[a-z][.)]\s|第[一二三四五六七八九十\d]{1,3}[步條项項])/u;
const NUMBERED_RE = /^(?:\d{1,2}[.)．、](?!\d)|[（(]\d{1,2}[)）]|第[一二三四五六七八九十\d]{1,3}[步條项項])/u;
const TABLE_ROW_RE = / \| /;
const STEP_ONE_RE = /^(?:1[.)．、](?!\d)|[（(]1[)）])/u;
/** A line that ends a sentence or introduces what follows; a line ending otherwise was wrapped. */
const LINE_END_RE = /[。！？!?.:：;；」』）)"”]$/u;
/** Size (see sizeOf) of a line long enough to have been wrapped at the page width. */
const WRAP_MIN = 24;

/**
 * Join consecutive chunks of one section: the chunker starts each chunk with the last
 * units of the previous one (overlap), so the longest suffix of `a` that begins `b` is
 * dropped from `b`.
 */
export function joinChunkTexts(texts: string[]): string {
  let out = '';
  for (const raw of texts) {
    const t = raw.trim();
    if (!out) {
      out = t;
      continue;
    }
    let k = Math.min(out.length, t.length);
    while (k >= 6 && !out.endsWith(t.slice(0, k))) k--;
    if (k >= 6) {
      const rest = t.slice(k);
      out = rest.startsWith('\n') || !rest ? out + rest : joinText(out, rest.trimStart());
    } else {
      out = `${out}\n${t}`;
    }
  }
  return out;
}

/**
 * Read a section's text back into units. The first line is the heading when it repeats the
 * section's heading; a line that is not an item or a table row continues the item before
 * it (long list items are stored one sentence per line) or a paragraph whose line was
 * wrapped (no sentence end).
 */
export function passageUnits(text: string, heading?: string): TextUnit[] {
  const units: TextUnit[] = [];
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  lines.forEach((line, i) => {
    if (i === 0 && heading !== undefined && squash(line) === squash(heading)) {
      units.push({ kind: 'heading', text: line });
      return;
    }
    const prev = units.at(-1);
    // A wrapped line follows a full-width one; short lines without a stop are cells or labels.
    const wrapped = prev?.kind === 'para' && !LINE_END_RE.test(prev.text) && sizeOf(lines[i - 1] ?? '') >= WRAP_MIN;
    // A line that introduces a list ("Alignment（对准操作）：" before step 5, anything before a step 1)
    // does not continue the item before it.
    const next = lines[i + 1] ?? '';
    const intro = (/[:：]$/.test(line) && LIST_ITEM_RE.test(next)) || STEP_ONE_RE.test(next);
    if (LIST_ITEM_RE.test(line)) units.push({ kind: 'item', text: line });
    else if (TABLE_ROW_RE.test(line)) units.push({ kind: 'row', text: line });
    else if (prev && ((prev.kind === 'item' && !intro) || wrapped)) prev.text = joinText(prev.text, line);
    else units.push({ kind: 'para', text: line });
  });
  return units;
}

// Whole sentences only: 。！？!? and a Latin full stop before a space (not a list number).
// Unlike the chunker's splitter, never at "；" or ":" — those join clauses of one sentence.
const WHOLE_SENTENCE_RE = /(?<=[。！？!?])(?![」』）)"”])|(?<=[\p{L}\p{N}\p{Pe}"'”]\.)(?<!(?:^|\s)\d{1,3}\.)(?=\s)/u;

export function wholeSentences(text: string): string[] {
  return text
    .split(WHOLE_SENTENCE_RE)
    .map((s) => s.trim())
    .filter(Boolean);
}

function squash(s: string): string {
  return normalizeForMatch(s).replace(/\s+/g, '');
}

/** What the scorer needs to know about the question. */
export interface QuestionTerms {
  terms: string[];
  weights: Map<string, number>;
  /** The question asks how to do something (steps, procedure, what to do before…). */
  procedural: boolean;
}

const PROCEDURAL_RE =
  /如何|怎麼|怎么|怎樣|怎样|步驟|步骤|程序|流程|要做什麼|要做什么|做法|方法|之前|前要|\bhow (?:do|to|should|can|must)\b|\bsteps?\b|\bprocedure\b|\bwhat (?:should|must|do) (?:i|we|you)\b|\bbefore\b/i;

// Chinese question words. Removed before the text is cut into bigrams, so that no bigram
// straddles one ("作業完成後如何復電" gives 成後 and 復電, not 後如 and 何復, which match nothing).
const CHINESE_QUESTION_WORDS_RE =
  /為什麼|为什么|什麼|什么|如何|怎麼|怎么|怎樣|怎样|哪些|哪個|哪个|哪裡|哪里|是否|應該|应该|請問|请问|多少|嗎|吗|呢/g;

const ENGLISH_MODALS_RE = /\b(?:must|need|needs|shall|may|might|ought)\b/gi;

/**
 * The question's content terms (as the keyword index spells them), without Chinese question
 * words. Given `seen` (does a term occur in the knowledge base?), a Chinese bigram that occurs
 * nowhere while the bigrams on both sides of it do is dropped: it straddles two words ("人感"
 * in "有人感電") and is no topic of its own. An unknown word ("保固期") stays and counts.
 */
export function contentTerms(question: string, seen?: (term: string) => boolean): string[] {
  const cleaned = question.replace(CHINESE_QUESTION_WORDS_RE, ' ').replace(ENGLISH_MODALS_RE, ' ');
  const terms = buildKeywordQuery(cleaned).terms;
  if (!seen) return terms;
  const straddling = new Set<string>();
  for (const run of normalizeForMatch(cleaned).match(/\p{Script=Han}{2,}/gu) ?? []) {
    const chars = Array.from(run);
    const grams = chars.slice(1).map((c, i) => `${chars[i]}${c}`);
    grams.forEach((g, i) => {
      const sides = [grams[i - 1], grams[i + 1]].filter((x): x is string => x !== undefined);
      if (!seen(g) && sides.length > 0 && sides.every(seen)) straddling.add(g);
    });
  }
  return terms.filter((t) => !straddling.has(t));
}

export function questionTerms(
  question: string,
  idf: (terms: string[]) => Map<string, number>,
  seen?: (term: string) => boolean,
): QuestionTerms {
  const terms = contentTerms(question, seen);
  return { terms, weights: idf(terms), procedural: PROCEDURAL_RE.test(question) };
}

/** idf-weighted share (0..1) of the question's terms found in `text`. */
export function termCoverage(q: QuestionTerms, text: string): number {
  const total = q.terms.reduce((acc, t) => acc + (q.weights.get(t) ?? 0), 0);
  if (total <= 0) return 0;
  const norm = normalizeForMatch(text);
  return q.terms.filter((t) => norm.includes(t)).reduce((acc, t) => acc + (q.weights.get(t) ?? 0), 0) / total;
}

export function isProcedure(units: TextUnit[]): boolean {
  return units.filter((u) => u.kind === 'item' && NUMBERED_RE.test(u.text)).length >= 2;
}

export interface PassageScore {
  score: number;
  /** Share of the question's terms in the heading path. */
  heading: number;
  /** Share of the question's terms in the heading path and text. */
  body: number;
  procedure: boolean;
}

/**
 * How well a section answers the question: the terms it holds, more so in its heading
 * ("3.2 E-203 伺服過載之復位" over a log entry that only repeats the code), a numbered
 * procedure when the question asks how, and a little of the retrieval order.
 */
export function scorePassage(q: QuestionTerms, p: Passage): PassageScore {
  // The section's own headings: a document title matches every section of its document alike.
  // Its own (last) heading counts most: "6.2 Belt tracking", not the parent "6. Belt tension and tracking".
  const own = p.headingPath.filter((h) => squash(h) !== squash(p.title));
  const headingText = own.join(' ');
  const heading = 0.7 * termCoverage(q, own.at(-1) ?? '') + 0.3 * termCoverage(q, headingText);
  const body = termCoverage(q, `${p.title}\n${headingText}\n${p.text}`);
  const procedure = isProcedure(passageUnits(p.text, p.headingPath.at(-1)));
  const score =
    0.55 * body + 0.35 * heading + (q.procedural && procedure && body >= 0.3 ? 0.15 : 0) - 0.02 * Math.min(p.rank, 10);
  return { score, heading, body, procedure };
}

export interface ExtractiveOptions {
  /** At most this many passages are quoted. */
  maxPassages?: number;
  /** Size budget (approximate tokens, see sizeOf) of one quoted passage that is not a procedure. */
  passageBudget?: number;
  /** Size budget of a numbered procedure (it is quoted whole up to this size). */
  procedureBudget?: number;
}

export interface QuotedPassage<P extends Passage = Passage> {
  /** Citation number (1.. in the order quoted). */
  n: number;
  passage: P;
  score: PassageScore;
  units: TextUnit[];
  /** Units left out before / after the quoted window. */
  cutBefore: boolean;
  cutAfter: boolean;
  /** The quoted unit that matches the question best. */
  best: string;
}

export interface ExtractiveAnswer<P extends Passage = Passage> {
  /** The answer text with one [n] marker per quoted passage. */
  text: string;
  quoted: Array<QuotedPassage<P>>;
  /** How well the first quoted section matches, and its lead over the next candidate (for confidence). */
  signals: { passage: number; heading: number; margin: number };
}

/** Terms that tell the units of a section apart: not those of its title and headings, which fit them all. */
function locatingTerms(q: QuestionTerms, p: Passage): QuestionTerms {
  const where = normalizeForMatch(`${p.title}\n${p.headingPath.join('\n')}`);
  const terms = q.terms.filter((t) => !where.includes(t));
  return terms.length ? { ...q, terms } : q;
}

const stepNumber = (u: TextUnit | undefined): number | null => {
  if (u?.kind !== 'item') return null;
  const m = /^[（(]?(\d{1,2})/.exec(u.text);
  return m ? Number(m[1]) : null;
};

/** Units that may sit between two consecutive steps (a nested sub-list, a note). */
const MAX_GAP = 4;

/**
 * The numbered procedure that holds unit `at` (or that the label at `at` introduces): back to
 * its step 1 and the line introducing it, forward while the numbers go on (a nested list that
 * restarts at 1, or a note, may sit between two steps).
 */
export function procedureRun(units: TextUnit[], at: number): { lo: number; hi: number; size: number } | null {
  let anchor = at;
  let lo = at;
  if (stepNumber(units[at]) === null) {
    // A line introducing a list: the list starts right after it (at step 1, or where its numbering goes on).
    if (stepNumber(units[at + 1]) === null) return null;
    anchor = at + 1;
  }
  for (let want = (stepNumber(units[anchor]) as number) - 1; anchor === at && want >= 1; want--) {
    let i = lo - 1;
    while (i >= 0 && lo - i <= MAX_GAP && stepNumber(units[i]) !== want) i--;
    if (i < 0 || lo - i > MAX_GAP || stepNumber(units[i]) !== want) return null;
    lo = i;
  }
  if (anchor === at && lo > 0 && units[lo - 1]?.kind === 'para') lo--;
  let hi = anchor;
  for (let want = (stepNumber(units[anchor]) as number) + 1; ; want++) {
    let i = hi + 1;
    while (i < units.length && i - hi <= MAX_GAP && stepNumber(units[i]) !== want) i++;
    if (i >= units.length || i - hi > MAX_GAP || stepNumber(units[i]) !== want) break;
    hi = i;
  }
  // A note right after the last step (its continuation or condition) belongs to it.
  if (units[hi + 1]?.kind === 'para' && !/[:：]$/.test(units[hi + 1]?.text ?? '')) hi++;
  const size = units.slice(lo, hi + 1).reduce((acc, u) => acc + sizeOf(u.text), 0);
  return { lo, hi, size };
}

/** The unit that matches the question best (the first of equals). */
function bestUnit(q: QuestionTerms, units: TextUnit[]): number {
  let best = 0;
  let bestScore = -1;
  units.forEach((u, i) => {
    const s = termCoverage(q, u.text);
    if (s > bestScore) {
      bestScore = s;
      best = i;
    }
  });
  return best;
}

interface Window {
  units: TextUnit[];
  cutBefore: boolean;
  cutAfter: boolean;
  /** The quoted unit that matches the question best (where the citation should open). */
  best: string;
}

/** A window of whole units (and, inside one over-long paragraph, whole sentences) around the best match. */
function window(q: QuestionTerms, units: TextUnit[], budget: number): Window {
  const body = units.filter((u) => u.kind !== 'heading');
  const total = body.reduce((acc, u) => acc + sizeOf(u.text), 0);
  if (total <= budget)
    return { units: body, cutBefore: false, cutAfter: false, best: body[bestUnit(q, body)]?.text ?? '' };
  // Split paragraphs longer than the budget into whole sentences.
  const pieces: TextUnit[] = body.flatMap((u) =>
    u.kind === 'para' && sizeOf(u.text) > budget
      ? wholeSentences(u.text).map((s) => ({ kind: 'para' as const, text: s }))
      : [u],
  );
  const best = bestUnit(q, pieces);
  const bestText = pieces[best]?.text ?? '';
  const run = procedureRun(pieces, best);
  if (run && run.size <= budget) {
    const cut = { cutBefore: run.lo > 0, cutAfter: run.hi < pieces.length - 1 };
    return { units: pieces.slice(run.lo, run.hi + 1), ...cut, best: bestText };
  }
  let lo = best;
  let hi = best;
  let size = sizeOf(bestText);
  // Grow around the best unit, preferring what follows (steps and explanations come after).
  for (;;) {
    const next = pieces[hi + 1];
    const prev = pieces[lo - 1];
    if (next && size + sizeOf(next.text) <= budget) {
      hi++;
      size += sizeOf(next.text);
    } else if (prev && size + sizeOf(prev.text) <= budget) {
      lo--;
      size += sizeOf(prev.text);
    } else break;
  }
  return { units: pieces.slice(lo, hi + 1), cutBefore: lo > 0, cutAfter: hi < pieces.length - 1, best: bestText };
}

function pageLabel(p: Passage): string {
  if (p.pageStart === null) return '';
  return p.pageEnd !== null && p.pageEnd !== p.pageStart ? `p.${p.pageStart}–${p.pageEnd}` : `p.${p.pageStart}`;
}

/** "title › heading › subheading · p.2" (the title once, even when the heading path repeats it). */
export function whereLabel(p: Passage): string {
  const path = [p.title, ...p.headingPath.filter((h, i) => !(i === 0 && squash(h) === squash(p.title)))];
  return [path.join(' › '), pageLabel(p)].filter(Boolean).join(' · ');
}

/**
 * Choose the passages that answer the question and quote them. The best-scoring passage is
 * always quoted; a second one when it scores nearly as well and holds a question term the
 * first lacks, or when it is a safety rule and the first is not (hazardous work: the rule is
 * quoted too). Quoted passages are numbered [1].. in order.
 */
export function extractiveAnswer<P extends Passage>(
  q: QuestionTerms,
  passages: P[],
  opts: ExtractiveOptions = {},
): ExtractiveAnswer<P> {
  const maxPassages = opts.maxPassages ?? 2;
  const passageBudget = opts.passageBudget ?? 260;
  const procedureBudget = opts.procedureBudget ?? 900;
  const scored = passages
    .map((p) => ({ p, s: scorePassage(q, p) }))
    .sort((a, b) => b.s.score - a.s.score || a.p.rank - b.p.rank);
  const top = scored[0];
  if (!top) return { text: '', quoted: [], signals: { passage: 0, heading: 0, margin: 0 } };
  const chosen = [top];
  const topText = normalizeForMatch(`${top.p.title}\n${top.p.headingPath.join('\n')}\n${top.p.text}`);
  const missing = q.terms.filter((t) => !topText.includes(t));
  for (const c of scored.slice(1)) {
    if (chosen.length >= maxPassages) break;
    // Nearly as good, and holding a question term the first one lacks.
    const close = c.s.score >= 0.9 * top.s.score && termCoverage({ ...q, terms: missing }, c.p.text) > 0;
    const safety = c.p.isSafety && !chosen.some((x) => x.p.isSafety) && c.s.body >= 0.5 * top.s.body;
    if (close || safety) chosen.push(c);
  }
  const quoted: Array<QuotedPassage<P>> = chosen.map(({ p, s }, i) => {
    const units = passageUnits(p.text, p.headingPath.at(-1));
    const budget = s.procedure ? procedureBudget : passageBudget;
    return { n: i + 1, passage: p, score: s, ...window(locatingTerms(q, p), units, budget) };
  });
  const text = quoted
    .map((qp) => {
      const lines = [`${whereLabel(qp.passage)} [${qp.n}]`];
      if (qp.cutBefore) lines.push('…');
      lines.push(...qp.units.map((u) => u.text));
      if (qp.cutAfter) lines.push('…');
      return lines.join('\n');
    })
    .join('\n\n');
  const runnerUp = scored[1]?.s.score ?? 0;
  const signals = {
    passage: top.s.body,
    heading: top.s.heading,
    margin: Math.max(0, Math.min(1, top.s.score - runnerUp)),
  };
  return { text, quoted, signals };
}
