/**
 * Ingestion: paths → files → (parser process) chunks → (embedder) vectors → one
 * transaction per document. Unchanged files are skipped by hash, changed ones are
 * replaced atomically, a bad file is reported and the batch goes on. Each batch is a
 * job whose per-file state is committed with the file's data, so a batch cut short
 * by a crash or power loss resumes where it stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import type { Embedder } from '../embed/embedder';
import { describeError, FieldbookError, type ErrorReport } from '../errors';
import type { Db } from '../store/db';
import {
  chunkContext,
  deleteDocumentRows,
  getDocumentByPath,
  writeDocument,
  withinClearance,
  type Sensitivity,
} from '../store/documents';
import { deleteVectors, ensureVectorSpace, insertVector } from '../store/vectors';
import { sha256File } from '../util/hash';
import { IMAGE_EXTENSIONS, SCANNED_EXTENSIONS } from './detect';
import type { ParserPool } from './parser-pool';
import type { ParseResult } from './types';

export interface IngestOptions {
  tags?: Record<string, string>;
  sensitivity?: Sensitivity;
  isSafety?: boolean;
  /** Remove documents whose files disappeared from an ingested folder (or a named file that is gone). */
  removeMissing?: boolean;
  /** Parse again even when the file is unchanged (re-index). */
  force?: boolean;
  /** The caller's clearance: indexed documents labelled above it are neither replaced, relabelled nor removed. */
  maxSensitivity?: Sensitivity;
  /**
   * Password for the password-protected PDFs of this call. Sent to the parser with each request
   * and nowhere else: not stored with the job (a resumed batch asks again), not logged, not audited.
   */
  password?: string;
}

export type IngestPhase = 'scan' | 'hash' | 'parse' | 'embed' | 'store' | 'done';

export interface IngestProgress {
  phase: IngestPhase;
  file?: string;
  fileIndex: number;
  fileCount: number;
  page?: number;
  pages?: number;
  embedded?: number;
  toEmbed?: number;
}

export type FileOutcome = 'added' | 'updated' | 'unchanged' | 'failed' | 'cancelled';

export interface FileReport {
  file: string;
  outcome: FileOutcome;
  docId?: number;
  chunks?: number;
  pages?: number | null;
  warnings?: string[];
  error?: ErrorReport;
}

export interface IngestReport {
  jobId: number;
  files: FileReport[];
  removed: string[];
  counts: Record<FileOutcome | 'removed', number>;
}

export interface IngestService {
  /** Cancelling stops the file in progress and leaves the rest pending: `resume` continues later. */
  ingest(
    paths: string[],
    opts?: IngestOptions,
    onProgress?: (p: IngestProgress) => void,
    signal?: AbortSignal,
  ): Promise<IngestReport>;
  /** Continue the most recent unfinished batch, if any. */
  resume(onProgress?: (p: IngestProgress) => void, signal?: AbortSignal): Promise<IngestReport | null>;
  /** Embed chunks that have no vector for the active model (after a model change). */
  embedMissing(onProgress?: (p: IngestProgress) => void): Promise<number>;
  removeDocument(docId: number): void;
}

export interface IngestDeps {
  db: Db;
  parser: ParserPool;
  getEmbedder: () => Promise<Embedder | null>;
  limits: () => IngestLimits;
  chunking: () => ChunkSettings;
  /** OCR for pages without a text layer and for images (off when absent). */
  ocr?: () => OcrSettings;
  now?: () => Date;
}

interface Expanded {
  files: string[];
  folders: string[];
  missing: string[];
  /** Images found in folders but left out because OCR is off (they are not "missing"). */
  skipped: string[];
}

/**
 * Expand folders (recursively) into supported files; keep named files even if unsupported (they get an error).
 * Images in folders are picked up only when they can be read (`images`: OCR is on).
 */
