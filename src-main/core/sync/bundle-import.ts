/**
 * Bundle import on the isolated PC: verify (trusted signer, signature, every path and hash,
 * see bundle-verify.ts) before anything is copied; stage into a quarantine folder; a reviewer
 * approves or rejects each change (only changes within their clearance); a document whose content
 * is already in the library under another path is a 'duplicate' (approve: the bundle takes that
 * document over — still one copy; reject: nothing is added); apply checks version,
 * base and publisher first, keeps a snapshot, then writes every approved change in ONE
 * transaction as a new KB version; the library and model files follow from quarantine after
 * the commit (see bundle-files.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import type { Embedder } from '../embed/embedder';
import { FieldbookError } from '../errors';
import type { ParserPool } from '../ingest/parser-pool';
import { isDocType } from '../domain';
import type { ParseResult } from '../ingest/types';
import {
  chunkContext,
  deleteDocumentRows,
  getDocument,
  getDocumentByPath,
  higherLabel,
  listDocuments,
  relocateDocument,
  resolvedSourcePath,
  withinClearance,
  writeDocument,
  type Sensitivity,
} from '../store/documents';
import { durableTransaction, type Db } from '../store/db';
import { ensureVectorSpace, getMeta, setMeta } from '../store/vectors';
import { sha256File } from '../util/hash';
import { ARCHIVE_EXTENSION } from './bundle-archive';
import { claimStaging, finishBundleFiles, modelApproval, modelRoot, processTagged, stagingDir } from './bundle-files';
import {
  IndexFile,
  labelFingerprint,
  libraryPath,
  libraryRoot,
  Manifest,
  safeBundlePath,
  type BundleManifest,
} from './bundle-manifest';
import { checkPublisher, checkVersionFits, openBundleSource, verifyBundleDir } from './bundle-verify';
import { originLookup, type DocumentOrigin } from './document-origin';
import { discardSnapshot, keepReplacedFile, preserveLibraryFiles, takeSnapshot } from './rollback';

export { verifyBundle } from './bundle-verify';

/**
 * `duplicate`: not in this bundle's library yet, but a document with the same content (SHA-256) is in
 * the library under another path (a local file, or another bundle's). Approving it lets the bundle
 * take that document over (same id and passages, the bundle's path and labels); rejecting it keeps
 * the existing one as it is. Either way the content is never added twice.
 */
export type ChangeKind = 'new' | 'changed' | 'unchanged' | 'removed' | 'model' | 'duplicate';

export interface StagedItem {
  key: string;
  kind: ChangeKind;
  title: string;
  sizeBefore: number | null;
  sizeAfter: number | null;
  /** The clearance this change needs: the higher of the document's label before and after. */
  sensitivity: Sensitivity | null;
  decision: 'pending' | 'approved' | 'rejected';
  /** Set when the change needs more than the caller's clearance: key and title are not shown. */
  withheld?: true;
  /** A `duplicate`: the document already in the library with the same content, and where it came from. */
  sameAs?: { path: string; origin: DocumentOrigin };
}

/** What the reviewer sees about a staged bundle besides its list of changes. */
export interface StagedBundleInfo {
  bundleId: string;
  sourceKb: string;
  version: number;
  /** 0 for a full bundle, else the version an incremental bundle updates. */
  baseVersion: number;
  signer: string;
  createdAt: string;
  /** Whether document chunks/vectors came with the bundle, and whether the vectors fit this PC's model. */
  carriesIndex: boolean;
  embeddingModel: string | null;
}

export interface StagedBundle {
  bundleId: string;
  info: StagedBundleInfo;
  items: StagedItem[];
  alreadyApplied: boolean;
}

function bundleInfo(manifest: BundleManifest, signerName: string): StagedBundleInfo {
  return {
    bundleId: manifest.bundleId,
    sourceKb: manifest.sourceKb,
    version: manifest.version,
    baseVersion: manifest.baseVersion,
    signer: signerName,
    createdAt: manifest.createdAt,
    carriesIndex: manifest.documents.some((d) => d.index !== undefined),
    embeddingModel: manifest.embedding?.modelId ?? null,
  };
}

