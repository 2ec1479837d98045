/**
 * Question → retrieval (with the conversation for follow-ups, and the safety rules for
 * hazardous work) → prompt within the token budget → streamed answer from the local LLM
 * (or extractive sentences without one) → citations mapped and checked → confidence →
 * stored with the conversation.
 */
import type { AnswerSettings } from '../config';
import { FieldbookError } from '../errors';
import type { Generator } from '../llm/llm-client';
import type { RankedChunk, SearchFilters, SearchService } from '../search/search-service';
import {
  conversationAnswers,
  contextPassages,
  conversationExists,
  createConversation,
  saveAnswer,
  type AnswerRecord,
  type StoredCitation,
} from '../store/conversations';
import type { Db } from '../store/db';
import { isChineseText, normalizeForMatch, simplifiedToTraditional } from '../text/normalize';
import { makeSnippet } from '../text/snippet';
import { buildKeywordQuery } from '../text/terms';
import { analyseCitations } from './citations';
import { contentTerms, extractiveAnswer, questionTerms } from './extractive';
import { answerConfidence, type ConfidenceSignals } from './confidence';
import { chunkHolding, sectionPassages } from './passages';
import { buildUserPrompt, fitBlocks, renderBlock, toBlocks, type ContextBlock } from './prompt';
import { termIdf } from '../search/term-stats';
import { hazardTopics } from './safety';

export type AnswerMode = 'generative' | 'extractive' | 'not-found';

export interface AskOptions {
  conversationId?: number;
  filters?: SearchFilters;
  onToken?: (text: string) => void;
  /**
   * The passages the model will read, as numbered citation chips, sent before generation starts
   * (a CPU model needs seconds to read them; the UI shows them meanwhile).
   */
  onPassages?: (passages: StoredCitation[]) => void;
  signal?: AbortSignal;
}

export interface AnswerResult extends AnswerRecord {
  /** Markers in the model's text that pointed at no passage (removed from `answer`). */
  invalidCitations: number[];
  /** Safety rules shown beside the answer for hazardous work. */
  safetyRules: StoredCitation[];
  /** Why generation did not run or stopped early, if it did. */
  notice: string | null;
  stopReason: string | null;
  /** What the confidence was computed from (not stored; absent on answers read back from a conversation). */
  confidenceSignals?: ConfidenceSignals;
  /**
   * Generated answers only (not stored): the answer's content sentences, how many carry a citation
   * whose block supports them (the same check that marks a citation supported), and how many cite nothing.
   */
  sentenceSupport?: SentenceSupport;
}

export interface SentenceSupport {
  sentences: number;
  supported: number;
  uncited: number;
}

export interface AnswerService {
  ask(question: string, opts?: AskOptions): Promise<AnswerResult>;
}

export interface AnswerDeps {
  db: Db;
  search: SearchService;
  /** The active LLM, or null when none is installed (extractive mode). May throw if loading fails. */
  getGenerator: () => Promise<Generator | null>;
  settings: () => AnswerSettings;
  now?: () => Date;
}

const NOT_FOUND = {
  zh: '知識庫中找不到這個問題的答案。請換個說法，或請管理員加入相關文件。',
  en: 'The knowledge base does not contain an answer to this question. Try other words, or ask an administrator to add the relevant document.',
};
const NO_SAFETY_RULE = {
  zh: '⚠ 注意：這是危險作業，但知識庫中找不到相關的安全規定。作業前請先向主管或安全人員確認程序。',
  en: '⚠ Caution: this is hazardous work, but no safety rule for it was found in the knowledge base. Confirm the procedure with your supervisor or safety officer before starting.',
};
const EXTRACTIVE_LABEL = { zh: '（摘錄模式：以下為文件原文）', en: '(Extractive mode: quoted from the documents)' };

// Words that point back at the previous question: pronouns ("reset it", "其中哪些", "這台"),
// and "this"/"that" standing alone ("how do I do that?"), not "that valve" or "the part that…".
const REFERS_BACK_RE =
  /\b(?:it|its|they|them|their|these|those|he|she|him|her|the same|the other one|the previous one)\b|\b(?:this|that)(?:\s+one)?\s*[?.!]*$|它|這個|这个|那個|那个|這些|这些|那些|這台|这台|那台|這樣|这样|那樣|那样|上述|前述|同樣|同样/i;