export function expandPaths(paths: string[], opts: { images?: boolean } = {}): Expanded {
  const files = new Set<string>();
  const folders: string[] = [];
  const missing: string[] = [];
  const skipped: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name.startsWith('~$')) continue;
      const full = path.join(dir, entry.name);
      const ext = path.extname(entry.name).toLowerCase();
      if (entry.isDirectory()) walk(full);
      else if (!entry.isFile() || !SCANNED_EXTENSIONS.has(ext)) continue;
      else if (opts.images === false && IMAGE_EXTENSIONS.has(ext)) skipped.push(full);
      else files.add(full);
    }
  };
  for (const p of paths) {
    const abs = path.resolve(p);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(abs);
    } catch {
      missing.push(abs);
      continue;
    }
    if (stat.isDirectory()) {
      folders.push(abs);
      walk(abs);
    } else files.add(abs);
  }
  return { files: [...files].sort(), folders, missing, skipped };
}

/** The options a job keeps for `resume`: everything but the password. */
function storedOptions(opts: IngestOptions): Omit<IngestOptions, 'password'> {
  const { password: _password, ...stored } = opts;
  return stored;
}

function embeddingText(title: string, headingPath: string[], text: string): string {
  return `${chunkContext(title, headingPath)}\n${text}`;
}

/** The dependencies with the clock filled in. */
type Ingest = IngestDeps & { now: () => Date };

/** Progress of one file (the batch adds its index and count). */
type FileProgress = (p: Partial<IngestProgress> & { phase: IngestPhase }) => void;

/**
 * A batch: find the files (missing paths and files gone from ingested folders removed or reported) → start a
 * job listing them → each file along its data path ({@link ingestFile}), two at a time → finish the job → report.
 * `resume` runs the pending files of the last unfinished job the same way.
 */
export function createIngestService(deps: IngestDeps): IngestService {
  const ctx: Ingest = { ...deps, now: deps.now ?? (() => new Date()) };
  const { db } = ctx;
  return {
    async ingest(paths, opts = {}, onProgress, signal) {
      onProgress?.({ phase: 'scan', fileIndex: 0, fileCount: 0 });
      const expanded = expandPaths(paths, { images: ctx.ocr?.().enabled === true });
      const named = namedPathsGone(ctx, expanded.missing, opts);
      const removed = [...named.removed, ...removeGoneFromFolders(db, expanded, opts)];
      const jobId = startJob(ctx, expanded.files, opts);
      const reports = await runJob(ctx, jobId, expanded.files, opts, onProgress, signal);
      return summarise(jobId, [...named.failed, ...reports], removed);
    },

    async resume(onProgress, signal) {
      const job = unfinishedJob(db);
      if (!job) return null;
      const reports = await runJob(ctx, job.id, job.pending, job.options, onProgress, signal);
      return summarise(job.id, reports, []);
    },

    embedMissing: (onProgress) => embedMissing(ctx, onProgress),

    removeDocument(docId) {
      const exists = db.prepare('SELECT 1 FROM documents WHERE id = ?').get(docId);
      if (!exists) throw new FieldbookError('DOCUMENT_NOT_FOUND', { detail: `id ${docId}` });
      db.transaction(() => deleteDocumentRows(db, docId))();
    },
  };
}

// ── The batch ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Named paths that no longer exist: with `removeMissing` their indexed document is removed (only within the
 * caller's clearance); otherwise each is recorded and reported as a failure.
 */
function namedPathsGone(
  ctx: Ingest,
  missing: string[],
  opts: IngestOptions,
): { removed: string[]; failed: FileReport[] } {
  const { db } = ctx;
  const removed: string[] = [];
  const failed: FileReport[] = [];
  for (const m of missing) {
    const doc = getDocumentByPath(db, m);
    const mayRemove = !opts.maxSensitivity || (doc && withinClearance(doc.sensitivity, opts.maxSensitivity));
    if (doc && opts.removeMissing && mayRemove) {
      db.transaction(() => deleteDocumentRows(db, doc.id))();
      removed.push(m);
    } else {
      const error = describeError(new FieldbookError('PATH_NOT_FOUND', { file: m }));
      recordFailure(ctx, m, error);
      failed.push({ file: m, outcome: 'failed', error });
    }
  }
  return { removed, failed };
}

