/**
 * LoRA dataset export: approved answers, expert corrections (once a reviewer accepted or edited
 * them; pending and rejected ones never enter), question–answer pairs generated
 * from knowledge-base chunks by the local LLM, and preference pairs — cleaned (PII redaction,
 * duplicates, length, sensitivity), split deterministically, written as JSONL with a manifest
 * (counts, filters, sources, sha256 of every file). An incremental cursor makes the next
 * export contain only what is new.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SYSTEM_PROMPT } from '../answer/prompt';
import { FieldbookError } from '../errors';
import type { Generator } from '../llm/llm-client';
import type { SearchService } from '../search/search-service';
import {
  answerSensitivity,
  answerVisible,
  storedPassages,
  type AnswerPassages,
  type StoredCitation,
} from '../store/conversations';
import type { Db } from '../store/db';
import { SENSITIVITY_LEVELS, withinClearance, type Sensitivity } from '../store/documents';
import { getMeta, setMeta } from '../store/vectors';
import { formatExample, type DatasetFormat, type Example, type Provenance } from './formats';
import { dedupe, emptyCounts, redactPii, splitOf, type RedactionCounts, type Split } from './hygiene';

export type DatasetSource = 'answers' | 'corrections' | 'generated' | 'preferences';

export interface DatasetExportOptions {
  outDir: string;
  format: DatasetFormat;
  sources: DatasetSource[];
  /** Put the retrieved passages into the prompt (RAG-style training). */
  withContext: boolean;
  /** Examples drawing on documents above this label are left out. */
  maxSensitivity: Sensitivity;
  seed: number;
  ratios: { train: number; validation: number };
  minChars: number;
  maxChars: number;
  /** Question–answer pairs to generate from chunks (needs a generator). */
  generateCount: number;
  generator: Generator | null;
  resetCursor: boolean;
  /** Also write questions with their reviewer-approved corrections as an eval set (queries.jsonl + corpus.jsonl). */
  evalSet: boolean;
  now: Date;
}

export interface DatasetManifest {
  format: DatasetFormat;
  createdAt: string;
  kbVersion: string;
  counts: Record<Split, number> & { total: number };
  dropped: {
    duplicates: number;
    nearDuplicates: number;
    sensitivity: number;
    length: number;
    generationFailed: number;
  };
  redactions: RedactionCounts;
  filters: {
    sources: DatasetSource[];
    withContext: boolean;
    maxSensitivity: Sensitivity;
    seed: number;
    ratios: { train: number; validation: number };
    minChars: number;
    maxChars: number;
  };
  sourceDocuments: Array<{ id: number; path: string; version: number }>;
  generatorModel: string | null;
  cursor: { from: Cursor; to: Cursor };
  files: Array<{ name: string; sha256: string; lines: number }>;
}

interface Cursor {
  answerId: number;
  feedbackId: number;
  chunkId: number;
  /** Corrections enter in the order reviewers approve them (a correction may wait long after newer feedback). */
  reviewSeq: number;
}

const ZERO: Cursor = { answerId: 0, feedbackId: 0, chunkId: 0, reviewSeq: 0 };

/** A fingerprint of the knowledge base's content: every document's hash and version. */
export function kbVersion(db: Db): string {
  const rows = db.prepare('SELECT id, sha256, version FROM documents ORDER BY id').all() as Array<{
    id: number;
    sha256: string;
    version: number;
  }>;
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 16);
}

interface AnswerRow {
  id: number;
  question: string;
  answer: string;
  citations: string;
  context: string | null;
  safety: string;
  feedback_id: number;
  rating: 'up' | 'down';
  correction: string | null;
}

/** An answer with the correction a reviewer approved for it (the latest approved one). */
interface CorrectedRow {
  id: number;
  question: string;
  answer: string;
  citations: string;
  context: string | null;
  safety: string;
  review_seq: number;
  review_status: 'accepted' | 'edited';
  approved_correction: string;
  reviewed_by: string;
}