// Ellipsis: a question that only makes sense after the previous one ("and for Press-3?", "那 F0001 呢？").
const ELLIPSIS_RE =
  /^\s*(?:and|also|then|so|what about|how about|what if|and if|same for|or)\b|^\s*(?:那麼|那么|那如果|如果是|還有|还有|另外|那|而)|呢[？?]?\s*$/i;

/** Most content words a question with a pronoun may have and still be a follow-up (tuned: see README). */
const MAX_FOLLOW_UP_TOPIC = 4;

/**
 * Whether a question refers back to the one before it: a pronoun, an ellipsis, or no content
 * word of its own ("why?", "怎麼做？"). A new question with its own topic is not a follow-up,
 * however short ("What is the warranty period of the robot arm?").
 */
export function refersBack(question: string): boolean {
  const terms = contentTerms(question);
  // A lone Chinese character ("做" in "怎麼做？") is no topic of its own.
  if (terms.every((t) => /^\p{Script=Han}$/u.test(t))) return true;
  if (ELLIPSIS_RE.test(question)) return true;
  // A pronoun refers back only in a question with little topic of its own: "how do I reset it?",
  // not "Is it possible to add or remove contacts from groups?" (words; a Chinese bigram counts half).
  const topic = terms.reduce((acc, t) => acc + (/\p{Script=Han}/u.test(t) ? 0.5 : 1), 0);
  return topic <= MAX_FOLLOW_UP_TOPIC && REFERS_BACK_RE.test(question);
}

/** Follow-ups such as "and how do I reset it?" are retrieved together with the previous question. */
export function retrievalQueryFor(question: string, previous: string[]): string {
  const last = previous.at(-1);
  if (!last) return question;
  return refersBack(question) ? `${last}\n${question}` : question;
}

/**
 * How strongly retrieval matched (0..1): the idf-weighted share of the question's terms
 * found in one of the best passages — rare words count, common ones barely do.
 */
export function retrievalStrength(
  question: string,
  ranked: RankedChunk[],
  idf: (terms: string[]) => Map<string, number>,
  seen?: (term: string) => boolean,
): number {
  const terms = contentTerms(question, seen);
  if (terms.length === 0 || ranked.length === 0) return 0;
  const weights = idf(terms);
  const total = terms.reduce((acc, t) => acc + (weights.get(t) ?? 0), 0);
  if (total <= 0) return 0;
  let best = 0;
  for (const r of ranked.slice(0, 3)) {
    const text = normalizeForMatch(`${r.doc.title}\n${r.chunk.headingPath.join(' ')}\n${r.chunk.text}`);
    const found = terms.filter((t) => text.includes(t)).reduce((acc, t) => acc + (weights.get(t) ?? 0), 0);
    best = Math.max(best, found / total);
  }
  const vector = ranked[0]?.scores.vector;
  // A strong semantic match counts even when few words are shared.
  return Math.max(best, vector !== undefined ? Math.min(1, Math.max(0, (vector - 0.5) * 2)) : 0);
}