/** With `removeMissing`: documents under an ingested folder whose file is gone are removed (within clearance). */
function removeGoneFromFolders(db: Db, expanded: Expanded, opts: IngestOptions): string[] {
  const removed: string[] = [];
  if (!opts.removeMissing || !expanded.folders.length) return removed;
  const present = new Set([...expanded.files, ...expanded.skipped]);
  const docs = db.prepare('SELECT id, source_path, sensitivity FROM documents').all() as Array<{
    id: number;
    source_path: string;
    sensitivity: Sensitivity;
  }>;
  for (const d of docs) {
    if (opts.maxSensitivity && !withinClearance(d.sensitivity, opts.maxSensitivity)) continue;
    const inFolder = expanded.folders.some((f) => d.source_path.startsWith(f + path.sep));
    if (inFolder && !present.has(d.source_path)) {
      db.transaction(() => deleteDocumentRows(db, d.id))();
      removed.push(d.source_path);
    }
  }
  return removed;
}

/** A job with its files pending, so a batch cut short resumes where it stopped (options kept, password not). */
function startJob(ctx: Ingest, files: string[], opts: IngestOptions): number {
  const { db } = ctx;
  return db.transaction(() => {
    const id = Number(
      db
        .prepare("INSERT INTO ingest_jobs(created_at, options, status) VALUES (?, ?, 'running')")
        .run(ctx.now().toISOString(), JSON.stringify(storedOptions(opts))).lastInsertRowid,
    );
    const ins = db.prepare('INSERT INTO ingest_job_files(job_id, path) VALUES (?, ?)');
    for (const f of files) ins.run(id, f);
    return id;
  })();
}

/** The most recent unfinished job: its id, its files still pending and its stored options. */
function unfinishedJob(db: Db): { id: number; pending: string[]; options: IngestOptions } | null {
  const job = db
    .prepare("SELECT id, options FROM ingest_jobs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
    .get() as { id: number; options: string } | undefined;
  if (!job) return null;
  const pending = (
    db
      .prepare("SELECT path FROM ingest_job_files WHERE job_id = ? AND state = 'pending' ORDER BY path")
      .all(job.id) as Array<{
      path: string;
    }>
  ).map((r) => r.path);
  return { id: job.id, pending, options: JSON.parse(job.options) as IngestOptions };
}

/**
 * Each file along its data path, as many in flight as there are parser processes; the job is marked done
 * unless cancelled (then its remaining files stay pending for `resume`).
 */
async function runJob(
  ctx: Ingest,
  jobId: number,
  files: string[],
  opts: IngestOptions,
  onProgress?: (p: IngestProgress) => void,
  signal?: AbortSignal,
): Promise<FileReport[]> {
  const { db } = ctx;
  const embedder = await activeEmbedder(ctx);
  const reports: FileReport[] = new Array<FileReport>(files.length);
  let next = 0;
  // Parsing runs in the parser processes; keep as many files in flight as there are parsers.
  const lanes = Math.max(1, Math.min(files.length, 2));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (;;) {
        if (signal?.aborted) return;
        const index = next++;
        if (index >= files.length) return;
        const file = files[index] as string;
        reports[index] = await ingestFile(
          ctx,
          jobId,
          file,
          opts,
          embedder,
          (p) => onProgress?.({ fileIndex: index, fileCount: files.length, ...p }),
          signal,
        );
      }
    }),
  );
  if (!signal?.aborted) db.prepare("UPDATE ingest_jobs SET status = 'done' WHERE id = ?").run(jobId);
  onProgress?.({ phase: 'done', fileIndex: files.length, fileCount: files.length });
  return reports.filter((r): r is FileReport => r !== undefined);
}

function summarise(jobId: number, files: FileReport[], removed: string[]): IngestReport {
  const counts = { added: 0, updated: 0, unchanged: 0, failed: 0, cancelled: 0, removed: removed.length };
  for (const f of files) counts[f.outcome]++;
  return { jobId, files, removed, counts };
}

// ── One file ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * One file's data path: check the file (hash, clearance, unchanged?) → parse and chunk it in a parser process
 * (OCR, password) → embed the chunks → write the document with the file's job state in one transaction → report.
 * A file that fails is recorded and reported, and the batch goes on; a cancelled one stays pending.
 */
