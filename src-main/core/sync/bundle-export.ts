/**
 * Bundle export on the master workstation: every document (full) or only what changed since
 * an exported version (incremental, removals listed), optional chunks + vectors and model packs,
 * signed with Ed25519. Each export is recorded so the next one can be incremental.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FieldbookError } from '../errors';
import { documentChunks, listDocuments, type DocumentRecord } from '../store/documents';
import type { Db } from '../store/db';
import { currentVectorSpace, setMeta, vectorsOf } from '../store/vectors';
import {
  keyFingerprint,
  kbIdentity,
  labelFingerprint,
  sameFileKey,
  type BundleManifest,
  type IndexFile,
  type ModelPackEntry,
} from './bundle-manifest';

/** Describe a model for a model pack: a transformers.js folder (embedding) or a .gguf file (llm). */
function packModel(modelPath: string, outDir: string): ModelPackEntry {
  const stat = fs.statSync(modelPath);
  const kind: ModelPackEntry['kind'] = stat.isDirectory() ? 'embedding' : 'llm';
  const name = path.basename(modelPath);
  const sources: Array<{ abs: string; target: string }> = [];
  if (kind === 'llm') sources.push({ abs: modelPath, target: name });
  else {
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) walk(abs);
        else if (e.isFile()) sources.push({ abs, target: path.relative(modelPath, abs).split(path.sep).join('/') });
      }
    };
    walk(modelPath);
  }
  const files = sources.map((s) => {
    const data = fs.readFileSync(s.abs);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const file = `models/${sha256}`;
    fs.mkdirSync(path.join(outDir, 'models'), { recursive: true });
    fs.writeFileSync(path.join(outDir, file), data);
    return { file, target: s.target, sha256, size: data.length };
  });
  return { kind, name, files };
}

/** What an export recorded about one document, so the next export can send only what changed. */
interface ExportedDoc {
  sourcePath: string;
  key: string;
  sha256: string;
  labels: string;
}

function exportedDocs(db: Db, version: number | 'latest'): ExportedDoc[] | null {
  const row = (
    version === 'latest'
      ? db.prepare('SELECT documents FROM bundle_exports ORDER BY version DESC LIMIT 1').get()
      : db.prepare('SELECT documents FROM bundle_exports WHERE version = ?').get(version)
  ) as { documents: string } | undefined;
  return row ? (JSON.parse(row.documents) as ExportedDoc[]) : null;
}

/** Versions this workstation has exported (the `since` an incremental bundle can start from). */
export function exportHistory(
  db: Db,
): Array<{ version: number; baseVersion: number; bundleId: string; createdAt: string }> {
  return db
    .prepare(
      'SELECT version, base_version AS baseVersion, bundle_id AS bundleId, created_at AS createdAt FROM bundle_exports ORDER BY version',
    )
    .all() as Array<{ version: number; baseVersion: number; bundleId: string; createdAt: string }>;
}

export interface ExportOptions {
  privateKeyPem: string;
  /** An empty or new folder; pack it with `packBundle` for a one-file archive. */
  outDir: string;
  now: Date;
  /** Model folders (embedding) or .gguf files (LLM) to carry as model packs. */
  models?: string[];
  /** Send only what changed since this exported version (an incremental bundle). */
  since?: number;
  /** Carry each document's chunks and, when present, its vectors, so the target can skip parsing and embedding. */
  withIndex?: boolean;
}

function writeIndexFile(db: Db, doc: DocumentRecord, file: string): boolean {
  const chunks = documentChunks(db, doc.id);
  const vectors = vectorsOf(
    db,
    chunks.map((c) => c.id),
  );
  const complete = chunks.length > 0 && vectors.every((v) => v !== null);
  const index: IndexFile = {
    title: doc.title,
    type: doc.type,
    pages: doc.pages,
    language: doc.language,
    warnings: doc.warnings,
    chunks: chunks.map((c) => ({
      ord: c.ord,
      text: c.text,
      pageStart: c.pageStart,
      pageEnd: c.pageEnd,
      headingPath: c.headingPath,
      boxes: c.boxes,
      ocrConfidence: c.ocrConfidence,
    })),
    vectors: complete
      ? vectors.map((v) =>
          Buffer.from(
            (v as Float32Array).buffer,
            (v as Float32Array).byteOffset,
            (v as Float32Array).byteLength,
          ).toString('base64'),
        )
      : null,
  };
  fs.writeFileSync(file, JSON.stringify(index));
  return complete;
}

