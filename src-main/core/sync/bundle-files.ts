/**
 * The files an applied bundle puts on this PC: library documents (`<home>/library/<kb>/…`)
 * and model-pack files (`<home>/models/…`). They are written only AFTER the apply commits,
 * from the quarantine copy (`<home>/staging/<bundleId>`), which is removed once every file is
 * in place. So a crash or a failed copy before the commit leaves every file as it was, and
 * one after the commit leaves the quarantine behind: `finishAppliedBundles` (run when the data
 * folder is opened, and after each apply) writes what is still missing.
 *
 * Each file is written to `<target>.incoming`, checked against its SHA-256 and renamed into
 * place, so a target is always either its old or its new content.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FieldbookError } from '../errors';
import { getDocumentByPath } from '../store/documents';
import type { Db } from '../store/db';
import { sha256FileSync } from '../util/hash';
import { libraryPath, Manifest, safeBundlePath, type BundleManifest, type ModelPackEntry } from './bundle-manifest';

export function stagingDir(home: string, bundleId: string): string {
  return path.join(home, 'staging', bundleId);
}

/** Inside a quarantine folder: the id of the process applying it (removed with the folder). */
const OWNER_FILE = 'applying.pid';

/** Whether a process is running (what a running process is writing is never taken for a leftover). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Mark a quarantine as being applied by this process (another process opening the folder leaves it alone). */
export function claimStaging(staging: string): void {
  fs.writeFileSync(path.join(staging, OWNER_FILE), String(process.pid));
}

/** Whether another running process is applying this quarantine right now (the app while the CLI opens the folder). */
function appliedElsewhere(staging: string): boolean {
  const pid = Number(fs.readFileSync(path.join(staging, OWNER_FILE), { encoding: 'utf8', flag: 'r' }).trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid);
}

/** A folder name tagged with this process's id, so a leftover can be told from work in progress. */
export function processTagged(prefix: string, suffix = ''): string {
  return `${prefix}${process.pid}-${randomUUID()}${suffix}`;
}

/** A leftover of an unpack or a staging copy whose process is gone (untagged names come from older versions). */
function isLeftover(name: string): boolean {
  const m = /^unpack-(?:(\d+)-)?|\.partial-(\d+)-/.exec(name);
  if (!m) return false;
  const pid = Number(m[1] ?? m[2] ?? 0);
  return pid === 0 || (pid !== process.pid && !isRunning(pid));
}

/** Where a model pack's files are installed. */
export function modelRoot(home: string, pack: Pick<ModelPackEntry, 'kind' | 'name'>): string {
  return pack.kind === 'llm' ? path.join(home, 'models', 'llm') : path.join(home, 'models', 'embedding', pack.name);
}

/** Whether a model file is weights (approved by hash), and the approval row it has. */
export function modelApproval(
  pack: Pick<ModelPackEntry, 'kind' | 'name'>,
  target: string,
): { kind: 'embedding' | 'llm'; name: string; file: string } | null {
  const isWeights = pack.kind === 'llm' || /^onnx\/model[^/]*\.onnx$/.test(target);
  if (!isWeights) return null;
  const file = path.basename(target);
  return { kind: pack.kind, name: pack.kind === 'llm' ? file : pack.name, file };
}

/** Copy a quarantined file into place: checked copy beside the target, then an atomic rename. */
function putInPlace(staged: string, target: string, sha256: string): void {
  if (sha256FileSync(staged) !== sha256)
    throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: staged, detail: 'changed in quarantine' });
  const incoming = `${target}.incoming`;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(staged, incoming);
    if (sha256FileSync(incoming) !== sha256)
      throw new FieldbookError('BUNDLE_HASH_MISMATCH', { file: incoming, detail: 'copy differs from the bundle' });
    fs.renameSync(incoming, target);
  } catch (err) {
    fs.rmSync(incoming, { force: true });
    if (err instanceof FieldbookError) throw err;
    throw new FieldbookError('BUNDLE_COPY_FAILED', {
      file: target,
      detail: (err as NodeJS.ErrnoException).code ?? String(err),
    });
  }
}