async function ingestFile(
  ctx: Ingest,
  jobId: number,
  file: string,
  opts: IngestOptions,
  embedder: Embedder | null,
  progress: FileProgress,
  signal?: AbortSignal,
): Promise<FileReport> {
  try {
    const checked = await checkFile(ctx.db, file, opts, progress);
    if (checked.unchanged) {
      ctx.db.transaction(() => settleFile(ctx.db, jobId, file, 'skipped'))();
      return { file, outcome: 'unchanged', docId: checked.existing?.id };
    }
    const parsed = await parseInParser(ctx, file, opts, progress, signal);
    const vectors = await embedChunks(embedder, file, parsed, progress);
    const docId = writeFile(ctx, jobId, file, opts, checked, parsed, vectors, progress);
    return {
      file,
      outcome: checked.existing ? 'updated' : 'added',
      docId,
      chunks: parsed.chunks.length,
      pages: parsed.doc.pages,
      warnings: parsed.doc.warnings,
    };
  } catch (err) {
    return fileFailed(ctx, jobId, file, err);
  }
}

/** A file as checked before parsing. */
interface CheckedFile {
  sha: string;
  size: number;
  /** The indexed document at this path, if any. */
  existing: ReturnType<typeof getDocumentByPath>;
  /** Same content and labels as indexed, and no `force`: nothing to do. */
  unchanged: boolean;
}

/**
 * Hash the file; refuse to touch an indexed document labelled above the caller's clearance; decide whether it is
 * unchanged (same hash, same labels, no `force`).
 */
