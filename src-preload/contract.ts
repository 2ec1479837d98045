/**
 * The one API contract between the renderer and the main process. Each method has a
 * name, a zod input schema and an output type. The main process validates every input
 * here (and checks the sender); the preload (IPC) and the HTTP bridge are generated from
 * METHOD_NAMES, so no method exists in one transport only. The renderer imports types only.
 */
import { z } from 'zod';
import type { AnswerResult } from '../src-main/core/answer/answer-service';
import type { AuditAction, AuditEntry, AuditVerification } from '../src-main/core/audit/audit-log';
import type { DatasetManifest, FeedbackQueueItem } from '../src-main/core/dataset/dataset-export';
import type {
  ApplyProgress,
  ApplyResult,
  bundleHistory,
  StagedBundle,
  StagedItem,
} from '../src-main/core/sync/bundle-import';
import type { listTrustedKeys } from '../src-main/core/sync/bundle-keys';
import type { DocumentOrigin } from '../src-main/core/sync/document-origin';
import type { ItemPreview } from '../src-main/core/sync/bundle-preview';
import type { RollbackResult, SnapshotList } from '../src-main/core/sync/rollback';
import type { Settings } from '../src-main/core/config';
import type { ErrorReport } from '../src-main/core/errors';
import type { EmbeddingStatus, LlmStatus } from '../src-main/core/fieldbook';
import type { IngestProgress, IngestReport } from '../src-main/core/ingest/ingest-service';
import { DOC_TYPES, type Box, type DocType } from '../src-main/core/domain';
import type { SearchResponse } from '../src-main/core/search/search-service';
import type { AnswerRecord } from '../src-main/core/store/conversations';
import type { DocumentRecord } from '../src-main/core/store/documents';

const sensitivity = z.enum(['public', 'internal', 'confidential', 'restricted']);
const tags = z.record(z.string().min(1).max(64), z.string().max(200));
const id = z.number().int().positive();

const filters = z
  .object({
    tags: tags.optional(),
    docIds: z.array(id).max(1000).optional(),
    types: z.array(z.enum(DOC_TYPES)).optional(),
    languages: z.array(z.string().max(16)).max(10).optional(),
  })
  .strict();