/**
 * The latest approved correction of each answer (accepted as written or edited by a reviewer), with
 * review_seq above the given one. Pending and rejected corrections never match.
 */
const APPROVED_CORRECTIONS = `
  SELECT a.id, a.question, a.answer, a.citations, a.context, a.safety,
         f.review_seq, f.review_status, f.approved_correction, f.reviewed_by
    FROM answers a JOIN feedback f ON f.answer_id = a.id
   WHERE f.review_status IN ('accepted','edited') AND f.approved_correction IS NOT NULL
     AND f.review_seq = (SELECT MAX(review_seq) FROM feedback
                          WHERE answer_id = a.id AND review_status IN ('accepted','edited'))
     AND f.review_seq > ?
   ORDER BY f.review_seq`;

function rank(s: Sensitivity): number {
  return SENSITIVITY_LEVELS.indexOf(s);
}

export interface FeedbackQueueItem {
  /**
   * `correction`: someone suggested the right answer; a reviewer accepts, edits or rejects it.
   * `thumbs-down`: marked not helpful with no correction waiting or approved; a reviewer may write one.
   */
  kind: 'correction' | 'thumbs-down';
  /** The feedback entry (what a review of a correction names). */
  feedbackId: number;
  answerId: number;
  question: string;
  answer: string;
  comment: string | null;
  /** The suggested answer (kind `correction`), else null. */
  correction: string | null;
  /** Who sent the feedback, when known. */
  author: string | null;
  ratedAt: string;
}

/**
 * The reviewer queue, of the answers the reviewer's clearance may see: corrections waiting for a
 * review (oldest first), then thumbs-down answers with no correction waiting or approved (a
 * rejected one puts its answer back here).
 */
export function feedbackQueue(db: Db, clearance: Sensitivity): FeedbackQueueItem[] {
  type Row = Omit<FeedbackQueueItem, 'kind'> & { citations: string; context: string | null; safety: string };
  const visible = (rows: Row[], kind: FeedbackQueueItem['kind']): FeedbackQueueItem[] =>
    rows
      .filter((r) => answerVisible(db, storedPassages(r), clearance))
      .map(({ citations: _c, context: _x, safety: _s, ...item }) => ({ kind, ...item }));
  const corrections = db
    .prepare(
      `SELECT f.id AS feedbackId, a.id AS answerId, a.question, a.answer, f.comment, f.correction, f.author,
              f.created_at AS ratedAt, a.citations, a.context, a.safety
         FROM feedback f JOIN answers a ON a.id = f.answer_id
        WHERE f.review_status = 'pending'
        ORDER BY f.created_at, f.id`,
    )
    .all() as Row[];
  const thumbsDown = db
    .prepare(
      `SELECT f.id AS feedbackId, a.id AS answerId, a.question, a.answer, f.comment, NULL AS correction, f.author,
              f.created_at AS ratedAt, a.citations, a.context, a.safety
         FROM answers a JOIN feedback f ON f.answer_id = a.id
        WHERE f.id = (SELECT MAX(id) FROM feedback WHERE answer_id = a.id) AND f.rating = 'down'
          AND NOT EXISTS (SELECT 1 FROM feedback g WHERE g.answer_id = a.id
                           AND g.review_status IN ('pending','accepted','edited'))
        ORDER BY f.created_at, f.id`,
    )
    .all() as Row[];
  return [...visible(corrections, 'correction'), ...visible(thumbsDown, 'thumbs-down')];
}

const GENERATE_PROMPT = (passage: string): string =>
  `Write one question a plant technician could ask that the passage below answers, and its answer taken only from the passage. ` +
  `Use the passage's language. Reply with JSON only: {"question": "...", "answer": "..."}\n\nPassage:\n${passage}`;

function parseQa(text: string): { question: string; answer: string } | null {
  const m = /\{[\s\S]*\}/.exec(text);
  if (!m) return null;
  try {
    const o = JSON.parse(m[0]) as { question?: unknown; answer?: unknown };
    return typeof o.question === 'string' && typeof o.answer === 'string' && o.question.trim() && o.answer.trim()
      ? { question: o.question.trim(), answer: o.answer.trim() }
      : null;
  } catch {
    return null;
  }
}