async function checkFile(db: Db, file: string, opts: IngestOptions, progress: FileProgress): Promise<CheckedFile> {
  progress({ phase: 'hash', file });
  let sha: string;
  let size: number;
  try {
    size = fs.statSync(file).size;
    sha = await sha256File(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FieldbookError('PATH_NOT_FOUND', { file });
    throw new FieldbookError('FILE_UNREADABLE', { file, detail: code });
  }
  const existing = getDocumentByPath(db, file);
  if (existing && opts.maxSensitivity && !withinClearance(existing.sensitivity, opts.maxSensitivity))
    throw new FieldbookError('ACCESS_DENIED', {
      file,
      detail: `the indexed document is labelled ${existing.sensitivity}`,
    });
  const labelsChanged =
    existing !== null &&
    ((opts.sensitivity !== undefined && opts.sensitivity !== existing.sensitivity) ||
      (opts.isSafety !== undefined && opts.isSafety !== existing.isSafety) ||
      (opts.tags !== undefined && JSON.stringify(opts.tags) !== JSON.stringify(existing.tags)));
  const unchanged = existing !== null && existing.sha256 === sha && !labelsChanged && !opts.force;
  return { sha, size, existing, unchanged };
}

/** Parse and chunk in a parser process, with the current limits, chunk sizes, OCR settings and this call's password. */
function parseInParser(
  ctx: Ingest,
  file: string,
  opts: IngestOptions,
  progress: FileProgress,
  signal?: AbortSignal,
): Promise<ParseResult> {
  progress({ phase: 'parse', file });
  return ctx.parser.parse(
    file,
    ctx.limits(),
    ctx.chunking(),
    (p) => progress({ phase: 'parse', file, page: p.page, pages: p.pages }),
    ctx.ocr?.(),
    signal,
    opts.password,
  );
}

/** Vectors for the chunks (title and heading path in front of each), or null without an embedding model. */
async function embedChunks(
  embedder: Embedder | null,
  file: string,
  parsed: ParseResult,
  progress: FileProgress,
): Promise<Float32Array[] | null> {
  if (!embedder) return null;
  const texts = parsed.chunks.map((c) => embeddingText(parsed.doc.title, c.headingPath, c.text));
  progress({ phase: 'embed', file, embedded: 0, toEmbed: texts.length });
  return embedder.embedPassages(texts, (done, total) =>
    progress({ phase: 'embed', file, embedded: done, toEmbed: total }),
  );
}

/**
 * One transaction: the document (replacing the indexed one; labels not given are kept), its chunks, keyword and
 * vector rows, and the file marked done in the job.
 */
function writeFile(
  ctx: Ingest,
  jobId: number,
  file: string,
  opts: IngestOptions,
  checked: CheckedFile,
  parsed: ParseResult,
  vectors: Float32Array[] | null,
  progress: FileProgress,
): number {
  const { db } = ctx;
  const { existing } = checked;
  progress({ phase: 'store', file });
  return db.transaction(() => {
    const id = writeDocument(
      db,
      {
        sourcePath: file,
        title: parsed.doc.title,
        type: parsed.doc.type,
        sha256: checked.sha,
        sizeBytes: checked.size,
        pages: parsed.doc.pages,
        language: parsed.language,
        sensitivity: opts.sensitivity ?? existing?.sensitivity ?? 'internal',
        isSafety: opts.isSafety ?? existing?.isSafety ?? false,
        tags: opts.tags ?? existing?.tags ?? {},
        warnings: parsed.doc.warnings,
        chunks: parsed.chunks,
        vectors,
      },
      ctx.now(),
    );
    settleFile(db, jobId, file, 'done');
    return id;
  })();
}

/** A file that failed is recorded (and marked failed in the job); a cancelled one is not a failure and stays pending. */
function fileFailed(ctx: Ingest, jobId: number, file: string, err: unknown): FileReport {
  const report = describeError(err);
  if (!report.file) report.file = file;
  // Cancelled: not a failure of the file; it stays pending for `resume`.
  if (report.code === 'INGEST_CANCELLED') return { file, outcome: 'cancelled', error: report };
  ctx.db.transaction(() => {
    recordFailure(ctx, file, report);
    setFileState(ctx.db, jobId, file, 'failed');
  })();
  return { file, outcome: 'failed', error: report };
}

// ── Rows shared by the steps ─────────────────────────────────────────────────────────────────────────────

function setFileState(db: Db, jobId: number, file: string, state: 'done' | 'failed' | 'skipped'): void {
  db.prepare('UPDATE ingest_job_files SET state = ? WHERE job_id = ? AND path = ?').run(state, jobId, file);
}

/** The file is dealt with in its job, and an earlier failure of it is forgotten. */
function settleFile(db: Db, jobId: number, file: string, state: 'done' | 'skipped'): void {
  setFileState(db, jobId, file, state);
  db.prepare('DELETE FROM ingest_failures WHERE source_path = ?').run(file);
}

function recordFailure(ctx: Ingest, file: string, report: ErrorReport): void {
  ctx.db
    .prepare(
      `INSERT INTO ingest_failures(source_path, code, detail, failed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(source_path) DO UPDATE SET code = excluded.code, detail = excluded.detail, failed_at = excluded.failed_at`,
    )
    .run(file, report.code, report.detail ?? null, ctx.now().toISOString());
}

/** The embedding model in use, with its vector space made current (null: keyword search only). */
async function activeEmbedder(ctx: Ingest): Promise<Embedder | null> {
  const embedder = await ctx.getEmbedder();
  if (embedder) ensureVectorSpace(ctx.db, { modelId: embedder.id, dim: embedder.dim });
  return embedder;
}

// ── After a model change ─────────────────────────────────────────────────────────────────────────────────

/** Embed chunks that have no vector for the active model, in batches of 64, each written in one transaction. */
async function embedMissing(ctx: Ingest, onProgress?: (p: IngestProgress) => void): Promise<number> {
  const { db } = ctx;
  const embedder = await activeEmbedder(ctx);
  if (!embedder) return 0;
  const rows = db
    .prepare(
      `SELECT c.id, c.text, c.heading_path, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id
       WHERE c.embedded = 0 ORDER BY c.id`,
    )
    .all() as Array<{ id: number; text: string; heading_path: string; title: string }>;
  const BATCH = 64;
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const vectors = await embedder.embedPassages(
      batch.map((r) => embeddingText(r.title, JSON.parse(r.heading_path) as string[], r.text)),
    );
    db.transaction(() => {
      const mark = db.prepare('UPDATE chunks SET embedded = 1 WHERE id = ?');
      deleteVectors(
        db,
        batch.map((r) => r.id),
      );
      batch.forEach((r, j) => {
        insertVector(db, BigInt(r.id), vectors[j] as Float32Array);
        mark.run(r.id);
      });
    })();
    onProgress?.({ phase: 'embed', fileIndex: 0, fileCount: 0, embedded: i + batch.length, toEmbed: rows.length });
  }
  return rows.length;
}