const isInPlace = (file: string, sha256: string): boolean =>
  fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true && sha256FileSync(file) === sha256;

/** The approved model packs of a bundle (decisions are kept in bundle_items). */
function approvedPacks(db: Db, bundleId: string, manifest: BundleManifest): ModelPackEntry[] {
  const approved = new Set(
    (
      db
        .prepare("SELECT key FROM bundle_items WHERE bundle_id = ? AND kind = 'model' AND decision = 'approved'")
        .all(bundleId) as Array<{ key: string }>
    ).map((r) => r.key),
  );
  return manifest.models.filter((m) => approved.has(`model:${m.kind}/${m.name}`));
}

/**
 * Write the files of one applied bundle that are not in place yet, then remove its quarantine.
 * A document replaced or removed since (another hash in the index now) and a model whose
 * approval changed since are left alone. Returns how many files were written.
 */
export function finishBundleFiles(
  db: Db,
  home: string,
  bundleId: string,
  manifest: BundleManifest,
  onFile?: (written: number) => void,
): number {
  const staging = stagingDir(home, bundleId);
  if (!fs.existsSync(staging)) return 0;
  let written = 0;
  for (const d of manifest.documents) {
    const target = libraryPath(home, manifest.sourceKb, d.key);
    const doc = getDocumentByPath(db, target);
    if (!doc || doc.sha256 !== d.sha256) continue; // rejected, or replaced since
    if (isInPlace(target, d.sha256)) continue;
    putInPlace(safeBundlePath(staging, d.file), target, d.sha256);
    written++;
    onFile?.(written);
  }
  const approvedSha = db.prepare('SELECT sha256 FROM approved_models WHERE kind = ? AND name = ? AND file = ?').pluck();
  for (const pack of approvedPacks(db, bundleId, manifest)) {
    // A pack whose weights were approved differently since (a later pack, a rollback) is not reinstalled.
    const current = pack.files.every((f) => {
      const a = modelApproval(pack, f.target);
      return !a || approvedSha.get(a.kind, a.name, a.file) === f.sha256;
    });
    if (!current) continue;
    for (const f of pack.files) {
      const dest = safeBundlePath(modelRoot(home, pack), f.target);
      if (isInPlace(dest, f.sha256)) continue;
      putInPlace(safeBundlePath(staging, f.file), dest, f.sha256);
      written++;
      onFile?.(written);
    }
  }
  fs.rmSync(staging, { recursive: true, force: true });
  return written;
}

export interface FinishReport {
  /** Applied bundles whose files were still being written (a crash or failed copy after the commit). */
  bundles: number;
  files: number;
  problems: Array<{ bundleId: string; code: string; detail: string | null }>;
}

/**
 * Finish every applied bundle whose quarantine is still there, and remove what an unpack or a
 * staging copy cut short left behind. Run when the data folder is opened (a power loss after a
 * commit is repaired before anything reads the library).
 */
export function finishAppliedBundles(db: Db, home: string): FinishReport {
  const report: FinishReport = { bundles: 0, files: 0, problems: [] };
  const root = path.join(home, 'staging');
  if (!fs.existsSync(root)) return report;
  // An archive being unpacked or a bundle being copied into quarantine when the process died.
  for (const name of fs.readdirSync(root))
    if (isLeftover(name)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  const applied = db
    .prepare("SELECT bundle_id AS bundleId, manifest FROM bundle_imports WHERE status = 'applied'")
    .all() as Array<{
    bundleId: string;
    manifest: string;
  }>;
  for (const b of applied) {
    const staging = stagingDir(home, b.bundleId);
    if (!fs.existsSync(staging)) continue;
    if (fs.existsSync(path.join(staging, OWNER_FILE)) && appliedElsewhere(staging)) continue;
    report.bundles++;
    try {
      report.files += finishBundleFiles(db, home, b.bundleId, Manifest.parse(JSON.parse(b.manifest)));
    } catch (err) {
      report.problems.push({
        bundleId: b.bundleId,
        code: err instanceof FieldbookError ? err.code : 'BUNDLE_COPY_FAILED',
        detail: err instanceof FieldbookError ? (err.detail ?? null) : String(err),
      });
    }
  }
  return report;
}
