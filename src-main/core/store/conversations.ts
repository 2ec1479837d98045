/** Conversations and their answers (they feed feedback and dataset export). */
import { FieldbookError } from '../errors';
import type { Db } from './db';
import type { Sensitivity } from './documents';

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
  safety: string;
  confidence: number;
  needs_review: number;
  timings: string;
  created_at: string;
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
    citations: JSON.parse(r.citations) as StoredCitation[],
    safety: JSON.parse(r.safety) as AnswerRecord['safety'],
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
          `INSERT INTO answers(conversation_id, question, retrieval_query, answer, mode, model, language, citations, safety,
             confidence, needs_review, timings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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

export function listConversations(
  db: Db,
  limit = 50,
): Array<{ id: number; title: string; updatedAt: string; answers: number }> {
  return db
    .prepare(
      `SELECT c.id, c.title, c.updated_at AS updatedAt, (SELECT COUNT(*) FROM answers a WHERE a.conversation_id = c.id) AS answers
         FROM conversations c ORDER BY c.updated_at DESC LIMIT ?`,
    )
    .all(limit) as Array<{ id: number; title: string; updatedAt: string; answers: number }>;
}

export interface FeedbackInput {
  answerId: number;
  rating: 'up' | 'down';
  comment?: string;
  correction?: string;
  author?: string;
}

export function saveFeedback(db: Db, f: FeedbackInput, now: Date): number {
  if (!getAnswer(db, f.answerId))
    throw new FieldbookError('INVALID_INPUT', { detail: `no answer with id ${f.answerId}` });
  return Number(
    db
      .prepare(
        'INSERT INTO feedback(answer_id, rating, comment, correction, author, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(f.answerId, f.rating, f.comment ?? null, f.correction ?? null, f.author ?? null, now.toISOString())
      .lastInsertRowid,
  );
}
