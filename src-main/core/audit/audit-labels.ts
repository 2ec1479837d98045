/**
 * Labels in the audit log: each entry about documents or answers records the highest label it
 * touches (`detail.sensitivity`), the list shows a session only entries within its clearance,
 * and an entry about an answer that drew on passages above what every audit reader may see
 * records passage ids and labels instead of the question, answer or titles.
 */
import { CLEARANCE } from '../access/roles';
import type { IngestOptions, IngestReport } from '../ingest/ingest-service';
import { answerSensitivity, getAnswer, type AnswerRecord } from '../store/conversations';
import type { Db } from '../store/db';
import {
  getDocument,
  getDocumentByPath,
  higherLabel,
  isSensitivity,
  withinClearance,
  type Sensitivity,
} from '../store/documents';

/** Text from passages up to this label may be written into the log: the clearance of its lowest reader (reviewer). */
export const AUDIT_TEXT_MAX: Sensitivity = CLEARANCE.reviewer;

/** Entries about one document whose label was not recorded (written before labels were). */
const DOCUMENT_ACTIONS = new Set(['document.delete', 'document.labels', 'document.reindex']);

/**
 * The label an entry is shown under: the one it recorded; for older entries, the label of the
 * answer or document it is about (a document since removed: restricted); otherwise public.
 */
export function entryLabel(
  db: Db,
  e: { action: string; target: string | null; detail: Record<string, unknown> },
): Sensitivity {
  const recorded = e.detail.sensitivity;
  if (typeof recorded === 'string' && isSensitivity(recorded)) return recorded;
  const answerId =
    typeof e.detail.answerId === 'number' ? e.detail.answerId : Number(/^answer (\d+)$/.exec(e.target ?? '')?.[1]);
  if (Number.isInteger(answerId) && answerId > 0) {
    const a = getAnswer(db, answerId);
    return a ? answerSensitivity(db, a) : 'restricted';
  }
  if (e.target !== null) {
    const doc = getDocumentByPath(db, e.target);
    if (doc) return doc.sensitivity;
    if (DOCUMENT_ACTIONS.has(e.action)) return 'restricted';
  }
  return 'public';
}

export function entryVisible(
  db: Db,
  e: { action: string; target: string | null; detail: Record<string, unknown> },
  clearance: Sensitivity,
): boolean {
  return withinClearance(entryLabel(db, e), clearance);
}

/** The target and detail of a `question` entry: text only when every passage behind the answer may appear in the log. */
export function questionAudit(
  db: Db,
  question: string,
  a: AnswerRecord,
): { target: string; detail: Record<string, unknown> } {
  const sensitivity = answerSensitivity(db, a);
  const base = { answerId: a.id, mode: a.mode, confidence: a.confidence, sensitivity };
  if (!withinClearance(sensitivity, AUDIT_TEXT_MAX)) {
    return {
      target: `answer ${a.id}`,
      detail: {
        ...base,
        passages: (a.context ?? []).map((p) => ({ chunkId: p.chunkId, docId: p.docId, sensitivity: p.sensitivity })),
      },
    };
  }
  return {
    target: question.slice(0, 500),
    detail: {
      ...base,
      summary: a.answer.slice(0, 200),
      sources: a.citations.map((c) => `${c.docTitle}${c.page ? ` p.${c.page}` : ''}`),
    },
  };
}

/** The target and detail of an `ingest` entry: the labels applied, the counts, and the highest label of the documents touched. */
export function ingestAudit(
  db: Db,
  paths: string[],
  opts: Pick<IngestOptions, 'sensitivity' | 'tags' | 'isSafety' | 'removeMissing'>,
  report: IngestReport,
): { target: string; detail: Record<string, unknown> } {
  let sensitivity: Sensitivity = opts.sensitivity ?? 'public';
  for (const f of report.files) {
    const doc = f.docId !== undefined ? getDocument(db, f.docId) : null;
    if (doc) sensitivity = higherLabel(sensitivity, doc.sensitivity);
  }
  const labels: Record<string, unknown> = {};
  if (opts.sensitivity) labels.sensitivity = opts.sensitivity;
  if (opts.tags) labels.tags = opts.tags;
  if (opts.isSafety !== undefined) labels.isSafety = opts.isSafety;
  return {
    target: paths.join('; ').slice(0, 500),
    detail: {
      counts: report.counts,
      jobId: report.jobId,
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(opts.removeMissing ? { removeMissing: true } : {}),
      sensitivity,
    },
  };
}