/**
 * Export a training set: check the options → read the cursor → examples from rated answers →
 * examples generated from chunks → clean (redact, length, duplicates) → split and write → the eval
 * set → manifest → record (cursor and history, one transaction).
 */
export async function exportDataset(
  db: Db,
  search: SearchService,
  opts: DatasetExportOptions,
): Promise<DatasetManifest> {
  checkOptions(opts);
  const run = startRun(db, opts);
  const examples = [...feedbackExamples(run), ...(await generatedExamples(run))];
  const { kept, redactions } = cleanExamples(examples, run);
  const out = fileWriter(opts.outDir);
  const bySplit = writeSplits(kept, opts, out);
  if (opts.evalSet) await writeEvalSet(run, search, out);
  const manifest = buildManifest(run, kept, bySplit, redactions, out.files);
  recordExport(run, manifest);
  return manifest;
}

/** Provenance and context of a stored answer, for its training examples. */
interface AnswerProvenance {
  meta: Omit<Provenance, 'source'>;
  context: string;
}

/** One export in progress: its options, the cursor it starts from and advances, and what it dropped. */
interface ExportRun {
  db: Db;
  opts: DatasetExportOptions;
  kbVersion: string;
  cursorKey: string;
  from: Cursor;
  /** Advanced past every row read, kept or dropped. */
  to: Cursor;
  dropped: DatasetManifest['dropped'];
  /**
   * Provenance and context from stored citations; null when the answer drew on anything above
   * the export's label (the labels stored with its passages, or its documents' labels now;
   * unknown counts as restricted — see `answerSensitivity`).
   */
  provenance: (stored: AnswerPassages) => AnswerProvenance | null;
}

function checkOptions(opts: DatasetExportOptions): void {
  if (opts.format === 'dpo' && opts.sources.some((s) => s !== 'preferences')) {
    throw new FieldbookError('INVALID_INPUT', { detail: 'the dpo format takes the "preferences" source only' });
  }
  if (opts.sources.includes('generated') && opts.generateCount > 0 && !opts.generator) {
    throw new FieldbookError('INVALID_INPUT', { detail: 'generated pairs need an active language model' });
  }
}

function startRun(db: Db, opts: DatasetExportOptions): ExportRun {
  const cursorKey = `dataset.cursor.${opts.format}`;
  const from: Cursor = opts.resetCursor
    ? ZERO
    : { ...ZERO, ...(JSON.parse(getMeta(db, cursorKey) ?? '{}') as Partial<Cursor>) };
  const version = kbVersion(db);
  return {
    db,
    opts,
    kbVersion: version,
    cursorKey,
    from,
    to: { ...from },
    dropped: { duplicates: 0, nearDuplicates: 0, sensitivity: 0, length: 0, generationFailed: 0 },
    provenance: answerProvenance(db, opts.maxSensitivity, version),
  };
}

function answerProvenance(
  db: Db,
  maxSensitivity: Sensitivity,
  version: string,
): (stored: AnswerPassages) => AnswerProvenance | null {
  const chunkInfo = db.prepare('SELECT c.id, c.text, c.page_start, c.doc_id FROM chunks c WHERE c.id = ?');
  return (stored) => {
    if (!withinClearance(answerSensitivity(db, stored), maxSensitivity)) return null;
    const citations: StoredCitation[] = stored.citations;
    const documents: Provenance['documents'] = [];
    const context: string[] = [];
    for (const c of citations) {
      if (!documents.some((x) => x.id === c.docId))
        documents.push({ id: c.docId, path: c.sourcePath, version: c.docVersion });
      const chunk = chunkInfo.get(c.chunkId) as { text: string } | undefined;
      context.push(`[${c.n}] ${c.docTitle}${c.page ? ` p.${c.page}` : ''}\n${chunk?.text ?? c.snippet}`);
    }
    return {
      meta: { chunkIds: citations.map((c) => c.chunkId), documents, kbVersion: version },
      context: context.join('\n\n'),
    };
  };
}

