/** Conversations and their answers (they feed feedback and dataset export), and who may see them. */
import { FieldbookError } from '../errors';
import type { Db } from './db';
import { higherLabel, withinClearance, type Sensitivity } from './documents';

export interface StoredCitation {
  n: number;
  chunkId: number;
  docId: number;
  docTitle: string;
  docVersion: number;
  sourcePath: string;
  /** The document's label when the answer was given (answers saved before this field have none). */
  sensitivity?: Sensitivity;
  page: number | null;
  headingPath: string[];
  snippet: string;
  score: number;
  supported: boolean;
  supportScore: number;
  /** Set when the passage was read by OCR (confidence 0–100). */
  ocrConfidence?: number | null;
}

/** A passage that was in the answer's context (cited or not), with its document's label at that time. */
export interface ContextPassage {
  chunkId: number;
  docId: number;
  sourcePath: string;
  docVersion: number;
  sensitivity: Sensitivity;
}

export interface AnswerRecord {
  id: number;
  conversationId: number;
  question: string;
  retrievalQuery: string;
  answer: string;
  mode: 'generative' | 'extractive' | 'not-found';
  model: string | null;
  language: string;
  citations: StoredCitation[];
  /**
   * Every passage the answer was made from. Null when not known: answers saved before this was
   * stored that cite nothing (they count as restricted).
   */
  context: ContextPassage[] | null;
  /** `rules`: the safety rules shown beside the answer (answers saved before they were stored have none). */
  safety: { topics: string[]; rulesFound: boolean; rules?: StoredCitation[] };
  confidence: number;
  needsReview: boolean;
  timings: Record<string, number | null>;
  createdAt: string;
}

interface AnswerRow {
  id: number;
  conversation_id: number;
  question: string;
  retrieval_query: string;
  answer: string;
  mode: AnswerRecord['mode'];
  model: string | null;
  language: string;
  citations: string;
  context: string | null;
  safety: string;
  confidence: number;
  needs_review: number;
  timings: string;
  created_at: string;
}

/** What an answer was made from: its context, its citations and the safety rules shown with it. */
export type AnswerPassages = Pick<AnswerRecord, 'context' | 'citations' | 'safety'>;

/** The passages of an answer row as stored (for queries that read the `citations`, `context` and `safety` columns). */
export function storedPassages(r: { citations: string; context: string | null; safety: string }): AnswerPassages {
  return {
    citations: JSON.parse(r.citations) as StoredCitation[],
    context: r.context === null ? null : (JSON.parse(r.context) as ContextPassage[]),
    safety: JSON.parse(r.safety) as AnswerRecord['safety'],
  };
}

function toRecord(r: AnswerRow): AnswerRecord {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    question: r.question,
    retrievalQuery: r.retrieval_query,
    answer: r.answer,
    mode: r.mode,
    model: r.model,
    language: r.language,
    ...storedPassages(r),
    confidence: r.confidence,
    needsReview: r.needs_review === 1,
    timings: JSON.parse(r.timings) as AnswerRecord['timings'],
    createdAt: r.created_at,
  };
}

export function createConversation(db: Db, title: string, now: Date): number {
  const stamp = now.toISOString();
  return Number(
    db
      .prepare('INSERT INTO conversations(title, created_at, updated_at) VALUES (?, ?, ?)')
      .run(title.slice(0, 120), stamp, stamp).lastInsertRowid,
  );
}

export function conversationExists(db: Db, id: number): boolean {
  return db.prepare('SELECT 1 FROM conversations WHERE id = ?').get(id) !== undefined;
}

export function conversationAnswers(db: Db, conversationId: number): AnswerRecord[] {
  return (
    db.prepare('SELECT * FROM answers WHERE conversation_id = ? ORDER BY id').all(conversationId) as AnswerRow[]
  ).map(toRecord);
}

export function getAnswer(db: Db, id: number): AnswerRecord | null {
  const row = db.prepare('SELECT * FROM answers WHERE id = ?').get(id) as AnswerRow | undefined;
  return row ? toRecord(row) : null;
}

