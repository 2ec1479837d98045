/**
 * The contract's methods implemented over the core services. Both transports — Electron
 * IPC and the loopback HTTP bridge — call `invoke`, which validates the input against the
 * contract's schema and returns an Envelope (a result, or an error in plain words).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  METHOD_NAMES,
  schemas,
  type AppStatus,
  type BrowseResult,
  type Envelope,
  type FieldbookEvent,
  type Input,
  type MethodName,
  type Outputs,
  type SessionInfo,
} from '../../src-preload/contract';
import { atLeast, hasPassphrase, setPassphrase, type AccessSession } from '../core/access/roles';
import {
  appendAudit,
  audited,
  exportAudit,
  listAudit,
  verifyAudit,
  type AuditAction,
  type AuditInput,
} from '../core/audit/audit-log';
import { ingestAudit, questionAudit } from '../core/audit/audit-labels';
import { describeError, FieldbookError, isErrorCode } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import { SCANNED_EXTENSIONS } from '../core/ingest/detect';
import { viewerImage } from '../core/ingest/image-file';
import type { DocType } from '../core/ingest/types';
import { exportDataset, feedbackQueue } from '../core/dataset/dataset-export';
import {
  applyBundle,
  bundleHistory,
  decide,
  findBundles,
  removableRoots,
  reviewItems,
  stageBundle,
} from '../core/sync/bundle-import';
import { listTrustedKeys, trustKey, untrustKey } from '../core/sync/bundle-keys';
import { bundleContext } from '../core/sync/bundle-context';
import { previewItem } from '../core/sync/bundle-preview';
import { listSnapshots, rollbackKnowledge } from '../core/sync/rollback';
import {
  answerSensitivity,
  answerVisible,
  conversationAnswers,
  listConversations,
  saveFeedback,
  visibleAnswer,
  type AnswerRecord,
} from '../core/store/conversations';
import {
  getDocument,
  getDocumentByPath,
  higherLabel,
  listDocuments,
  setDocumentLabels,
  storeStats,
  toChunkRecord,
  withinClearance,
  type Sensitivity,
} from '../core/store/documents';
import { readFileNoFollow } from '../core/util/safe-file';

export type Handlers = { [M in MethodName]: (input: Input<M>, session: AccessSession) => Promise<Outputs[M]> };

export interface ApiHost {
  transport: 'ipc' | 'http';
  /** Native file dialog (desktop only). */
  chooseFiles?: (opts: { folders: boolean; purpose: 'documents' | 'bundle' }) => Promise<string[]>;
}

export interface Api {
  /** Validate and run one contract call for the given user session. */
  invoke(method: string, input: unknown, session: AccessSession): Promise<Envelope<unknown>>;
  /** Progress and streaming events, with the session whose call caused each. */
  events: EventEmitter<{ event: [FieldbookEvent, AccessSession] }>;
  handlers: Handlers;
}

const MAX_FILE_BYTES = 150 * 1024 * 1024;

const FILE_MIME: Record<Exclude<DocType, 'image'>, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  txt: 'text/plain',
  md: 'text/markdown',
};

function browseRoots(): string[] {
  const roots = [os.homedir()];
  if (process.platform === 'win32') {
    for (const letter of 'CDEFGHIJKLMNOPQRSTUVWXYZ') if (fs.existsSync(`${letter}:\\`)) roots.push(`${letter}:\\`);
  } else {
    for (const r of ['/media', '/mnt', '/run/media']) if (fs.existsSync(r)) roots.push(r);
  }
  return roots;
}