/** The more restrictive of two labels (null when neither is set). */
const higher = (a: Sensitivity | null | undefined, b: Sensitivity | null | undefined): Sensitivity | null =>
  a && b ? higherLabel(a, b) : (a ?? b ?? null);

/**
 * Verify, then copy into quarantine (never the live knowledge base) and list the changes for
 * review. `clearance` hides the changes above it from the returned list (see `reviewItems`).
 */
export async function stageBundle(
  db: Db,
  home: string,
  source: string,
  now: Date,
  clearance: Sensitivity = 'restricted',
): Promise<StagedBundle> {
  const opened = await openBundleSource(db, source, path.join(home, 'staging'));
  try {
    const staged = await stageBundleDir(db, home, opened.dir, now);
    return { ...staged, items: reviewItems(db, staged.bundleId, clearance) };
  } finally {
    opened.cleanup();
  }
}

/** Copy every file the manifest lists into a new quarantine folder; nothing is left behind on failure. */
function copyToQuarantine(dir: string, staging: string, manifest: BundleManifest): void {
  const partial = path.join(path.dirname(staging), processTagged(`${path.basename(staging)}.partial-`));
  try {
    fs.mkdirSync(partial, { recursive: true });
    fs.copyFileSync(path.join(dir, 'manifest.json'), path.join(partial, 'manifest.json'));
    const files = [
      ...manifest.documents.flatMap((d) => [d.file, ...(d.index ? [d.index.file] : [])]),
      ...manifest.models.flatMap((m) => m.files.map((f) => f.file)),
    ];
    for (const file of files) {
      const target = safeBundlePath(partial, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(safeBundlePath(dir, file), target);
    }
    fs.rmSync(staging, { recursive: true, force: true });
    fs.renameSync(partial, staging);
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true });
    if (err instanceof FieldbookError) throw err;
    throw new FieldbookError('BUNDLE_COPY_FAILED', {
      file: staging,
      detail: `copying into quarantine: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    });
  }
}

async function stageBundleDir(db: Db, home: string, dir: string, now: Date): Promise<StagedBundle> {
  const { manifest, signerName } = await verifyBundleDir(db, dir);
  const info = bundleInfo(manifest, signerName);
  const prior = db.prepare('SELECT status FROM bundle_imports WHERE bundle_id = ?').get(manifest.bundleId) as
    { status: string } | undefined;
  if (prior?.status === 'applied') {
    finishBundleFiles(db, home, manifest.bundleId, manifest);
    return { bundleId: manifest.bundleId, info, items: reviewItems(db, manifest.bundleId), alreadyApplied: true };
  }
  checkVersionFits(db, manifest);
  copyToQuarantine(dir, stagingDir(home, manifest.bundleId), manifest);
  const present = new Set(manifest.documents.map((d) => libraryPath(home, manifest.sourceKb, d.key)));
  db.transaction(() => {
    db.prepare('DELETE FROM bundle_items WHERE bundle_id = ?').run(manifest.bundleId);
    db.prepare(
      `INSERT INTO bundle_imports(bundle_id, source_kb, version, signer, manifest, status, staged_at) VALUES (?, ?, ?, ?, ?, 'staged', ?)
       ON CONFLICT(bundle_id) DO UPDATE SET status = 'staged', staged_at = excluded.staged_at`,
    ).run(
      manifest.bundleId,
      manifest.sourceKb,
      manifest.version,
      signerName,
      JSON.stringify(manifest),
      now.toISOString(),
    );
    const ins = db.prepare(
      'INSERT INTO bundle_items(bundle_id, key, kind, title, size_before, size_after, sensitivity, decision, same_as) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const sameContent = db.prepare('SELECT source_path FROM documents WHERE sha256 = ? ORDER BY id LIMIT 1').pluck();
    for (const d of manifest.documents) {
      const existing = getDocumentByPath(db, libraryPath(home, manifest.sourceKb, d.key));
      // Not at this bundle's path, but the same content elsewhere in the library: a duplicate.
      const twinPath = existing ? undefined : (sameContent.get(d.sha256) as string | undefined);
      const twin = twinPath === undefined ? null : getDocumentByPath(db, twinPath);
      const kind: ChangeKind = !existing
        ? twin
          ? 'duplicate'
          : 'new'
        : existing.sha256 === d.sha256 && labelFingerprint(existing) === labelFingerprint(d)
          ? 'unchanged'
          : 'changed';
      const before = existing ?? twin;
      ins.run(
        manifest.bundleId,
        d.key,
        kind,
        d.title,
        before?.sizeBytes ?? null,
        d.size,
        // Deciding on a duplicate shows (and may relabel) the existing document: its label counts too.
        higher(d.sensitivity, before?.sensitivity),
        kind === 'unchanged' ? 'approved' : 'pending',
        twin ? twinPath : null,
      );
    }
    for (const m of manifest.models) {
      const size = m.files.reduce((a, f) => a + f.size, 0);
      ins.run(
        manifest.bundleId,
        `model:${m.kind}/${m.name}`,
        'model',
        `${m.kind === 'llm' ? 'Language model' : 'Embedding model'} ${m.name}`,
        null,
        size,
        null,
        'pending',
        null,
      );
    }
    // A full bundle removes the documents from its source that it no longer has; an
    // incremental one removes exactly those it lists.
    const prefix = path.join(libraryRoot(home), manifest.sourceKb) + path.sep;
    const removedPaths = new Set(manifest.removed.map((k) => libraryPath(home, manifest.sourceKb, k)));
    for (const doc of listDocuments(db)) {
      const gone =
        manifest.baseVersion === 0
          ? doc.sourcePath.startsWith(prefix) && !present.has(doc.sourcePath)
          : removedPaths.has(doc.sourcePath);
      if (gone) {
        ins.run(
          manifest.bundleId,
          path.basename(doc.sourcePath),
          'removed',
          doc.title,
          doc.sizeBytes,
          null,
          doc.sensitivity,
          'pending',
          null,
        );
      }
    }
  })();
  return { bundleId: manifest.bundleId, info, items: reviewItems(db, manifest.bundleId), alreadyApplied: false };
}

/** The manifest of a staged (or applied) bundle, and its quarantine folder. */
export function stagedManifest(db: Db, home: string, bundleId: string): { manifest: BundleManifest; staging: string } {
  const row = db.prepare('SELECT manifest FROM bundle_imports WHERE bundle_id = ?').get(bundleId) as
    { manifest: string } | undefined;
  if (!row) throw new FieldbookError('BUNDLE_INVALID', { detail: `no staged bundle ${bundleId}` });
  return { manifest: Manifest.parse(JSON.parse(row.manifest)), staging: stagingDir(home, bundleId) };
}

function allItems(db: Db, bundleId: string): StagedItem[] {
  const rows = db
    .prepare(
      `SELECT key, kind, title, size_before AS sizeBefore, size_after AS sizeAfter, sensitivity, decision, same_as AS sameAs
         FROM bundle_items WHERE bundle_id = ? ORDER BY kind, key`,
    )
    .all(bundleId) as Array<Omit<StagedItem, 'sameAs'> & { sameAs: string | null }>;
  const origin = rows.some((r) => r.sameAs !== null) ? originLookup(db) : null;
  return rows.map(({ sameAs, ...item }) => {
    if (sameAs === null || !origin) return item;
    const twin = getDocumentByPath(db, sameAs);
    return { ...item, sameAs: { path: resolvedSourcePath(db, sameAs), origin: origin(sameAs, twin?.sha256 ?? '') } };
  });
}

/** The stored path of the document each approved duplicate takes over, by key. */
function takeOverTargets(db: Db, bundleId: string): Map<string, string> {
  const rows = db
    .prepare(
      "SELECT key, same_as AS sameAs FROM bundle_items WHERE bundle_id = ? AND kind = 'duplicate' AND decision = 'approved'",
    )
    .all(bundleId) as Array<{ key: string; sameAs: string }>;
  return new Map(rows.map((r) => [r.key, r.sameAs]));
}

/** Whether a change is within a clearance (the same rule as changing a document's labels: before and after). */
const itemWithin = (item: StagedItem, clearance: Sensitivity): boolean =>
  item.sensitivity === null || withinClearance(item.sensitivity, clearance);

/**
 * The changes of a staged bundle. Changes that need more than `clearance` are listed (so the
 * reviewer knows someone else must decide them) without their key or title.
 */
export function reviewItems(db: Db, bundleId: string, clearance: Sensitivity = 'restricted'): StagedItem[] {
  let hidden = 0;
  return allItems(db, bundleId).map(({ sameAs, ...i }) =>
    itemWithin(i, clearance)
      ? { ...i, ...(sameAs ? { sameAs } : {}) }
      : { ...i, key: `withheld-${++hidden}`, title: `(${i.sensitivity ?? ''})`, withheld: true as const },
  );
}

/**
 * Approve or reject changes. A change above the reviewer's clearance cannot be decided by
 * them: naming one is refused (ACCESS_DENIED, nothing changed); 'all' leaves them pending.
 */
export function decide(
  db: Db,
  bundleId: string,
  keys: string[] | 'all',
  decision: 'approved' | 'rejected',
  reviewer: string,
  comment: string | null,
  clearance: Sensitivity = 'restricted',
): number {
  const status = db.prepare('SELECT status FROM bundle_imports WHERE bundle_id = ?').get(bundleId) as
    { status: string } | undefined;
  if (!status) throw new FieldbookError('BUNDLE_INVALID', { detail: `no staged bundle ${bundleId}` });
  if (status.status !== 'staged') throw new FieldbookError('BUNDLE_INVALID', { detail: `bundle is ${status.status}` });
  const items = allItems(db, bundleId);
  if (keys !== 'all') {
    const above = items.filter((i) => keys.includes(i.key) && !itemWithin(i, clearance));
    if (above.length)
      throw new FieldbookError('ACCESS_DENIED', {
        detail: `${above.length} change(s) are labelled above your clearance (${clearance})`,
      });
  }
  const upd = db.prepare(
    "UPDATE bundle_items SET decision = ?, reviewer = ?, comment = ? WHERE bundle_id = ? AND key = ? AND kind != 'unchanged'",
  );
  let n = 0;
  db.transaction(() => {
    const chosen = keys === 'all' ? items.filter((i) => itemWithin(i, clearance)).map((i) => i.key) : keys;
    for (const k of chosen) n += upd.run(decision, reviewer, comment, bundleId, k).changes;
  })();
  return n;
}

/** What reading a staged bundle's documents needs (preview and apply). */
export interface BundleReadDeps {
  db: Db;
  home: string;
  parser: ParserPool;
  limits: IngestLimits;
  chunking: ChunkSettings;
  ocr?: OcrSettings;
}

export interface ApplyDeps extends BundleReadDeps {
  embedder: Embedder | null;
  now: Date;
  /** The clearance of whoever applies: a change above it is refused (ACCESS_DENIED) before anything is done. */
  clearance?: Sensitivity;
  /**
   * Written inside the apply transaction, after every change (the audit entry of the apply,
   * so it is committed together with the new version or not at all).
   */
  record?: (result: ApplyResult) => void;
  /** Called inside the transaction after every change, before the commit (tests crash here). */
  beforeCommit?: () => void;
  onProgress?: (p: ApplyProgress) => void;
}

/**
 * Apply progress: documents read (parsed or taken from the carried index), the commit, then
 * the library and model files written from quarantine.
 */
export interface ApplyProgress {
  phase: 'read' | 'commit' | 'files' | 'done';
  done: number;
  total: number;
  title?: string;
}

export interface ApplyResult {
  version: number;
  applied: number;
  removed: number;
  models: number;
  /** Chunks whose vectors came with the bundle (same embedding model), and chunks embedded here. */
  vectorsReused: number;
  vectorsEmbedded: number;
  /** Documents already in the library (same content) that the bundle took over instead of adding a copy. */
  takenOver: number;
}

/** Read a document's carried chunks and vectors (checked again in quarantine). */
async function readIndexFile(
  staging: string,
  d: BundleManifest['documents'][number],
): Promise<{ result: ParseResult; vectors: Float32Array[] | null } | null> {
  if (!d.index) return null;
  const file = safeBundlePath(staging, d.index.file);
  if ((await sha256File(file)) !== d.index.sha256)
    throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file, detail: 'changed in quarantine' });
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new FieldbookError('BUNDLE_INVALID', { file: d.index.file, detail: 'index file is not valid JSON' });
  }
  const parsed = IndexFile.safeParse(json);
  if (!parsed.success)
    throw new FieldbookError('BUNDLE_INVALID', { file: d.index.file, detail: parsed.error.issues[0]?.message });
  const idx = parsed.data;
  if (!isDocType(idx.type))
    throw new FieldbookError('BUNDLE_INVALID', { file: d.index.file, detail: `unknown document type "${idx.type}"` });
  const result: ParseResult = {
    doc: {
      type: idx.type,
      title: idx.title,
      pages: idx.pages,
      pageSizes: [],
      blocks: [],
      warnings: idx.warnings,
    },
    chunks: idx.chunks,
    language: idx.language,
  };
  const vectors =
    idx.vectors && idx.vectors.length === idx.chunks.length
      ? idx.vectors.map((b64) => {
          const buf = Buffer.from(b64, 'base64');
          if (buf.byteLength % 4 !== 0)
            throw new FieldbookError('BUNDLE_INVALID', { file: d.index?.file, detail: 'a vector is not float32 data' });
          return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        })
      : null;
  return { result, vectors };
}

/** Refuse an apply that would change a document above the clearance (its label in the bundle or on this PC now). */
function checkClearance(
  db: Db,
  home: string,
  manifest: BundleManifest,
  items: StagedItem[],
  clearance: Sensitivity,
): void {
  const takeOvers = takeOverTargets(db, manifest.bundleId);
  const above = items.filter((i) => {
    if (i.decision !== 'approved' || i.kind === 'unchanged' || i.kind === 'model') return false;
    const twin = takeOvers.get(i.key);
    const live =
      getDocumentByPath(db, libraryPath(home, manifest.sourceKb, i.key)) ??
      (twin !== undefined ? getDocumentByPath(db, twin) : null);
    return !itemWithin({ ...i, sensitivity: higher(i.sensitivity, live?.sensitivity) }, clearance);
  });
  if (above.length)
    throw new FieldbookError('ACCESS_DENIED', {
      detail: `${above.length} approved change(s) are labelled above your clearance (${clearance})`,
    });
}

/**
 * Apply the approved changes of a staged bundle. Order: every check (review done, version,
 * base, publisher, clearance) before anything is written; documents read; the previous
 * version kept (snapshot, library and replaced model files by hash); ONE transaction (with the
 * audit entry); then the files from quarantine. A failure before the commit leaves the knowledge
 * base, the library and the installed models as they were, and removes the snapshot it took.
 */
export async function applyBundle(bundleId: string, deps: ApplyDeps): Promise<ApplyResult> {
  const { db, home } = deps;
  const { manifest, status } = stagedBundleRow(db, bundleId);
  // A crash (or a failed copy) after the commit left files unwritten: finish them now.
  if (status === 'applied') return finishApplied(db, home, bundleId, manifest);
  const plan = checkApply(deps, bundleId, manifest, status);
  const report = progressReporter(deps);
  const read = await readDocuments(deps, plan, report);
  const modelChanges = await keepReplacedModelFiles(home, plan.models);
  const before = Number(getMeta(db, 'kb.version') ?? '0');
  const result: ApplyResult = {
    version: before + 1,
    applied: read.documents.length + plan.takeOvers.length,
    removed: plan.removals.length,
    models: plan.models.length,
    vectorsReused: read.vectorsReused,
    vectorsEmbedded: read.vectorsEmbedded,
    takenOver: plan.takeOvers.length,
  };
  try {
    await keepPreviousVersion(db, home, before, modelChanges.replaced);
    // Until its files are in place, another process opening the data folder leaves this quarantine alone.
    claimStaging(plan.staging);
    report('commit', read.documents.length, plan.documents.length);
    writeNewVersion(deps, bundleId, plan, read.documents, modelChanges.approvals, result);
  } catch (err) {
    discardSnapshot(home, before);
    throw err;
  }
  installFiles(db, home, bundleId, plan, report);
  report('done', read.documents.length, plan.documents.length);
  return result;
}

/** A staged bundle that passed every check: what its apply will change. */
interface ApplyPlan {
  manifest: BundleManifest;
  staging: string;
  /** New and changed documents the reviewer approved (and duplicates whose twin has gone or changed since). */
  documents: BundleManifest['documents'];
  /** Approved duplicates: the library document (id, still the same content) the bundle's document takes over. */
  takeOvers: Array<{ d: BundleManifest['documents'][number]; docId: number }>;
  /** Approved removals. */
  removals: StagedItem[];
  /** Approved model packs. */
  models: BundleManifest['models'];
}

/** An approved document read for the apply: its chunks and (with an embedding model) their vectors. */
interface ReadDocument {
  d: BundleManifest['documents'][number];
  target: string;
  result: ParseResult;
  vectors: Float32Array[] | null;
}

/** A model file approved by the apply (written in its transaction). */
interface ModelFileApproval {
  kind: 'embedding' | 'llm';
  name: string;
  file: string;
  sha256: string;
}

/** An installed file the apply replaces, kept by hash for a rollback. */
interface KeptFile {
  file: string;
  sha256: string;
}

type ReportProgress = (phase: ApplyProgress['phase'], done: number, total: number, title?: string) => void;

function progressReporter(deps: ApplyDeps): ReportProgress {
  return (phase, done, total, title) => deps.onProgress?.({ phase, done, total, ...(title ? { title } : {}) });
}

function stagedBundleRow(db: Db, bundleId: string): { manifest: BundleManifest; status: string } {
  const row = db.prepare('SELECT manifest, status FROM bundle_imports WHERE bundle_id = ?').get(bundleId) as
    { manifest: string; status: string } | undefined;
  if (!row) throw new FieldbookError('BUNDLE_INVALID', { detail: `no staged bundle ${bundleId}` });
  return { manifest: Manifest.parse(JSON.parse(row.manifest)), status: row.status };
}

/** An apply of a bundle already committed: only its files are written (nothing new is applied). */
function finishApplied(db: Db, home: string, bundleId: string, manifest: BundleManifest): ApplyResult {
  finishBundleFiles(db, home, bundleId, manifest);
  return {
    version: Number(getMeta(db, 'kb.version') ?? '0'),
    applied: 0,
    removed: 0,
    models: 0,
    vectorsReused: 0,
    vectorsEmbedded: 0,
    takenOver: 0,
  };
}

/** Every check before anything is written: staged, fully reviewed, version and base, publisher, clearance. */
function checkApply(deps: ApplyDeps, bundleId: string, manifest: BundleManifest, status: string): ApplyPlan {
  const { db, home } = deps;
  if (status !== 'staged') throw new FieldbookError('BUNDLE_INVALID', { detail: `bundle is ${status}` });
  const items = allItems(db, bundleId);
  if (items.some((i) => i.decision === 'pending'))
    throw new FieldbookError('BUNDLE_INVALID', { detail: 'some changes are not reviewed yet' });
  checkVersionFits(db, manifest);
  checkPublisher(db, manifest);
  checkClearance(db, home, manifest, items, deps.clearance ?? 'restricted');
  const decisionOf = (key: string, kind?: ChangeKind): StagedItem | undefined =>
    items.find((i) => i.key === key && (kind === undefined || i.kind === kind));
  const approved = manifest.documents.filter((d) => {
    const item = decisionOf(d.key);
    return item?.decision === 'approved' && item.kind !== 'unchanged';
  });
  // An approved duplicate takes its twin over while the twin still has the same content; if the
  // twin has gone or changed since staging, the document is simply added (it is no copy any more).
  const targets = takeOverTargets(db, bundleId);
  const takeOvers: ApplyPlan['takeOvers'] = [];
  const documents: ApplyPlan['documents'] = [];
  for (const d of approved) {
    const twinPath = targets.get(d.key);
    const twin = twinPath === undefined ? null : getDocumentByPath(db, twinPath);
    if (twin && twin.sha256 === d.sha256) takeOvers.push({ d, docId: twin.id });
    else documents.push(d);
  }
  return {
    manifest,
    staging: stagingDir(home, bundleId),
    documents,
    takeOvers,
    removals: items.filter((i) => i.kind === 'removed' && i.decision === 'approved'),
    models: manifest.models.filter((m) => decisionOf(`model:${m.kind}/${m.name}`, 'model')?.decision === 'approved'),
  };
}

/**
 * Read every approved document from quarantine (hash checked again): its carried index or a parse,
 * and its vectors — the carried ones only when they come from exactly this PC's embedding model.
 */
async function readDocuments(
  deps: ApplyDeps,
  plan: ApplyPlan,
  report: ReportProgress,
): Promise<{ documents: ReadDocument[]; vectorsReused: number; vectorsEmbedded: number }> {
  const { db, home } = deps;
  const { manifest, staging } = plan;
  const documents: ReadDocument[] = [];
  let vectorsReused = 0;
  let vectorsEmbedded = 0;
  const embedder = deps.embedder;
  // Vectors made elsewhere are used only when they come from exactly this PC's embedding model.
  const sameModel =
    embedder !== null && manifest.embedding?.modelId === embedder.id && manifest.embedding.dim === embedder.dim;
  for (const d of plan.documents) {
    report('read', documents.length, plan.documents.length, d.title);
    // Re-check the staged copies: quarantine is a folder on disk, too.
    const staged = safeBundlePath(staging, d.file);
    if ((await sha256File(staged)) !== d.sha256)
      throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: staged, detail: 'changed in quarantine' });
    const target = libraryPath(home, manifest.sourceKb, d.key);
    const carried = await readIndexFile(staging, d);
    const result =
      carried?.result ?? (await deps.parser.parse(staged, deps.limits, deps.chunking, undefined, deps.ocr));
    let vectors: Float32Array[] | null = null;
    if (embedder) {
      ensureVectorSpace(db, { modelId: embedder.id, dim: embedder.dim });
      if (sameModel && carried?.vectors) {
        if (carried.vectors.some((v) => v.length !== embedder.dim))
          throw new FieldbookError('BUNDLE_INVALID', { file: d.index?.file, detail: 'vector dimension differs' });
        vectors = carried.vectors;
        vectorsReused += vectors.length;
      } else {
        vectors = await embedder.embedPassages(
          result.chunks.map((c) => `${chunkContext(result.doc.title, c.headingPath)}\n${c.text}`),
        );
        vectorsEmbedded += vectors.length;
      }
    }
    documents.push({ d, target, result, vectors });
  }
  return { documents, vectorsReused, vectorsEmbedded };
}

/**
 * Model files are installed after the commit; their approvals are written in it. The installed
 * files they will replace are kept by hash now, so a rollback can put them back.
 */
async function keepReplacedModelFiles(
  home: string,
  models: BundleManifest['models'],
): Promise<{
  approvals: ModelFileApproval[];
  replaced: KeptFile[];
}> {
  const approvals: ModelFileApproval[] = [];
  const replaced: KeptFile[] = [];
  for (const m of models) {
    for (const f of m.files) {
      const dest = safeBundlePath(modelRoot(home, m), f.target);
      const old = await keepReplacedFile(home, dest);
      if (old && old.sha256 !== f.sha256) replaced.push(old);
      const approval = modelApproval(m, f.target);
      if (approval) approvals.push({ ...approval, sha256: f.sha256 });
    }
  }
  return { approvals, replaced };
}

/** The version being replaced, for rollback: database, library files and replaced model files. */
async function keepPreviousVersion(db: Db, home: string, before: number, replaced: KeptFile[]): Promise<void> {
  await preserveLibraryFiles(db, home);
  await takeSnapshot(db, home, before, replaced);
}

/**
 * ONE transaction: the documents, model approvals and removals, the bundle marked applied, the
 * new KB version, and the caller's record (the audit entry) — committed together or not at all.
 */
function writeNewVersion(
  deps: ApplyDeps,
  bundleId: string,
  plan: ApplyPlan,
  documents: ReadDocument[],
  approvals: ModelFileApproval[],
  result: ApplyResult,
): void {
  const { db, home } = deps;
  const { manifest } = plan;
  durableTransaction(db, () => {
    // Checked again at commit: another bundle may have been applied since the checks above.
    checkVersionFits(db, manifest);
    checkPublisher(db, manifest);
    for (const p of documents) {
      writeDocument(
        db,
        {
          sourcePath: p.target,
          title: p.result.doc.title,
          type: p.result.doc.type,
          sha256: p.d.sha256,
          sizeBytes: p.d.size,
          pages: p.result.doc.pages,
          language: p.result.language,
          sensitivity: p.d.sensitivity,
          isSafety: p.d.isSafety,
          tags: p.d.tags,
          warnings: p.result.doc.warnings,
          chunks: p.result.chunks,
          vectors: p.vectors,
        },
        deps.now,
      );
    }
    const approve = db.prepare(
      `INSERT INTO approved_models(kind, name, file, sha256, approved_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(kind, name, file) DO UPDATE SET sha256 = excluded.sha256, approved_at = excluded.approved_at`,
    );
    for (const a of approvals) approve.run(a.kind, a.name, a.file, a.sha256, deps.now.toISOString());
    for (const t of plan.takeOvers) {
      const target = libraryPath(home, manifest.sourceKb, t.d.key);
      const twin = getDocument(db, t.docId);
      if (!twin || twin.sha256 !== t.d.sha256 || getDocumentByPath(db, target))
        throw new FieldbookError('BUNDLE_INVALID', {
          file: t.d.key,
          detail: 'the library document it takes over changed during the apply; apply again',
        });
      relocateDocument(
        db,
        t.docId,
        {
          sourcePath: target,
          title: t.d.title,
          sensitivity: t.d.sensitivity,
          isSafety: t.d.isSafety,
          tags: t.d.tags,
        },
        deps.now,
      );
    }
    for (const r of plan.removals) {
      const doc = getDocumentByPath(db, libraryPath(home, manifest.sourceKb, r.key));
      if (doc) deleteDocumentRows(db, doc.id);
    }
    db.prepare("UPDATE bundle_imports SET status = 'applied', applied_at = ? WHERE bundle_id = ?").run(
      deps.now.toISOString(),
      bundleId,
    );
    setMeta(db, 'kb.version', String(result.version));
    setMeta(db, `kb.applied.${manifest.sourceKb}`, String(manifest.version));
    deps.record?.(result);
    deps.beforeCommit?.();
  });
}

/** After the commit: library and model files written from quarantine (see bundle-files.ts). */
function installFiles(db: Db, home: string, bundleId: string, plan: ApplyPlan, report: ReportProgress): void {
  const files = plan.manifest.documents.length + plan.models.reduce((n, m) => n + m.files.length, 0);
  report('files', 0, files);
  finishBundleFiles(db, home, bundleId, plan.manifest, (done) => report('files', done, files));
}

/** Bundles on removable media: folders with manifest.json + manifest.sig, and `.fbbundle` files, three levels deep. */
export function findBundles(roots: string[]): string[] {
  const found: string[] = [];
  const isBundle = (dir: string): boolean =>
    fs.existsSync(path.join(dir, 'manifest.json')) && fs.existsSync(path.join(dir, 'manifest.sig'));
  const walk = (dir: string, depth: number): void => {
    if (isBundle(dir)) {
      found.push(dir);
      return;
    }
    if (depth === 0) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(path.join(dir, e.name), depth - 1);
      else if (e.isFile() && e.name.toLowerCase().endsWith(ARCHIVE_EXTENSION)) found.push(path.join(dir, e.name));
    }
  };
  for (const r of roots) if (fs.existsSync(r)) walk(r, 3);
  return found;
}

/** Where removable drives appear: Linux mount points, or every drive letter but C: on Windows. */
export function removableRoots(platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'win32') return 'DEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((l) => `${l}:\\`);
  return ['/media', '/run/media', '/mnt', '/Volumes'];
}

export interface BundleHistoryEntry {
  bundleId: string;
  version: number;
  baseVersion: number;
  signer: string;
  status: string;
  stagedAt: string;
  appliedAt: string | null;
  documents: number;
}

export function bundleHistory(db: Db): BundleHistoryEntry[] {
  return db
    .prepare(
      `SELECT bundle_id AS bundleId, version, COALESCE(json_extract(manifest, '$.baseVersion'), 0) AS baseVersion,
           signer, status, staged_at AS stagedAt, applied_at AS appliedAt,
           json_array_length(json_extract(manifest, '$.documents')) AS documents
         FROM bundle_imports ORDER BY staged_at DESC`,
    )
    .all() as BundleHistoryEntry[];
}
