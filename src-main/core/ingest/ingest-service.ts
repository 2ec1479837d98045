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

export function createIngestService(deps: IngestDeps): IngestService {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  const recordFailure = (file: string, report: ErrorReport): void => {
    db.prepare(
      `INSERT INTO ingest_failures(source_path, code, detail, failed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(source_path) DO UPDATE SET code = excluded.code, detail = excluded.detail, failed_at = excluded.failed_at`,
    ).run(file, report.code, report.detail ?? null, now().toISOString());
  };

  const setFileState = (jobId: number, file: string, state: 'done' | 'failed' | 'skipped'): void => {
    db.prepare('UPDATE ingest_job_files SET state = ? WHERE job_id = ? AND path = ?').run(state, jobId, file);
  };

  const activeEmbedder = async (): Promise<Embedder | null> => {
    const embedder = await deps.getEmbedder();
    if (embedder) ensureVectorSpace(db, { modelId: embedder.id, dim: embedder.dim });
    return embedder;
  };

  async function processFile(
    jobId: number,
    file: string,
    opts: IngestOptions,
    embedder: Embedder | null,
    progress: (p: Partial<IngestProgress> & { phase: IngestPhase }) => void,
    signal?: AbortSignal,
  ): Promise<FileReport> {
    try {
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
      if (existing && existing.sha256 === sha && !labelsChanged && !opts.force) {
        db.transaction(() => {
          setFileState(jobId, file, 'skipped');
          db.prepare('DELETE FROM ingest_failures WHERE source_path = ?').run(file);
        })();
        return { file, outcome: 'unchanged', docId: existing.id };
      }
      progress({ phase: 'parse', file });
      const parsed: ParseResult = await deps.parser.parse(
        file,
        deps.limits(),
        deps.chunking(),
        (p) => progress({ phase: 'parse', file, page: p.page, pages: p.pages }),
        deps.ocr?.(),
        signal,
        opts.password,
      );
      let vectors: Float32Array[] | null = null;
      if (embedder) {
        const texts = parsed.chunks.map((c) => embeddingText(parsed.doc.title, c.headingPath, c.text));
        progress({ phase: 'embed', file, embedded: 0, toEmbed: texts.length });
        vectors = await embedder.embedPassages(texts, (done, total) =>
          progress({ phase: 'embed', file, embedded: done, toEmbed: total }),
        );
      }
      progress({ phase: 'store', file });
      const docId = db.transaction(() => {
        const id = writeDocument(
          db,
          {
            sourcePath: file,
            title: parsed.doc.title,
            type: parsed.doc.type,
            sha256: sha,
            sizeBytes: size,
            pages: parsed.doc.pages,
            language: parsed.language,
            sensitivity: opts.sensitivity ?? existing?.sensitivity ?? 'internal',
            isSafety: opts.isSafety ?? existing?.isSafety ?? false,
            tags: opts.tags ?? existing?.tags ?? {},
            warnings: parsed.doc.warnings,
            chunks: parsed.chunks,
            vectors,
          },
          now(),
        );
        setFileState(jobId, file, 'done');
        db.prepare('DELETE FROM ingest_failures WHERE source_path = ?').run(file);
        return id;
      })();
      return {
        file,
        outcome: existing ? 'updated' : 'added',
        docId,
        chunks: parsed.chunks.length,
        pages: parsed.doc.pages,
        warnings: parsed.doc.warnings,
      };
    } catch (err) {
      const report = describeError(err);
      if (!report.file) report.file = file;
      // Cancelled: not a failure of the file; it stays pending for `resume`.
      if (report.code === 'INGEST_CANCELLED') return { file, outcome: 'cancelled', error: report };
      db.transaction(() => {
        recordFailure(file, report);
        setFileState(jobId, file, 'failed');
      })();
      return { file, outcome: 'failed', error: report };
    }
  }

  async function runJob(
    jobId: number,
    files: string[],
    opts: IngestOptions,
    onProgress?: (p: IngestProgress) => void,
    signal?: AbortSignal,
  ): Promise<FileReport[]> {
    const embedder = await activeEmbedder();
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
          reports[index] = await processFile(
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

  return {
    async ingest(paths, opts = {}, onProgress, signal) {
      onProgress?.({ phase: 'scan', fileIndex: 0, fileCount: 0 });
      const expanded = expandPaths(paths, { images: deps.ocr?.().enabled === true });
      const removed: string[] = [];
      const missingReports: FileReport[] = [];
      for (const m of expanded.missing) {
        const doc = getDocumentByPath(db, m);
        const mayRemove = !opts.maxSensitivity || (doc && withinClearance(doc.sensitivity, opts.maxSensitivity));
        if (doc && opts.removeMissing && mayRemove) {
          db.transaction(() => deleteDocumentRows(db, doc.id))();
          removed.push(m);
        } else {
          const error = describeError(new FieldbookError('PATH_NOT_FOUND', { file: m }));
          recordFailure(m, error);
          missingReports.push({ file: m, outcome: 'failed', error });
        }
      }
      if (opts.removeMissing && expanded.folders.length) {
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
      }
      const jobId = db.transaction(() => {
        const id = Number(
          db
            .prepare("INSERT INTO ingest_jobs(created_at, options, status) VALUES (?, ?, 'running')")
            .run(now().toISOString(), JSON.stringify(storedOptions(opts))).lastInsertRowid,
        );
        const ins = db.prepare('INSERT INTO ingest_job_files(job_id, path) VALUES (?, ?)');
        for (const f of expanded.files) ins.run(id, f);
        return id;
      })();
      const reports = await runJob(jobId, expanded.files, opts, onProgress, signal);
      return summarise(jobId, [...missingReports, ...reports], removed);
    },

    async resume(onProgress, signal) {
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
      const reports = await runJob(job.id, pending, JSON.parse(job.options) as IngestOptions, onProgress, signal);
      return summarise(job.id, reports, []);
    },

    async embedMissing(onProgress) {
      const embedder = await activeEmbedder();
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
    },

    removeDocument(docId) {
      const exists = db.prepare('SELECT 1 FROM documents WHERE id = ?').get(docId);
      if (!exists) throw new FieldbookError('DOCUMENT_NOT_FOUND', { detail: `id ${docId}` });
      db.transaction(() => deleteDocumentRows(db, docId))();
    },
  };
}