/** Whether a term occurs in the knowledge base (its idf is below that of a term in no chunk). */
function termSeen(db: Db): (term: string) => boolean {
  const chunks = (db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
  const unseen = Math.log(2 * chunks + 2) - 1e-9;
  return (term) => (termIdf(db, [term]).get(term) ?? unseen) < unseen;
}

/** How far the best retrieved chunk leads the best one from another document (0..1; 1 when alone). */
export function retrievalLead(ranked: RankedChunk[]): number {
  const first = ranked[0];
  if (!first || first.scores.fused <= 0) return 0;
  const other = ranked.find((r) => r.doc.id !== first.doc.id);
  return other ? Math.max(0, Math.min(1, 1 - other.scores.fused / first.scores.fused)) : 1;
}

/** Below this retrieval strength the answer is "not found" (tuned on the dev sets; see README). */
const MIN_STRENGTH = 0.2;
/** Ranked chunks an extractive answer chooses its sections from. */
const EXTRACTIVE_CANDIDATES = 8;

function citationFor(
  block: ContextBlock,
  ranked: RankedChunk,
  question: string,
  support: { supported: boolean; score: number },
): StoredCitation {
  return {
    n: block.n,
    chunkId: block.chunkId,
    docId: block.docId,
    docTitle: block.title,
    docVersion: ranked.doc.version,
    sourcePath: ranked.doc.source_path,
    sensitivity: ranked.doc.sensitivity,
    page: block.page,
    headingPath: block.headingPath,
    snippet: makeSnippet(block.text, buildKeywordQuery(question).terms).text,
    score: Math.round(ranked.scores.fused * 10_000) / 10_000,
    supported: support.supported,
    supportScore: support.score,
    ocrConfidence: ranked.chunk.ocrConfidence,
  };
}

/** Traditional Chinese for a Chinese question, with how many characters had to change. */
function toTraditional(text: string): { text: string; converted: number } {
  const out = simplifiedToTraditional(text);
  let converted = 0;
  for (let i = 0; i < Math.min(out.length, text.length); i++) if (out[i] !== text[i]) converted++;
  return { text: out, converted };
}

const squashHeader = (s: string): string =>
  normalizeForMatch(s.replace(/\[\d{1,3}\]|\(SAFETY RULE\)/g, '')).replace(/[\s—›·\-–:：]+/g, '');

/** Whether a generated sentence is only (part of) a context block's header line: title, page, heading path. */
export function isEchoedHeader(sentence: string, blocks: ContextBlock[]): boolean {
  const s = squashHeader(sentence);
  if (!s) return true;
  return blocks.some((b) => squashHeader(renderBlock(b).split('\n')[0] ?? '').includes(s));
}

function generationTimings(r: {
  timeToFirstTokenMs: number | null;
  totalMs: number;
  tokens: number;
}): Record<string, number | null> {
  return { timeToFirstTokenMs: r.timeToFirstTokenMs, generationMs: r.totalMs, tokens: r.tokens };
}

/** An answer cut by the token limit, up to its last complete sentence (and the markers after it). */
export function toLastSentence(text: string): string {
  const ends = [...text.matchAll(/[。！？!?]|\.(?=\s|$)|\n/gu)];
  const last = ends.at(-1);
  if (!last || last.index === undefined) return text;
  const after = /^(\s*\[\d{1,3}\])+/.exec(text.slice(last.index + 1))?.[0] ?? '';
  const cut = text.slice(0, last.index + 1) + after;
  return cut.trim().length >= text.trim().length * 0.3 ? cut.trimEnd() : text;
}

export function createAnswerService(deps: AnswerDeps): AnswerService {
  const { db, search } = deps;
  const now = deps.now ?? (() => new Date());

  return {
    async ask(question, opts = {}) {
      const q = question.trim();
      if (!q) throw new FieldbookError('INVALID_INPUT', { detail: 'the question is empty' });
      if (q.length > 4000)
        throw new FieldbookError('INVALID_INPUT', { detail: 'the question is longer than 4,000 characters' });
      const settings = deps.settings();
      const t0 = performance.now();
      let conversationId = opts.conversationId;
      if (conversationId !== undefined && !conversationExists(db, conversationId)) {
        throw new FieldbookError('CONVERSATION_NOT_FOUND', { detail: `id ${conversationId}` });
      }
      const previous =
        conversationId !== undefined ? conversationAnswers(db, conversationId).map((a) => a.question) : [];
      conversationId ??= createConversation(db, q, now());
      const chinese = isChineseText(q);
      const lang = chinese ? 'zh' : 'en';
      const retrievalQuery = retrievalQueryFor(q, previous);

      const ranking = await search.rank(retrievalQuery, {
        k: settings.retrievalDepth,
        ...(opts.filters ? { filters: opts.filters } : {}),
      });
      const topics = hazardTopics(q);
      let safetyRanked: RankedChunk[] = [];
      if (topics.length > 0) {
        const safety = await search.rank(retrievalQuery, { k: 3, filters: { ...opts.filters, safetyOnly: true } });
        safetyRanked = safety.ranked;
      }
      const retrievalMs = Math.round(performance.now() - t0);
      // Safety rules lead the context so the model sees them first; duplicates are dropped.
      const seen = new Set<number>();
      const ordered = [...safetyRanked, ...ranking.ranked].filter((r) => !seen.has(r.chunk.id) && seen.add(r.chunk.id));
      const inKb = termSeen(db);
      const strength = retrievalStrength(retrievalQuery, ranking.ranked, (terms) => termIdf(db, terms), inKb);
      // Hazardous work without a matching safety rule: say so first, prominently.
      const safetyWarning = topics.length > 0 && safetyRanked.length === 0 ? NO_SAFETY_RULE[lang] : null;
      if (safetyWarning) opts.onToken?.(`${safetyWarning}\n\n`);
      const rankedById = new Map(ordered.map((r) => [r.chunk.id, r]));

      const finish = (fields: {
        answer: string;
        mode: AnswerMode;
        model: string | null;
        blocks: ContextBlock[];
        used: Map<number, { supported: boolean; score: number }>;
        coverage: number;
        invalid: number[];
        notice: string | null;
        stopReason: string | null;
        timings: Record<string, number | null>;
        /** Extractive: how well the quoted section matches (see confidence.ts). */
        signals?: Pick<ConfidenceSignals, 'passage' | 'heading' | 'margin' | 'agreement'>;
        sentenceSupport?: SentenceSupport;
      }): AnswerResult => {
        const citations = fields.blocks
          .filter((b) => fields.used.has(b.n))
          .map((b) =>
            citationFor(
              b,
              rankedById.get(b.chunkId) as RankedChunk,
              q,
              fields.used.get(b.n) as { supported: boolean; score: number },
            ),
          );
        const safetyRules = safetyRanked.map((r, i) =>
          citationFor({ ...(toBlocks([r])[0] as ContextBlock), n: i + 1 }, r, q, { supported: true, score: 1 }),
        );
        const rulesFound = safetyRules.length > 0;
        const answer = safetyWarning ? `${safetyWarning}\n\n${fields.answer}` : fields.answer;
        const signals: ConfidenceSignals = {
          retrieval: strength,
          lead: retrievalLead(ranking.ranked),
          citationCoverage: fields.coverage,
          ...fields.signals,
        };
        const confidence = answerConfidence(fields.mode, signals, chinese);
        const record: Omit<AnswerRecord, 'id' | 'createdAt'> = {
          conversationId: conversationId as number,
          question: q,
          retrievalQuery,
          answer,
          mode: fields.mode,
          model: fields.model,
          language: chinese ? 'zh-TW' : 'en',
          citations,
          // Every passage the answer was made from (and the safety rules shown with it), with its label.
          context: contextPassages(db, [
            ...fields.blocks.map((b) => b.chunkId),
            ...safetyRanked.map((r) => r.chunk.id),
          ]),
          safety: { topics, rulesFound, rules: safetyRules },
          confidence,
          needsReview: fields.mode !== 'not-found' && confidence < settings.confidenceThreshold,
          timings: { ...fields.timings, retrievalMs, totalMs: Math.round(performance.now() - t0) },
        };
        const id = saveAnswer(db, record, now());
        return {
          ...record,
          id,
          createdAt: now().toISOString(),
          invalidCitations: fields.invalid,
          confidenceSignals: signals,
          safetyRules,
          notice: fields.notice,
          stopReason: fields.stopReason,
          ...(fields.sentenceSupport ? { sentenceSupport: fields.sentenceSupport } : {}),
        };
      };

      if (ordered.length === 0 || (strength < MIN_STRENGTH && safetyRanked.length === 0)) {
        opts.onToken?.(NOT_FOUND[lang]);
        return finish({
          answer: NOT_FOUND[lang],
          mode: 'not-found',
          model: null,
          blocks: [],
          used: new Map(),
          coverage: 0,
          invalid: [],
          notice: ranking.notice ?? null,
          stopReason: null,
          timings: {},
        });
      }

      const allBlocks = toBlocks(ordered);
      let generator: Generator | null = null;
      let notice: string | null = ranking.notice ?? null;
      try {
        generator = await deps.getGenerator();
      } catch (err) {
        notice = err instanceof Error ? err.message : String(err);
      }

      // Extractive: the sections that answer the question, quoted whole with where they are from.
      const extractive = (why: string | null, generation: Record<string, number | null> = {}): AnswerResult => {
        const passages = sectionPassages(db, ordered.slice(0, EXTRACTIVE_CANDIDATES));
        const answer = extractiveAnswer(
          questionTerms(q, (terms) => termIdf(db, terms), inKb),
          passages,
        );
        const text = `${EXTRACTIVE_LABEL[lang]}\n${answer.text}`;
        opts.onToken?.(text);
        const blocks: ContextBlock[] = answer.quoted.map(({ n, passage, best, units }) => {
          // The citation opens the chunk holding the part of the quote that answers best.
          const cited = chunkHolding(
            passage,
            best,
            units.map((u) => u.text),
          );
          rankedById.set(cited.chunk.id, cited);
          return {
            n,
            chunkId: cited.chunk.id,
            docId: passage.ranked.doc.id,
            title: passage.title,
            page: cited.chunk.pageStart,
            headingPath: passage.headingPath,
            text: passage.text,
            isSafety: passage.isSafety,
          };
        });
        return finish({
          answer: text,
          mode: 'extractive',
          model: null,
          blocks,
          // A verbatim quote supports itself.
          used: new Map(blocks.map((b) => [b.n, { supported: true, score: 1 }])),
          coverage: 1,
          signals: { ...answer.signals, agreement: answer.quoted[0]?.passage.rank === 0 ? 1 : 0 },
          invalid: [],
          notice: why,
          stopReason: null,
          // After a generation that was discarded: what it cost (the eval counts these fallbacks).
          timings: generation,
        });
      };

      if (!generator) return extractive(notice ?? 'No language model installed: extractive answer.');

      const prompt0 = performance.now();
      const budget = Math.min(
        settings.contextTokens,
        Math.max(256, generator.contextSize - settings.maxAnswerTokens - 600),
      );
      const fitted = await fitBlocks(allBlocks, budget, (t) => generator.countTokens(t));
      const user = buildUserPrompt(q, fitted.kept, chinese);
      opts.onPassages?.(
        fitted.kept.map((b) =>
          citationFor(b, rankedById.get(b.chunkId) as RankedChunk, q, { supported: true, score: 0 }),
        ),
      );
      const passagesMs = Math.round(performance.now() - t0);
      // Small models drift to Simplified Chinese: a Chinese question gets Traditional, streamed and stored.
      const onToken = opts.onToken;
      const streamToken = onToken && chinese ? (t: string) => onToken(simplifiedToTraditional(t)) : onToken;
      let result;
      try {
        result = await generator.generate({
          user,
          maxTokens: settings.maxAnswerTokens,
          timeoutMs: settings.timeoutMs,
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(streamToken ? { onToken: streamToken } : {}),
        });
      } catch (err) {
        return extractive(`${err instanceof Error ? err.message : String(err)} — extractive answer instead.`);
      }
      if (!result.text.trim()) {
        return extractive(
          `The language model returned nothing (${result.stopReason}) — extractive answer instead.`,
          generationTimings(result),
        );
      }
      const written = chinese ? toTraditional(result.text) : { text: result.text, converted: 0 };
      // Cut by the token or time limit (a CPU-starved model hits the time limit mid-sentence).
      const cut =
        result.stopReason === 'maxTokens' || result.stopReason === 'timeout'
          ? toLastSentence(written.text)
          : written.text;
      const analysis = analyseCitations(cut, new Map(fitted.kept.map((b) => [b.n, b.text])));
      // A small model may write only markers ("[1] [2][3]") or copy a block's header line
      // (Qwen2.5-Coder-0.5B did both): nothing to show as an answer, so quote the documents instead.
      if (analysis.sentences.every((s) => isEchoedHeader(s.text, fitted.kept))) {
        return extractive(
          'The language model wrote no answer of its own (only block numbers or titles) — extractive answer instead.',
          generationTimings(result),
        );
      }
      const used = new Map<number, { supported: boolean; score: number }>();
      for (const c of analysis.sentences.flatMap((s) => s.checks)) {
        const prev = used.get(c.n);
        if (!prev || c.score > prev.score) used.set(c.n, { supported: c.supported, score: c.score });
      }
      const stopNotice =
        result.stopReason === 'timeout'
          ? 'The answer was stopped at the time limit and ends at its last complete sentence.'
          : result.stopReason === 'cancelled'
            ? 'The answer was cancelled.'
            : result.stopReason === 'maxTokens'
              ? 'The answer reached the length limit and ends at its last complete sentence.'
              : null;
      return finish({
        answer: analysis.cleanedAnswer,
        mode: 'generative',
        model: generator.name,
        blocks: fitted.kept,
        used,
        coverage: analysis.coverage,
        sentenceSupport: {
          sentences: analysis.sentences.length,
          supported: analysis.sentences.filter((s) => s.checks.some((c) => c.supported)).length,
          uncited: analysis.sentences.filter((s) => s.checks.length === 0).length,
        },
        invalid: analysis.invalid,
        notice:
          [
            notice,
            stopNotice,
            fitted.dropped ? `${fitted.dropped} lower-ranked passages left out to fit the context.` : null,
          ]
            .filter(Boolean)
            .join(' ') || null,
        stopReason: result.stopReason,
        timings: {
          promptMs: Math.round(performance.now() - prompt0),
          passagesMs,
          simplifiedCharsConverted: written.converted,
          timeToFirstTokenMs: result.timeToFirstTokenMs,
          generationMs: result.totalMs,
          tokens: result.tokens,
          contextTokens: fitted.tokens,
        },
      });
    },
  };
}