/** The labels up to and including `max`, as a JSON array for `json_each`. */
function labelsUpTo(max: Sensitivity): string {
  return JSON.stringify(SENSITIVITY_LEVELS.slice(0, rank(max) + 1));
}

/** Approved answers since the feedback cursor; corrections and preference pairs reviewers approved since the review cursor. */
function feedbackExamples(run: ExportRun): Example[] {
  return [...approvedAnswerExamples(run), ...correctionExamples(run)];
}

/**
 * Answers whose latest feedback is a thumbs-up without a correction, since the feedback cursor. An
 * answer a reviewer approved a correction for is not one (the correction is the right answer).
 */
function approvedAnswerExamples(run: ExportRun): Example[] {
  const { db, opts, from, to, dropped } = run;
  if (!opts.sources.includes('answers')) return [];
  const examples: Example[] = [];
  const rows = db
    .prepare(
      `SELECT a.id, a.question, a.answer, a.citations, a.context, a.safety, f.id AS feedback_id, f.rating, f.correction
       FROM answers a JOIN feedback f ON f.answer_id = a.id
       WHERE f.id = (SELECT MAX(id) FROM feedback WHERE answer_id = a.id) AND f.id > ?
       ORDER BY f.id`,
    )
    .all(from.feedbackId) as AnswerRow[];
  const hasApprovedCorrection = db
    .prepare(`SELECT 1 FROM feedback WHERE answer_id = ? AND review_status IN ('accepted','edited')`)
    .pluck();
  for (const r of rows) {
    to.feedbackId = Math.max(to.feedbackId, r.feedback_id);
    to.answerId = Math.max(to.answerId, r.id);
    if (r.rating !== 'up' || r.correction || hasApprovedCorrection.get(r.id) !== undefined) continue;
    const prov = run.provenance(storedPassages(r));
    if (!prov) {
      dropped.sensitivity++;
      continue;
    }
    examples.push({
      id: `ans-${r.id}`,
      system: SYSTEM_PROMPT,
      question: r.question,
      context: opts.withContext ? prov.context : null,
      answer: r.answer,
      meta: { ...prov.meta, source: 'approved-answer', answerId: r.id },
    });
  }
  return examples;
}

/**
 * Corrections a reviewer accepted or edited since the review cursor (a pending or rejected one never
 * enters): expert corrections, or preference pairs (the correction chosen over the original answer).
 * Each records who approved it and whether it was edited.
 */
function correctionExamples(run: ExportRun): Example[] {
  const { db, opts, from, to, dropped } = run;
  const wantCorrections = opts.sources.includes('corrections');
  const wantPreferences = opts.sources.includes('preferences');
  if (!wantCorrections && !wantPreferences) return [];
  const examples: Example[] = [];
  const rows = db.prepare(APPROVED_CORRECTIONS).all(from.reviewSeq) as CorrectedRow[];
  for (const r of rows) {
    to.reviewSeq = Math.max(to.reviewSeq, r.review_seq);
    to.answerId = Math.max(to.answerId, r.id);
    const prov = run.provenance(storedPassages(r));
    if (!prov) {
      dropped.sensitivity++;
      continue;
    }
    const base = { system: SYSTEM_PROMPT, question: r.question, context: opts.withContext ? prov.context : null };
    const review = { answerId: r.id, approvedBy: r.reviewed_by, review: r.review_status };
    if (wantPreferences) {
      examples.push({
        ...base,
        id: `pref-${r.id}`,
        answer: r.approved_correction,
        rejected: r.answer,
        meta: { ...prov.meta, source: 'preference', ...review },
      });
    } else {
      examples.push({
        ...base,
        id: `corr-${r.id}`,
        answer: r.approved_correction,
        meta: { ...prov.meta, source: 'expert-correction', ...review },
      });
    }
  }
  return examples;
}