export const schemas = {
  status: z.object({}).strict(),
  listDocuments: z.object({}).strict(),
  ingest: z
    .object({
      paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000),
      tags: tags.optional(),
      sensitivity: sensitivity.optional(),
      isSafety: z.boolean().optional(),
      /** For password-protected PDFs: used for this call only, never stored, logged or audited. */
      password: z.string().min(1).max(1024).optional(),
    })
    .strict(),
  cancelIngest: z.object({}).strict(),
  removeDocument: z.object({ id }).strict(),
  updateDocument: z
    .object({ id, tags: tags.optional(), sensitivity: sensitivity.optional(), isSafety: z.boolean().optional() })
    .strict(),
  reindexDocument: z.object({ id }).strict(),
  search: z
    .object({
      query: z.string().min(1).max(2000),
      k: z.number().int().min(1).max(100).optional(),
      mode: z.enum(['hybrid', 'keyword', 'vector']).optional(),
      filters: filters.optional(),
    })
    .strict(),
  ask: z
    .object({
      question: z.string().min(1).max(4000),
      requestId: z.string().min(1).max(64),
      conversationId: id.optional(),
      filters: filters.optional(),
    })
    .strict(),
  cancelAsk: z.object({ requestId: z.string().min(1).max(64) }).strict(),
  listConversations: z.object({}).strict(),
  getConversation: z.object({ id }).strict(),
  sendFeedback: z
    .object({
      answerId: id,
      rating: z.enum(['up', 'down']),
      comment: z.string().max(4000).optional(),
      correction: z.string().max(20_000).optional(),
    })
    .strict(),
  openCitation: z.object({ chunkId: id }).strict(),
  /** `page`: for images, which page (TIFF) to send; other types send the whole file. */
  getDocumentFile: z.object({ docId: id, page: z.number().int().min(1).max(100_000).optional() }).strict(),
  browse: z.object({ path: z.string().max(4096).optional() }).strict(),
  /** A native open dialog: documents to add (files and folders), or a USB bundle (folder or .fbbundle file). */
  chooseFiles: z
    .object({ folders: z.boolean().optional(), purpose: z.enum(['documents', 'bundle']).optional() })
    .strict(),
  getSettings: z.object({}).strict(),
  updateSettings: z
    .object({
      locale: z.enum(['en', 'zh-TW']).optional(),
      chunk: z
        .object({ chunkSize: z.number().int().min(50).max(4000), chunkOverlap: z.number().int().min(0).max(1000) })
        .partial()
        .optional(),
      search: z
        .object({ topK: z.number().int().min(1).max(50) })
        .partial()
        .optional(),
      ocr: z
        .object({
          enabled: z.boolean(),
          languages: z
            .array(z.string().regex(/^[a-z_]{2,12}$/))
            .min(1)
            .max(4),
          dpi: z.number().int().min(100).max(400),
        })
        .partial()
        .optional(),
      answer: z
        .object({ retrievalDepth: z.number().int().min(1).max(20), confidenceThreshold: z.number().min(0).max(1) })
        .partial()
        .optional(),
    })
    .strict(),
  listModels: z.object({}).strict(),
  session: z.object({}).strict(),
  elevate: z.object({ role: z.enum(['reviewer', 'admin']), passphrase: z.string().min(1).max(512) }).strict(),
  dropRole: z.object({}).strict(),
  setPassphrase: z.object({ role: z.enum(['reviewer', 'admin']), passphrase: z.string().min(8).max(512) }).strict(),
  auditList: z
    .object({ action: z.string().max(64).optional(), limit: z.number().int().min(1).max(5000).optional() })
    .strict(),
  auditVerify: z.object({}).strict(),
  auditExport: z.object({ format: z.enum(['jsonl', 'csv']) }).strict(),
  feedbackQueue: z.object({}).strict(),
  correctAnswer: z.object({ answerId: id, correction: z.string().min(1).max(20_000) }).strict(),
  /**
   * A reviewer's decision on a suggested correction in the queue: accept it as written, edit it
   * (`correction` is the text that enters training data) or reject it (it never does).
   */
  reviewCorrection: z
    .object({
      feedbackId: id,
      decision: z.enum(['accept', 'edit', 'reject']),
      correction: z.string().trim().min(1).max(20_000).optional(),
    })
    .strict()
    .refine((v) => v.decision !== 'edit' || v.correction !== undefined, {
      message: 'an edited correction needs its text',
      path: ['correction'],
    }),
  datasetExport: z
    .object({
      outDir: z.string().min(1).max(4096),
      format: z.enum(['chat', 'sharegpt', 'alpaca', 'dpo']),
      sources: z.array(z.enum(['answers', 'corrections', 'generated', 'preferences'])).min(1),
      withContext: z.boolean(),
      maxSensitivity: sensitivity.optional(),
      seed: z.number().int().optional(),
      generate: z.number().int().min(0).max(10_000).optional(),
      resetCursor: z.boolean().optional(),
      evalSet: z.boolean().optional(),
    })
    .strict(),
  datasetHistory: z.object({}).strict(),
  bundleScan: z.object({ path: z.string().max(4096).optional() }).strict(),
  /** A bundle folder or a one-file `.fbbundle` archive. */
  bundleStage: z.object({ source: z.string().min(1).max(4096) }).strict(),
  bundleReview: z.object({ bundleId: z.string().uuid() }).strict(),
  bundlePreview: z.object({ bundleId: z.string().uuid(), key: z.string().min(1).max(600) }).strict(),
  bundleDecide: z
    .object({
      bundleId: z.string().uuid(),
      keys: z.union([z.literal('all'), z.array(z.string().min(1).max(512)).min(1)]),
      decision: z.enum(['approved', 'rejected']),
      comment: z.string().max(2000).optional(),
    })
    .strict(),
  bundleApply: z.object({ bundleId: z.string().uuid() }).strict(),
  bundleHistory: z.object({}).strict(),
  bundleKeys: z.object({}).strict(),
  /** A publisher's `.pub.pem` file (e.g. on the USB drive) and the name to show for it. */
  bundleTrustKey: z.object({ path: z.string().min(1).max(4096), name: z.string().trim().min(1).max(200) }).strict(),
  bundleUntrustKey: z.object({ fingerprint: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
  /** Earlier knowledge-base versions that can be restored (reviewer). */
  bundleSnapshots: z.object({}).strict(),
  /** Restore the knowledge as it was at version `to`; conversations, feedback and settings stay (admin). */
  bundleRollback: z.object({ to: z.number().int().nonnegative() }).strict(),
  useModel: z.object({ kind: z.enum(['embedding', 'llm']), name: z.string().min(1).max(255).nullable() }).strict(),
} as const;

export type MethodName = keyof typeof schemas;
export const METHOD_NAMES = Object.keys(schemas) as MethodName[];
export type Input<M extends MethodName> = z.input<(typeof schemas)[M]>;

export interface AppStatus {
  home: string;
  documents: number;
  chunks: number;
  pages: number;
  failures: number;
  searchMode: 'hybrid' | 'keyword';
  answerMode: 'generative' | 'extractive';
  embeddingModel: string | null;
  llmModel: string | null;
  problems: string[];
  locale: 'en' | 'zh-TW';
  transport: 'ipc' | 'http';
  role: SessionInfo['role'];
}

export interface SessionInfo {
  role: 'reader' | 'reviewer' | 'admin';
  clearance: 'public' | 'internal' | 'confidential' | 'restricted';
  /** Whether passphrases exist (first run: an admin passphrase must be set before anyone can elevate). */
  passphrases: { reviewer: boolean; admin: boolean };
  /** No admin passphrase yet: anyone at this PC acts as admin until one is set. */
  setupMode: boolean;
}

export interface FailureRecord {
  sourcePath: string;
  code: string;
  message: string;
  hint: string;
  detail: string | null;
  failedAt: string;
}

export interface CitationView {
  chunkId: number;
  docId: number;
  title: string;
  type: DocType;
  sourcePath: string;
  page: number | null;
  pages: number | null;
  boxes: Box[];

  /** The cited chunk's text. */
  text: string;
  /** For documents without pages: the whole document text and where the chunk sits in it. */
  documentText: string | null;
  highlight: [number, number] | null;
}

/** A document's file for the viewer. */
export interface DocumentFile {
  type: DocType;
  /** The media type of `base64`: the original file, or a PNG of the page for images a browser cannot show as they are. */
  mime: string;
  base64: string;
  /** Images: the page's size in pixels — the unit of the citation's boxes. Null for other types. */
  pageSize: { w: number; h: number } | null;
}

export interface BrowseResult {
  path: string;
  parent: string | null;
  entries: Array<{ name: string; path: string; kind: 'dir' | 'file'; supported: boolean }>;
  roots: string[];
}

export interface Outputs {
  status: AppStatus;
  /** Each document with where it came from (a local file, or which USB bundle and knowledge base). */
  listDocuments: { documents: Array<DocumentRecord & { origin: DocumentOrigin }>; failures: FailureRecord[] };
  ingest: IngestReport;
  cancelIngest: { cancelled: boolean };
  removeDocument: { removed: true };
  updateDocument: DocumentRecord;
  reindexDocument: IngestReport;
  search: SearchResponse;
  ask: AnswerResult;
  cancelAsk: { cancelled: boolean };
  listConversations: Array<{ id: number; title: string; updatedAt: string; answers: number }>;
  getConversation: AnswerRecord[];
  sendFeedback: { id: number };
  openCitation: CitationView;
  getDocumentFile: DocumentFile;
  browse: BrowseResult;
  /** Paths picked in a native dialog (desktop), or null where there is none (browser: use browse). */
  chooseFiles: { paths: string[] | null };
  getSettings: Settings;
  updateSettings: Settings;
  listModels: { embedding: EmbeddingStatus; llm: LlmStatus };
  session: SessionInfo;
  elevate: SessionInfo;
  dropRole: SessionInfo;
  setPassphrase: { ok: true };
  auditList: AuditEntry[];
  auditVerify: AuditVerification;
  auditExport: { text: string };
  feedbackQueue: FeedbackQueueItem[];
  correctAnswer: { id: number };
  reviewCorrection: { feedbackId: number; status: 'accepted' | 'edited' | 'rejected'; reviewedBy: string };
  datasetExport: DatasetManifest & { preview: string[] };
  datasetHistory: Array<{ id: number; createdAt: string; format: string; outDir: string; total: number }>;
  bundleScan: { bundles: string[] };
  bundleStage: StagedBundle;
  bundleReview: StagedItem[];
  bundlePreview: ItemPreview;
  bundleDecide: { changed: number };
  bundleApply: ApplyResult;
  bundleHistory: ReturnType<typeof bundleHistory>;
  bundleKeys: ReturnType<typeof listTrustedKeys>;
  bundleTrustKey: { fingerprint: string };
  bundleUntrustKey: { removed: boolean };
  bundleSnapshots: SnapshotList;
  bundleRollback: RollbackResult;
  useModel: { embedding: EmbeddingStatus; llm: LlmStatus };
}

export type FieldbookEvent =
  | { type: 'ingest-progress'; progress: IngestProgress }
  | { type: 'answer-token'; requestId: string; text: string }
  /** The numbered passages an answer is being written from, sent before its first token. */
  | { type: 'answer-passages'; requestId: string; passages: Outputs['ask']['citations'] }
  | { type: 'bundle-progress'; bundleId: string; progress: ApplyProgress }
  /**
   * The session's role changed since its previous call: `idle` when a reviewer/admin role was
   * dropped for inactivity (noticed on the next call), `changed` for any other change.
   */
  | { type: 'session'; session: SessionInfo; reason: 'idle' | 'changed' };

export type FieldbookApi = { [M in MethodName]: (input: Input<M>) => Promise<Outputs[M]> } & {
  /** Subscribe to progress and streaming events; returns an unsubscribe function. */
  onEvent(listener: (event: FieldbookEvent) => void): () => void;
};

export type { AuditAction, DocType, ErrorReport };
export type Sensitivity = z.infer<typeof sensitivity>;

/** What crosses a transport: a result or a rendered error (never a stack trace). */
export type Envelope<T> = { ok: true; result: T } | { ok: false; error: ErrorReport };

/** What the preload exposes: calls by method name and the event stream. */
export interface IpcBridge {
  invoke(method: string, input: unknown): Promise<Envelope<unknown>>;
  onEvent(listener: (event: FieldbookEvent) => void): () => void;
  /** Desktop only: the paths of files dropped on the window (a browser never reveals them). */
  pathsForFiles?(files: File[]): string[];
}

/** IPC channel names (preload ↔ main). */
export const IPC_INVOKE = 'fieldbook:invoke';
export const IPC_EVENT = 'fieldbook:event';