export function saveAnswer(db: Db, a: Omit<AnswerRecord, 'id' | 'createdAt'>, now: Date): number {
  const stamp = now.toISOString();
  return db.transaction(() => {
    const id = Number(
      db
        .prepare(
          `INSERT INTO answers(conversation_id, question, retrieval_query, answer, mode, model, language, citations, context,
             safety, confidence, needs_review, timings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          a.conversationId,
          a.question,
          a.retrievalQuery,
          a.answer,
          a.mode,
          a.model,
          a.language,
          JSON.stringify(a.citations),
          a.context === null ? null : JSON.stringify(a.context),
          JSON.stringify(a.safety),
          a.confidence,
          a.needsReview ? 1 : 0,
          JSON.stringify(a.timings),
          stamp,
        ).lastInsertRowid,
    );
    db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(stamp, a.conversationId);
    return id;
  })();
}

/** The passages behind an answer, each with its document's label now (a chunk that is gone counts as restricted). */
export function contextPassages(db: Db, chunkIds: number[]): ContextPassage[] {
  const find = db.prepare(
    `SELECT d.id AS docId, d.source_path AS sourcePath, d.version AS docVersion, d.sensitivity
       FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?`,
  );
  const out: ContextPassage[] = [];
  for (const chunkId of new Set(chunkIds)) {
    const d = find.get(chunkId) as Omit<ContextPassage, 'chunkId'> | undefined;
    out.push(d ? { chunkId, ...d } : { chunkId, docId: 0, sourcePath: '', docVersion: 0, sensitivity: 'restricted' });
  }
  return out;
}

/**
 * The label an answer is shown under: the highest of every passage it was made from — its
 * context, its citations and the safety rules shown with it — each as labelled when the answer
 * was given or as its document is labelled now, whichever is higher. An unknown context counts
 * as restricted, and so does a citation with no label of its own or in the context. (Every
 * context passage carries a label; a citation saved before citations did is covered by the
 * context the migration built from it.)
 */
export function answerSensitivity(db: Db, a: AnswerPassages): Sensitivity {
  if (a.context === null) return 'restricted';
  const current = db.prepare('SELECT sensitivity FROM documents WHERE id = ? OR source_path = ?').pluck();
  const inContext = new Set(a.context.map((p) => p.chunkId));
  let label: Sensitivity = 'public';
  for (const p of [...a.context, ...a.citations, ...(a.safety.rules ?? [])]) {
    if (p.sensitivity) label = higherLabel(label, p.sensitivity);
    else if (!inContext.has(p.chunkId)) return 'restricted'; // no label recorded anywhere: unknown
    for (const now of current.all(p.docId, p.sourcePath) as Sensitivity[]) label = higherLabel(label, now);
  }
  return label;
}

export function answerVisible(db: Db, a: AnswerPassages, clearance: Sensitivity): boolean {
  return withinClearance(answerSensitivity(db, a), clearance);
}

/** The answer, or ACCESS_DENIED when it drew on anything above the clearance (INVALID_INPUT when there is none). */
export function visibleAnswer(db: Db, id: number, clearance: Sensitivity): AnswerRecord {
  const a = getAnswer(db, id);
  if (!a) throw new FieldbookError('INVALID_INPUT', { detail: `no answer with id ${id}` });
  if (!answerVisible(db, a, clearance))
    throw new FieldbookError('ACCESS_DENIED', { detail: `answer ${id} draws on documents above your clearance` });
  return a;
}

/** Conversations whose every answer is within the clearance (a title is a question, so it is hidden too). */
export function listConversations(
  db: Db,
  clearance: Sensitivity,
  limit = 50,
): Array<{ id: number; title: string; updatedAt: string; answers: number }> {
  const out: Array<{ id: number; title: string; updatedAt: string; answers: number }> = [];
  const rows = db
    .prepare(
      `SELECT c.id, c.title, c.updated_at AS updatedAt, (SELECT COUNT(*) FROM answers a WHERE a.conversation_id = c.id) AS answers
         FROM conversations c ORDER BY c.updated_at DESC`,
    )
    .all() as Array<{ id: number; title: string; updatedAt: string; answers: number }>;
  for (const c of rows) {
    if (out.length >= limit) break;
    if (conversationAnswers(db, c.id).every((a) => answerVisible(db, a, clearance))) out.push(c);
  }
  return out;
}

export interface FeedbackInput {
  answerId: number;
  /** The sender's clearance: nobody rates or corrects an answer they may not see. */
  clearance: Sensitivity;
  rating: 'up' | 'down';
  comment?: string;
  /**
   * A suggested right answer. It is a suggestion: it waits in the reviewer queue ('pending') and
   * enters training data only once a reviewer accepts or edits it (`reviewCorrection`).
   */
  correction?: string;
  author?: string;
  /**
   * Set when a reviewer writes the correction themselves (the review queue's "write the right
   * answer"): it is approved by them as it is saved.
   */
  approvedBy?: string;
}

/** Where a correction stands: waiting for a reviewer, accepted as written, accepted after an edit, or rejected. */
export type ReviewStatus = 'pending' | 'accepted' | 'edited' | 'rejected';

/** The next number in the order of correction reviews (the dataset export's cursor for corrections). */
function nextReviewSeq(db: Db): number {
  return ((db.prepare('SELECT MAX(review_seq) FROM feedback').pluck().get() as number | null) ?? 0) + 1;
}

export function saveFeedback(db: Db, f: FeedbackInput, now: Date): number {
  visibleAnswer(db, f.answerId, f.clearance);
  const corrected = f.correction !== undefined && f.correction.trim() !== '';
  const approved = corrected && f.approvedBy !== undefined;
  return db.transaction(() =>
    Number(
      db
        .prepare(
          `INSERT INTO feedback(answer_id, rating, comment, correction, author, created_at,
             review_status, reviewed_by, reviewed_at, approved_correction, review_seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          f.answerId,
          f.rating,
          f.comment ?? null,
          corrected ? (f.correction ?? null) : null,
          f.author ?? null,
          now.toISOString(),
          corrected ? (approved ? 'accepted' : 'pending') : null,
          approved ? (f.approvedBy ?? null) : null,
          approved ? now.toISOString() : null,
          approved ? (f.correction ?? null) : null,
          approved ? nextReviewSeq(db) : null,
        ).lastInsertRowid,
    ),
  )();
}

export interface FeedbackRecord {
  id: number;
  answerId: number;
  rating: 'up' | 'down';
  comment: string | null;
  correction: string | null;
  author: string | null;
  createdAt: string;
  /** Null for feedback without a correction. */
  reviewStatus: ReviewStatus | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  /** The text that enters training data: the correction as written (accepted) or as the reviewer edited it. */
  approvedCorrection: string | null;
}

export function getFeedback(db: Db, id: number): FeedbackRecord | null {
  const row = db
    .prepare(
      `SELECT id, answer_id AS answerId, rating, comment, correction, author, created_at AS createdAt,
         review_status AS reviewStatus, reviewed_by AS reviewedBy, reviewed_at AS reviewedAt,
         approved_correction AS approvedCorrection
       FROM feedback WHERE id = ?`,
    )
    .get(id) as FeedbackRecord | undefined;
  return row ?? null;
}

export interface CorrectionReview {
  feedbackId: number;
  /** accept: the suggestion as written; edit: the reviewer's text instead; reject: it never enters training data. */
  decision: 'accept' | 'edit' | 'reject';
  /** The reviewer's text (edit only). */
  correction?: string;
  reviewer: string;
  /** The reviewer's clearance: nobody reviews a correction of an answer they may not see. */
  clearance: Sensitivity;
}

/**
 * A reviewer's decision on a pending correction (call inside the caller's transaction with its
 * audit entry, or alone). Refused: no such correction or not pending (INVALID_INPUT), an answer
 * above the clearance (ACCESS_DENIED), an edit without text (INVALID_INPUT).
 */
export function reviewCorrection(db: Db, r: CorrectionReview, now: Date): FeedbackRecord {
  const f = getFeedback(db, r.feedbackId);
  if (!f || f.correction === null)
    throw new FieldbookError('INVALID_INPUT', { detail: `no correction with id ${r.feedbackId}` });
  visibleAnswer(db, f.answerId, r.clearance);
  if (f.reviewStatus !== 'pending')
    throw new FieldbookError('INVALID_INPUT', { detail: `correction ${r.feedbackId} is already ${f.reviewStatus}` });
  const edited = r.decision === 'edit' ? (r.correction ?? '').trim() : null;
  if (r.decision === 'edit' && !edited)
    throw new FieldbookError('INVALID_INPUT', { detail: 'an edited correction needs its text' });
  const status: ReviewStatus = r.decision === 'accept' ? 'accepted' : r.decision === 'edit' ? 'edited' : 'rejected';
  const approved = r.decision === 'accept' ? f.correction : edited;
  db.transaction(() => {
    db.prepare(
      `UPDATE feedback SET review_status = ?, reviewed_by = ?, reviewed_at = ?, approved_correction = ?, review_seq = ?
       WHERE id = ? AND review_status = 'pending'`,
    ).run(status, r.reviewer, now.toISOString(), approved, nextReviewSeq(db), f.id);
  })();
  return getFeedback(db, f.id) as FeedbackRecord;
}