/** Question–answer pairs the local LLM writes from chunks since the cursor (within the export's label). */
async function generatedExamples(run: ExportRun): Promise<Example[]> {
  const { db, opts, from, to, dropped } = run;
  if (!opts.sources.includes('generated') || !opts.generator || opts.generateCount <= 0) return [];
  const examples: Example[] = [];
  const chunks = db
    .prepare(
      `SELECT c.id, c.text, c.page_start, d.id AS doc_id, d.source_path, d.version, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id
       WHERE c.id > ? AND length(c.text) >= 80 AND d.sensitivity IN (SELECT value FROM json_each(?)) ORDER BY c.id LIMIT ?`,
    )
    .all(from.chunkId, labelsUpTo(opts.maxSensitivity), opts.generateCount) as Array<{
    id: number;
    text: string;
    page_start: number | null;
    doc_id: number;
    source_path: string;
    version: number;
    title: string;
  }>;
  for (const c of chunks) {
    to.chunkId = Math.max(to.chunkId, c.id);
    const r = await opts.generator.generate({ user: GENERATE_PROMPT(c.text), maxTokens: 400, timeoutMs: 120_000 });
    const qa = parseQa(r.text);
    if (!qa) {
      dropped.generationFailed++;
      continue;
    }
    examples.push({
      id: `gen-${c.id}`,
      system: SYSTEM_PROMPT,
      question: qa.question,
      context: opts.withContext ? `[1] ${c.title}${c.page_start ? ` p.${c.page_start}` : ''}\n${c.text}` : null,
      answer: qa.answer,
      meta: {
        source: 'generated',
        chunkIds: [c.id],
        documents: [{ id: c.doc_id, path: c.source_path, version: c.version }],
        kbVersion: run.kbVersion,
        page: c.page_start,
      },
    });
  }
  return examples;
}

/** Hygiene: redact personal data, drop examples outside the length limits, then duplicates. */
function cleanExamples(examples: Example[], run: ExportRun): { kept: Example[]; redactions: RedactionCounts } {
  const { opts, dropped } = run;
  const redactions = emptyCounts();
  const cleaned: Example[] = [];
  for (const e of examples) {
    const x: Example = {
      ...e,
      question: redactPii(e.question, redactions),
      answer: redactPii(e.answer, redactions),
      context: e.context === null ? null : redactPii(e.context, redactions),
      ...(e.rejected !== undefined ? { rejected: redactPii(e.rejected, redactions) } : {}),
    };
    const len = x.question.length + x.answer.length;
    if (x.answer.trim().length < opts.minChars || len > opts.maxChars) {
      dropped.length++;
      continue;
    }
    cleaned.push(x);
  }
  const d = dedupe(cleaned, (e) => `${e.question}\n${e.answer}`);
  dropped.duplicates = d.exact;
  dropped.nearDuplicates = d.near;
  return { kept: d.kept, redactions };
}

/** Writes JSONL files into the output folder and lists each with its hash and line count. */
interface FileWriter {
  write(name: string, lines: string[]): void;
  files: DatasetManifest['files'];
}

function fileWriter(outDir: string): FileWriter {
  fs.mkdirSync(outDir, { recursive: true });
  const files: DatasetManifest['files'] = [];
  return {
    files,
    write(name, lines) {
      const text = lines.length ? `${lines.join('\n')}\n` : '';
      fs.writeFileSync(path.join(outDir, name), text);
      files.push({ name, sha256: createHash('sha256').update(text).digest('hex'), lines: lines.length });
    },
  };
}

/** Split deterministically (by id and seed) and write train/validation/test.jsonl in the chosen format. */
function writeSplits(kept: Example[], opts: DatasetExportOptions, out: FileWriter): Record<Split, string[]> {
  const bySplit: Record<Split, string[]> = { train: [], validation: [], test: [] };
  for (const e of kept)
    bySplit[splitOf(e.id, opts.seed, opts.ratios)].push(JSON.stringify(formatExample(e, opts.format)));
  for (const split of ['train', 'validation', 'test'] as const) out.write(`${split}.jsonl`, bySplit[split]);
  return bySplit;
}