export function createApi(fb: Fieldbook, host: ApiHost): Api {
  const events = new EventEmitter<{ event: [FieldbookEvent, AccessSession] }>();
  /** Events go to the session whose call caused them (the HTTP bridge sends them to that caller only). */
  const emit = (e: FieldbookEvent, s: AccessSession): void => {
    events.emit('event', e, s);
  };
  const asking = new Map<string, AbortController>();
  let ingesting: AbortController | null = null;
  /** A bundle apply or rollback in progress (they must not overlap). */
  let updating = false;
  /** Run a knowledge-base update (apply or rollback) while no other update or import runs. */
  const exclusively = async <T>(busy: 'BUNDLE_BUSY' | 'ROLLBACK_BUSY', run: () => Promise<T>): Promise<T> => {
    if (updating || ingesting)
      throw new FieldbookError(busy, { detail: 'another update, a rollback or an import is running' });
    updating = true;
    try {
      return await run();
    } finally {
      updating = false;
    }
  };
  /** When each actor was last refused on each target (audit de-duplication). */
  const lastRefusal = new Map<string, number>();
  const audit = (
    s: AccessSession,
    action: AuditAction,
    target: string | null,
    detail: Record<string, unknown> = {},
  ): void => {
    const now = new Date();
    // A refusal repeated by the same actor on the same target within a minute is recorded once,
    // so a script cannot bury the log in identical refusals.
    if (action === 'access.denied') {
      const key = `${s.actor}\u0000${target ?? ''}`;
      const last = lastRefusal.get(key);
      if (last !== undefined && now.getTime() - last < 60_000) return;
      lastRefusal.set(key, now.getTime());
      if (lastRefusal.size > 10_000) lastRefusal.clear();
    }
    appendAudit(fb.db, { actor: s.actor, role: s.role(), action, target, detail }, now);
  };
  /** Run a change and its audit entry in one transaction (the entry commits with the change or not at all). */
  const auditedChange = <T>(
    s: AccessSession,
    action: AuditAction,
    change: () => T,
    entry: (r: T) => Pick<AuditInput, 'target' | 'detail'>,
  ): T => audited(fb.db, change, (r) => ({ actor: s.actor, role: s.role(), action, ...entry(r) }), new Date());
  const allowed = (s: AccessSession, sensitivity: Sensitivity): boolean => withinClearance(sensitivity, s.clearance());
  /** A document this session may see, or DOCUMENT_NOT_FOUND / ACCESS_DENIED (audited). */
  const visibleDocument = (s: AccessSession, id: number): NonNullable<ReturnType<typeof getDocument>> => {
    const doc = getDocument(fb.db, id);
    if (!doc) throw new FieldbookError('DOCUMENT_NOT_FOUND', { detail: `id ${id}` });
    if (!allowed(s, doc.sensitivity)) {
      audit(s, 'access.denied', doc.sourcePath, { sensitivity: doc.sensitivity });
      throw new FieldbookError('ACCESS_DENIED', { detail: `the document is labelled ${doc.sensitivity}` });
    }
    return doc;
  };
  /** Wrong-passphrase streaks per session, for a growing wait after 5 in a row. */
  const elevateLocks = new WeakMap<AccessSession, { failures: number; until: number }>();
  /** Whether the session may see an answer: every passage it was made from is within its clearance. */
  const mayRead = (s: AccessSession, a: AnswerRecord): boolean => answerVisible(fb.db, a, s.clearance());
  /** An answer the session may rate or correct (ACCESS_DENIED, audited, for one it may not see). */
  const feedbackTarget = (s: AccessSession, answerId: number): AnswerRecord => {
    try {
      return visibleAnswer(fb.db, answerId, s.clearance());
    } catch (err) {
      if (err instanceof FieldbookError && err.code === 'ACCESS_DENIED')
        audit(s, 'access.denied', `answer ${answerId}`);
      throw err;
    }
  };
  /** The answers of a conversation, or ACCESS_DENIED (audited) when any of them cites above the clearance. */
  const visibleConversation = (s: AccessSession, id: number): AnswerRecord[] => {
    const answers = conversationAnswers(fb.db, id);
    if (!answers.every((a) => mayRead(s, a))) {
      audit(s, 'access.denied', `conversation ${id}`);
      throw new FieldbookError('ACCESS_DENIED', { detail: 'the conversation cites documents above your clearance' });
    }
    return answers;
  };
  /** The role each session had after its previous call, to tell the UI when it changes (e.g. dropped when idle). */
  const lastRoles = new WeakMap<AccessSession, ReturnType<AccessSession['role']>>();
  const followRole = (method: MethodName, s: AccessSession): void => {
    const before = lastRoles.get(s);
    const now = s.role();
    lastRoles.set(s, now);
    if (before === undefined || before === now) return;
    // Elevated to reader without dropRole or a new admin passphrase (which ends setup mode): the idle timeout.
    const idle = now === 'reader' && method !== 'dropRole' && method !== 'setPassphrase';
    emit({ type: 'session', session: sessionInfo(s), reason: idle ? 'idle' : 'changed' }, s);
  };
  const sessionInfo = (s: AccessSession): SessionInfo => ({
    role: s.role(),
    clearance: s.clearance(),
    passphrases: { reviewer: hasPassphrase(fb.db, 'reviewer'), admin: hasPassphrase(fb.db, 'admin') },
    setupMode: !hasPassphrase(fb.db, 'admin'),
  });

  const handlers: Handlers = {
    async status(_input, s) {
      const stats = storeStats(fb.db);
      const embedding = await fb.embeddingStatus();
      const llm = await fb.llmStatus();
      const problems = [embedding.problem, llm.problem].filter((p): p is string => Boolean(p));
      const status: AppStatus = {
        home: fb.home,
        documents: stats.documents,
        chunks: stats.chunks,
        pages: stats.pages,
        failures: stats.failures,
        searchMode: embedding.active ? 'hybrid' : 'keyword',
        answerMode: llm.active && !llm.problem ? 'generative' : 'extractive',
        embeddingModel: embedding.active,
        llmModel: llm.active,
        problems,
        locale: fb.settings().locale,
        transport: host.transport,
        role: s.role(),
      };
      return status;
    },
    async listDocuments(_input, s) {
      const locale = fb.settings().locale;
      // Failed files are for the people who import (reviewers, admins): their paths and details can
      // name documents a reader may not see. A failure of an indexed document above the session's
      // clearance (a failed re-index) stays hidden from them too.
      const rows = atLeast(s.role(), 'reviewer')
        ? (
            fb.db
              .prepare('SELECT source_path, code, detail, failed_at FROM ingest_failures ORDER BY failed_at DESC')
              .all() as Array<{ source_path: string; code: string; detail: string | null; failed_at: string }>
          ).filter((r) => {
            const doc = getDocumentByPath(fb.db, r.source_path);
            return !doc || allowed(s, doc.sensitivity);
          })
        : [];
      const failures = rows.map((r) => {
        const code = isErrorCode(r.code) ? r.code : 'PARSE_FAILED';
        const report = describeError(new FieldbookError(code, r.detail ? { detail: r.detail } : {}), locale);
        return {
          sourcePath: r.source_path,
          code: r.code,
          message: report.message,
          hint: report.hint,
          detail: r.detail,
          failedAt: r.failed_at,
        };
      });
      return { documents: listDocuments(fb.db).filter((d) => allowed(s, d.sensitivity)), failures };
    },
    async ingest(input, s) {
      s.require('reviewer', 'Adding documents');
      // Nobody labels documents above their own clearance or changes ones they may not see.
      if (input.sensitivity && !allowed(s, input.sensitivity)) {
        audit(s, 'access.denied', input.paths.join('; ').slice(0, 500), { sensitivity: input.sensitivity });
        throw new FieldbookError('ACCESS_DENIED', { detail: `your clearance is ${s.clearance()}` });
      }
      const opts: Parameters<Fieldbook['ingest']['ingest']>[1] = { maxSensitivity: s.clearance() };
      if (input.tags) opts.tags = input.tags;
      if (input.sensitivity) opts.sensitivity = input.sensitivity;
      if (input.isSafety !== undefined) opts.isSafety = input.isSafety;
      if (input.password) opts.password = input.password;
      const controller = new AbortController();
      ingesting = controller;
      let report;
      try {
        report = await fb.ingest.ingest(
          input.paths,
          opts,
          (progress) => emit({ type: 'ingest-progress', progress }, s),
          controller.signal,
        );
      } finally {
        if (ingesting === controller) ingesting = null;
      }
      const entry = ingestAudit(fb.db, input.paths, opts, report);
      audit(s, 'ingest', entry.target, entry.detail);
      return report;
    },
    async cancelIngest(_input, s) {
      s.require('reviewer', 'Stopping an import');
      const c = ingesting;
      c?.abort();
      return { cancelled: c !== null };
    },
    async removeDocument(input, s) {
      s.require('reviewer', 'Removing documents');
      const doc = visibleDocument(s, input.id);
      auditedChange(
        s,
        'document.delete',
        () => fb.ingest.removeDocument(input.id),
        () => ({
          target: doc.sourcePath,
          detail: { title: doc.title, version: doc.version, sensitivity: doc.sensitivity },
        }),
      );
      return { removed: true };
    },
    async updateDocument(input, s) {
      s.require('reviewer', 'Changing labels');
      const before = visibleDocument(s, input.id);
      const labels: Parameters<typeof setDocumentLabels>[2] = {};
      if (input.tags) labels.tags = input.tags;
      if (input.sensitivity) labels.sensitivity = input.sensitivity;
      if (input.isSafety !== undefined) labels.isSafety = input.isSafety;
      auditedChange(
        s,
        'document.labels',
        () => setDocumentLabels(fb.db, input.id, labels, new Date()),
        () => ({
          target: before.sourcePath,
          detail: {
            before: { tags: before.tags, sensitivity: before.sensitivity, isSafety: before.isSafety },
            after: labels,
            sensitivity: higherLabel(before.sensitivity, labels.sensitivity ?? before.sensitivity),
          },
        }),
      );
      return getDocument(fb.db, input.id) as NonNullable<ReturnType<typeof getDocument>>;
    },
    async reindexDocument(input, s) {
      s.require('reviewer', 'Re-indexing');
      const doc = visibleDocument(s, input.id);
      const report = await fb.ingest.ingest([doc.sourcePath], { force: true }, (progress) =>
        emit({ type: 'ingest-progress', progress }, s),
      );
      audit(s, 'document.reindex', doc.sourcePath, { counts: report.counts, sensitivity: doc.sensitivity });
      return report;
    },
    async search(input, s) {
      // Clearance is applied here, never taken from the caller.
      const opts: Parameters<Fieldbook['search']['search']>[1] = {
        filters: { ...input.filters, maxSensitivity: s.clearance() },
      };
      if (input.k !== undefined) opts.k = input.k;
      if (input.mode) opts.mode = input.mode;
      return fb.search.search(input.query, opts);
    },
    async ask(input, s) {
      const controller = new AbortController();
      asking.set(input.requestId, controller);
      try {
        const opts: Parameters<Fieldbook['answers']['ask']>[1] = {
          signal: controller.signal,
          onToken: (text) => emit({ type: 'answer-token', requestId: input.requestId, text }, s),
          onPassages: (passages) => emit({ type: 'answer-passages', requestId: input.requestId, passages }, s),
          filters: { ...input.filters, maxSensitivity: s.clearance() },
        };
        if (input.conversationId !== undefined) {
          visibleConversation(s, input.conversationId); // a follow-up reuses the earlier questions
          opts.conversationId = input.conversationId;
        }
        const res = await fb.answers.ask(input.question, opts);
        if (fb.settings().answer.auditQuestions) {
          const entry = questionAudit(fb.db, input.question, res);
          audit(s, 'question', entry.target, entry.detail);
        }
        return res;
      } finally {
        asking.delete(input.requestId);
      }
    },
    async cancelAsk(input) {
      const c = asking.get(input.requestId);
      c?.abort();
      return { cancelled: c !== undefined };
    },
    async listConversations(_input, s) {
      // A conversation drawing on anything above the session's clearance is not listed (its title is a question).
      return listConversations(fb.db, s.clearance());
    },
    async getConversation(input, s) {
      return visibleConversation(s, input.id);
    },
    async sendFeedback(input, s) {
      const answer = feedbackTarget(s, input.answerId);
      const f: Parameters<typeof saveFeedback>[1] = {
        answerId: input.answerId,
        rating: input.rating,
        clearance: s.clearance(),
      };
      if (input.comment) f.comment = input.comment;
      if (input.correction) f.correction = input.correction;
      const id = auditedChange(
        s,
        'feedback',
        () => saveFeedback(fb.db, f, new Date()),
        () => ({
          target: `answer ${input.answerId}`,
          detail: {
            rating: input.rating,
            corrected: Boolean(input.correction),
            sensitivity: answerSensitivity(fb.db, answer),
          },
        }),
      );
      return { id };
    },
    async openCitation(input, s) {
      const row = fb.db.prepare('SELECT * FROM chunks WHERE id = ?').get(input.chunkId) as
        Parameters<typeof toChunkRecord>[0] | undefined;
      if (!row) throw new FieldbookError('DOCUMENT_NOT_FOUND', { detail: `chunk ${input.chunkId}` });
      const chunk = toChunkRecord(row);
      const doc = visibleDocument(s, chunk.docId);
      let documentText: string | null = null;
      let highlight: [number, number] | null = null;
      if (doc.type !== 'pdf' && doc.type !== 'image') {
        // Without pages: show the passage with its neighbours so it reads in context.
        const around = fb.db
          .prepare('SELECT ord, text FROM chunks WHERE doc_id = ? AND ord BETWEEN ? AND ? ORDER BY ord')
          .all(doc.id, chunk.ord - 1, chunk.ord + 1) as Array<{ ord: number; text: string }>;
        let text = '';
        for (const a of around) {
          if (text) text += '\n\n';
          if (a.ord === chunk.ord) highlight = [text.length, text.length + a.text.length];
          text += a.text;
        }
        documentText = text;
      }
      return {
        chunkId: chunk.id,
        docId: doc.id,
        title: doc.title,
        type: doc.type,
        sourcePath: doc.sourcePath,
        page: chunk.pageStart,
        pages: doc.pages,
        boxes: chunk.boxes,

        text: chunk.text,
        documentText,
        highlight,
      };
    },
    async getDocumentFile(input, s) {
      const doc = visibleDocument(s, input.docId);
      // Only the file of an indexed document the session may see is ever read (by id, never by a path),
      // without following links, and only while its content is the content that was indexed.
      const data = await readFileNoFollow(doc.sourcePath, { maxBytes: MAX_FILE_BYTES, sha256: doc.sha256 });
      if (doc.type === 'image') {
        const page = await viewerImage(data, doc.sourcePath, input.page ?? 1);
        return {
          type: doc.type,
          mime: page.mime,
          base64: page.data.toString('base64'),
          pageSize: { w: page.width, h: page.height },
        };
      }
      return { type: doc.type, mime: FILE_MIME[doc.type], base64: data.toString('base64'), pageSize: null };
    },
    async browse(input, s) {
      s.require('reviewer', 'Browsing folders to add documents');
      const dir = path.resolve(input.path ?? os.homedir());
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        throw new FieldbookError('PATH_NOT_FOUND', { file: dir });
      }
      const result: BrowseResult = {
        path: dir,
        parent: path.dirname(dir) === dir ? null : path.dirname(dir),
        roots: browseRoots(),
        entries: entries
          .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isFile()))
          .map((e) => ({
            name: e.name,
            path: path.join(dir, e.name),
            kind: e.isDirectory() ? ('dir' as const) : ('file' as const),
            supported: e.isDirectory() || SCANNED_EXTENSIONS.has(path.extname(e.name).toLowerCase()),
          }))
          .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1)),
      };
      return result;
    },
    async chooseFiles(input) {
      const opts = { folders: input.folders === true, purpose: input.purpose ?? 'documents' };
      return { paths: host.chooseFiles ? await host.chooseFiles(opts) : null };
    },
    async getSettings() {
      return fb.settings();
    },
    async updateSettings(input, s) {
      if (Object.keys(input).some((k) => k !== 'locale')) s.require('admin', 'Changing settings');
      const patch: Parameters<Fieldbook['updateSettings']>[0] = {};
      if (input.locale) patch.locale = input.locale;
      if (input.chunk) patch.chunk = input.chunk;
      if (input.search) patch.search = input.search;
      if (input.answer) patch.answer = input.answer;
      if (input.ocr) patch.ocr = input.ocr;
      const next = fb.updateSettings(patch);
      audit(s, 'settings.change', null, { patch });
      return next;
    },
    async listModels() {
      return { embedding: await fb.embeddingStatus(), llm: await fb.llmStatus() };
    },
    async useModel(input, s) {
      s.require('admin', 'Changing models');
      if (input.kind === 'embedding') {
        await fb.useEmbeddingModel(input.name);
        await fb.ingest.embedMissing((progress) => emit({ type: 'ingest-progress', progress }, s));
      } else await fb.useLlmModel(input.name);
      audit(s, 'model.approve', input.name, { kind: input.kind });
      return { embedding: await fb.embeddingStatus(), llm: await fb.llmStatus() };
    },
    async session(_input, s) {
      return sessionInfo(s);
    },
    async elevate(input, s) {
      const lock = elevateLocks.get(s);
      const now = Date.now();
      if (lock && lock.until > now)
        throw new FieldbookError('ELEVATION_LOCKED', {
          detail: `too many wrong passphrases: try again in ${Math.ceil((lock.until - now) / 1000)} s`,
        });
      if (!s.elevate(input.role, input.passphrase)) {
        const failures = (lock?.failures ?? 0) + 1;
        // After 5 wrong guesses in a row, each further guess waits 30 s more (scrypt also costs ~0.25 s each).
        elevateLocks.set(s, { failures, until: failures >= 5 ? now + 30_000 * (failures - 4) : 0 });
        audit(s, 'role.elevate-failed', input.role, { failures });
        throw new FieldbookError('PASSPHRASE_WRONG', {
          detail: 'wrong passphrase, or no passphrase set for this role',
        });
      }
      elevateLocks.delete(s);
      audit(s, 'role.elevate', input.role);
      return sessionInfo(s);
    },
    async dropRole(_input, s) {
      s.drop();
      audit(s, 'role.drop', null);
      return sessionInfo(s);
    },
    async setPassphrase(input, s) {
      // First run: whoever sits at the PC sets the first admin passphrase; afterwards only an admin may.
      if (hasPassphrase(fb.db, 'admin')) s.require('admin', 'Setting passphrases');
      else if (input.role !== 'admin')
        throw new FieldbookError('ACCESS_DENIED', { detail: 'set the admin passphrase first' });
      setPassphrase(fb.db, input.role, input.passphrase, new Date());
      audit(s, 'role.passphrase', input.role);
      return { ok: true };
    },
    async auditList(input, s) {
      s.require('reviewer', 'Reading the audit log');
      // Entries about documents or answers above the reader's clearance are left out.
      const q: Parameters<typeof listAudit>[1] = { maxSensitivity: s.clearance() };
      if (input.action) q.action = input.action;
      if (input.limit) q.limit = input.limit;
      return listAudit(fb.db, q);
    },
    async auditVerify(_input, s) {
      s.require('reviewer', 'Checking the audit log');
      return verifyAudit(fb.db);
    },
    async auditExport(input, s) {
      s.require('admin', 'Exporting the audit log');
      return { text: exportAudit(fb.db, input.format) };
    },
    async feedbackQueue(_input, s) {
      s.require('reviewer', 'The feedback review queue');
      return feedbackQueue(fb.db, s.clearance());
    },
    async correctAnswer(input, s) {
      s.require('reviewer', 'Correcting answers');
      const answer = feedbackTarget(s, input.answerId);
      const id = auditedChange(
        s,
        'feedback',
        () =>
          saveFeedback(
            fb.db,
            {
              answerId: input.answerId,
              rating: 'down',
              correction: input.correction,
              author: s.actor,
              clearance: s.clearance(),
            },
            new Date(),
          ),
        () => ({
          target: `answer ${input.answerId}`,
          detail: { corrected: true, sensitivity: answerSensitivity(fb.db, answer) },
        }),
      );
      return { id };
    },
    async datasetExport(input, s) {
      s.require('admin', 'Exporting training data');
      // Never export above the exporter's own clearance.
      const wanted = input.maxSensitivity ?? 'internal';
      const maxSensitivity = allowed(s, wanted) ? wanted : s.clearance();
      const generator = input.sources.includes('generated') ? await fb.generator() : null;
      const manifest = await exportDataset(fb.db, fb.search, {
        outDir: path.resolve(input.outDir),
        format: input.format,
        sources: input.sources,
        withContext: input.withContext,
        maxSensitivity,
        seed: input.seed ?? 42,
        ratios: { train: 0.8, validation: 0.1 },
        minChars: 2,
        maxChars: 16_000,
        generateCount: input.generate ?? (input.sources.includes('generated') ? 50 : 0),
        generator,
        resetCursor: input.resetCursor === true,
        evalSet: input.evalSet === true,
        now: new Date(),
      });
      audit(s, 'dataset.export', path.resolve(input.outDir), {
        format: input.format,
        counts: manifest.counts,
        kbVersion: manifest.kbVersion,
      });
      const train = fs.readFileSync(path.join(path.resolve(input.outDir), 'train.jsonl'), 'utf8');
      return { ...manifest, preview: train.split('\n').filter(Boolean).slice(0, 3) };
    },
    async datasetHistory(_input, s) {
      s.require('reviewer', 'Dataset history');
      const rows = fb.db
        .prepare('SELECT id, created_at, format, out_dir, manifest FROM dataset_exports ORDER BY id DESC LIMIT 100')
        .all() as Array<{
        id: number;
        created_at: string;
        format: string;
        out_dir: string;
        manifest: string;
      }>;
      return rows.map((r) => ({
        id: r.id,
        createdAt: r.created_at,
        format: r.format,
        outDir: r.out_dir,
        total: (JSON.parse(r.manifest) as { counts: { total: number } }).counts.total,
      }));
    },
    async bundleScan(input, s) {
      s.require('reviewer', 'Looking for update bundles');
      return { bundles: findBundles(input.path ? [input.path] : removableRoots()) };
    },
    async bundleStage(input, s) {
      s.require('reviewer', 'Staging an update bundle');
      try {
        const staged = await stageBundle(fb.db, fb.home, input.source, new Date(), s.clearance());
        audit(s, 'bundle.stage', staged.bundleId, {
          source: input.source,
          version: staged.info.version,
          baseVersion: staged.info.baseVersion,
          items: staged.items.length,
          alreadyApplied: staged.alreadyApplied,
        });
        return staged;
      } catch (err) {
        if (err instanceof FieldbookError)
          audit(s, 'bundle.verify-failed', input.source, { code: err.code, detail: err.detail ?? null });
        throw err;
      }
    },
    async bundleReview(input, s) {
      s.require('reviewer', 'Reviewing an update bundle');
      // Changes above the reviewer's clearance are listed without key or title.
      return reviewItems(fb.db, input.bundleId, s.clearance());
    },
    async bundlePreview(input, s) {
      s.require('reviewer', 'Previewing a change in an update bundle');
      const preview = await previewItem(bundleContext(fb), input.bundleId, input.key);
      // The text of a document above the reviewer's clearance is not shown, incoming or outgoing.
      for (const labels of [preview.labelsBefore, preview.labelsAfter]) {
        if (labels && !allowed(s, labels.sensitivity)) {
          audit(s, 'access.denied', `${input.bundleId}:${input.key}`, { sensitivity: labels.sensitivity });
          throw new FieldbookError('ACCESS_DENIED', { detail: `the document is labelled ${labels.sensitivity}` });
        }
      }
      return preview;
    },
    async bundleDecide(input, s) {
      s.require('reviewer', 'Approving or rejecting changes');
      let changed: number;
      try {
        // Nobody decides on a change to a document they may not see (the rule of updateDocument).
        changed = decide(
          fb.db,
          input.bundleId,
          input.keys,
          input.decision,
          s.actor,
          input.comment ?? null,
          s.clearance(),
        );
      } catch (err) {
        if (err instanceof FieldbookError && err.code === 'ACCESS_DENIED')
          audit(s, 'access.denied', input.bundleId, { decision: input.decision, clearance: s.clearance() });
        throw err;
      }
      audit(s, input.decision === 'approved' ? 'bundle.approve' : 'bundle.reject', input.bundleId, {
        keys: input.keys,
        comment: input.comment ?? null,
      });
      return { changed };
    },
    async bundleApply(input, s) {
      s.require('reviewer', 'Applying an update bundle');
      return exclusively('BUNDLE_BUSY', async () => {
        try {
          return await applyBundle(input.bundleId, {
            ...bundleContext(fb),
            embedder: await fb.embedder(),
            now: new Date(),
            clearance: s.clearance(),
            // Written inside the apply transaction: committed with the new version or not at all.
            record: (r) => audit(s, 'bundle.apply', input.bundleId, { ...r }),
            onProgress: (progress) => emit({ type: 'bundle-progress', bundleId: input.bundleId, progress }, s),
          });
        } catch (err) {
          if (err instanceof FieldbookError && err.code === 'ACCESS_DENIED')
            audit(s, 'access.denied', input.bundleId, { clearance: s.clearance() });
          throw err;
        }
      });
    },
    async bundleHistory(_input, s) {
      s.require('reviewer', 'Bundle history');
      return bundleHistory(fb.db);
    },
    async bundleKeys(_input, s) {
      s.require('reviewer', 'Trusted publisher keys');
      return listTrustedKeys(fb.db);
    },
    async bundleTrustKey(input, s) {
      s.require('admin', 'Trusting a publisher key');
      const st = fs.statSync(input.path, { throwIfNoEntry: false });
      if (!st?.isFile()) throw new FieldbookError('PATH_NOT_FOUND', { file: input.path });
      if (st.size > 16 * 1024)
        throw new FieldbookError('BUNDLE_INVALID', { file: input.path, detail: 'too large for a public key file' });
      const fingerprint = trustKey(fb.db, fs.readFileSync(input.path, 'utf8'), input.name, new Date());
      audit(s, 'bundle.trust', fingerprint, { name: input.name, file: input.path });
      return { fingerprint };
    },
    async bundleUntrustKey(input, s) {
      s.require('admin', 'Removing a trusted publisher key');
      const removed = untrustKey(fb.db, input.fingerprint);
      if (removed) audit(s, 'bundle.untrust', input.fingerprint);
      return { removed };
    },
    async bundleSnapshots(_input, s) {
      s.require('reviewer', 'Knowledge-base versions');
      return listSnapshots(fb.db, fb.home);
    },
    async bundleRollback(input, s) {
      s.require('admin', 'Restoring an earlier knowledge-base version');
      return exclusively('ROLLBACK_BUSY', async () => {
        try {
          const r = await rollbackKnowledge(fb.db, fb.home, input.to, {
            now: new Date(),
            embedMissing: () => fb.ingest.embedMissing((progress) => emit({ type: 'ingest-progress', progress }, s)),
          });
          // Model files whose approval was undone must not stay loaded.
          if (r.modelApprovalsReverted > 0) await fb.unloadModels();
          audit(s, 'bundle.rollback', `v${input.to}`, { ...r });
          return r;
        } catch (err) {
          const report = describeError(err);
          audit(s, 'bundle.rollback', `v${input.to}`, { failed: report.code, detail: report.detail ?? null });
          throw err;
        }
      });
    },
  };

  return {
    events,
    handlers,
    async invoke(method, input, session) {
      const locale = fb.settings().locale;
      if (!(METHOD_NAMES as string[]).includes(method)) {
        return {
          ok: false,
          error: describeError(new FieldbookError('INVALID_INPUT', { detail: `unknown method ${method}` }), locale),
        };
      }
      const m = method as MethodName;
      const parsed = schemas[m].safeParse(input ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const detail = `${m}: ${issue ? `${issue.path.join('.') || 'input'} — ${issue.message}` : 'invalid input'}`;
        return { ok: false, error: describeError(new FieldbookError('INVALID_INPUT', { detail }), locale) };
      }
      try {
        const handler = handlers[m] as (i: unknown, s: AccessSession) => Promise<unknown>;
        return { ok: true, result: await handler(parsed.data, session) };
      } catch (err) {
        return { ok: false, error: describeError(err, locale) };
      } finally {
        followRole(m, session);
      }
    },
  };
}