/**
 * Export this knowledge base as a signed bundle (on the master workstation): every
 * document (full) or only what changed since an exported version (incremental), with
 * removals listed. Each export is recorded so the next one can be incremental.
 */
export function exportBundle(db: Db, opts: ExportOptions): BundleManifest {
  const privateKey = createPrivateKey(opts.privateKeyPem);
  const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const kb = kbIdentity(db);
  const version = kb.version + 1;
  let base: Map<string, ExportedDoc> | null = null;
  if (opts.since !== undefined) {
    const docs = exportedDocs(db, opts.since);
    if (!docs)
      throw new FieldbookError('BUNDLE_INVALID', {
        detail: `no bundle of version ${opts.since} was exported from this knowledge base (exported: ${
          exportHistory(db)
            .map((e) => e.version)
            .join(', ') || 'none'
        })`,
      });
    base = new Map(docs.map((d) => [d.key, d]));
  }
  // Keys stay the same from one export to the next, so the target can match documents.
  const previous = exportedDocs(db, 'latest') ?? [];
  const keyOf = new Map(previous.map((d) => [d.sourcePath, d.key]));
  const usedKeys = new Set(previous.map((d) => sameFileKey(d.key)));
  fs.mkdirSync(path.join(opts.outDir, 'files'), { recursive: true });
  if (opts.withIndex) fs.mkdirSync(path.join(opts.outDir, 'index'), { recursive: true });
  const documents: BundleManifest['documents'] = [];
  const record: ExportedDoc[] = [];
  let withVectors = false;
  for (const d of listDocuments(db)) {
    let key = keyOf.get(d.sourcePath);
    if (!key) {
      key = path.basename(d.sourcePath);
      if (usedKeys.has(sameFileKey(key)))
        key = `${createHash('sha256').update(d.sourcePath).digest('hex').slice(0, 8)}-${key}`;
      usedKeys.add(sameFileKey(key));
    }
    const labels = labelFingerprint(d);
    record.push({ sourcePath: d.sourcePath, key, sha256: d.sha256, labels });
    const before = base?.get(key);
    if (base && before && before.sha256 === d.sha256 && before.labels === labels) continue;
    if (!fs.existsSync(d.sourcePath))
      throw new FieldbookError('PATH_NOT_FOUND', {
        file: d.sourcePath,
        detail: 'the original file of an indexed document is missing',
      });
    const ext = path.extname(d.sourcePath).toLowerCase();
    const file = `files/${d.sha256}${ext}`;
    fs.copyFileSync(d.sourcePath, path.join(opts.outDir, file));
    let index: BundleManifest['documents'][number]['index'];
    if (opts.withIndex) {
      const indexFile = `index/${d.sha256}.json`;
      const full = path.join(opts.outDir, indexFile);
      withVectors = writeIndexFile(db, d, full) || withVectors;
      const data = fs.readFileSync(full);
      index = { file: indexFile, sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
    }
    documents.push({
      key,
      file,
      title: d.title,
      sha256: d.sha256,
      size: d.sizeBytes,
      tags: d.tags,
      sensitivity: d.sensitivity,
      isSafety: d.isSafety,
      ...(index ? { index } : {}),
    });
  }
  const current = new Set(record.map((r) => r.key));
  const space = withVectors ? currentVectorSpace(db) : null;
  const manifest: BundleManifest = {
    format: 'fieldbook-bundle/1',
    bundleId: randomUUID(),
    sourceKb: kb.id,
    version,
    baseVersion: opts.since ?? 0,
    createdAt: opts.now.toISOString(),
    signer: keyFingerprint(publicPem),
    documents,
    removed: base ? [...base.keys()].filter((k) => !current.has(k)) : [],
    models: (opts.models ?? []).map((m) => packModel(m, opts.outDir)),
    ...(space ? { embedding: space } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(opts.outDir, 'manifest.json'), bytes);
  fs.writeFileSync(path.join(opts.outDir, 'manifest.sig'), sign(null, bytes, privateKey).toString('base64'));
  db.transaction(() => {
    db.prepare(
      'INSERT INTO bundle_exports(version, bundle_id, base_version, created_at, documents) VALUES (?, ?, ?, ?, ?)',
    ).run(version, manifest.bundleId, manifest.baseVersion, manifest.createdAt, JSON.stringify(record));
    setMeta(db, 'kb.version', String(version));
  })();
  return manifest;
}