/**
 * The eval set: questions with their reviewer-approved corrections (queries.jsonl, the gold passage being
 * where the knowledge base best supports the correction) and the chunks within the label (corpus.jsonl).
 */
async function writeEvalSet(run: ExportRun, search: SearchService, out: FileWriter): Promise<void> {
  const { db, opts } = run;
  // Only corrections a reviewer approved (the approved text) are gold answers.
  const negatives = (db.prepare(APPROVED_CORRECTIONS).all(0) as CorrectedRow[])
    .sort((a, b) => a.id - b.id)
    .map((r) => ({ ...r, correction: r.approved_correction }));
  const queries: string[] = [];
  for (const n of negatives) {
    // The same rule as for training examples: nothing from an answer above the export's label.
    if (!run.provenance(storedPassages(n))) continue;
    // Gold passage: where the knowledge base best supports the expert's answer.
    const best = await search.rank(n.correction, {
      k: 1,
      mode: 'keyword',
      filters: { maxSensitivity: opts.maxSensitivity },
    });
    const gold = best.ranked.map((r) => String(r.chunk.id));
    queries.push(
      JSON.stringify({
        id: `fb-${n.id}`,
        question: redactPii(n.question),
        gold_ids: gold,
        answers: [redactPii(n.correction)],
      }),
    );
  }
  const corpus = (
    db
      .prepare(
        `SELECT c.id, c.text, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id
         WHERE d.sensitivity IN (SELECT value FROM json_each(?)) ORDER BY c.id`,
      )
      .all(labelsUpTo(opts.maxSensitivity)) as Array<{
      id: number;
      text: string;
      title: string;
    }>
  ).map((c) => JSON.stringify({ id: String(c.id), title: c.title, text: redactPii(c.text) }));
  fs.mkdirSync(path.join(opts.outDir, 'eval'), { recursive: true });
  out.write('eval/queries.jsonl', queries);
  out.write('eval/corpus.jsonl', corpus);
}

function buildManifest(
  run: ExportRun,
  kept: Example[],
  bySplit: Record<Split, string[]>,
  redactions: RedactionCounts,
  files: DatasetManifest['files'],
): DatasetManifest {
  const { opts } = run;
  const docs = new Map<number, { id: number; path: string; version: number }>();
  for (const e of kept) for (const doc of e.meta.documents) docs.set(doc.id, doc);
  return {
    format: opts.format,
    createdAt: opts.now.toISOString(),
    kbVersion: run.kbVersion,
    counts: {
      train: bySplit.train.length,
      validation: bySplit.validation.length,
      test: bySplit.test.length,
      total: kept.length,
    },
    dropped: run.dropped,
    redactions,
    filters: {
      sources: opts.sources,
      withContext: opts.withContext,
      maxSensitivity: opts.maxSensitivity,
      seed: opts.seed,
      ratios: opts.ratios,
      minChars: opts.minChars,
      maxChars: opts.maxChars,
    },
    sourceDocuments: [...docs.values()].sort((a, b) => a.id - b.id),
    generatorModel: opts.sources.includes('generated') ? (opts.generator?.name ?? null) : null,
    cursor: { from: run.from, to: run.to },
    files,
  };
}

/** manifest.json, then the advanced cursor and the history row in one transaction. */
function recordExport(run: ExportRun, manifest: DatasetManifest): void {
  const { db, opts } = run;
  fs.writeFileSync(path.join(opts.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  db.transaction(() => {
    setMeta(db, run.cursorKey, JSON.stringify(run.to));
    db.prepare('INSERT INTO dataset_exports(created_at, format, out_dir, manifest) VALUES (?, ?, ?, ?)').run(
      manifest.createdAt,
      opts.format,
      opts.outDir,
      JSON.stringify(manifest),
    );
  })();
}
