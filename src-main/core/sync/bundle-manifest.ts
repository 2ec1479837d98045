/**
 * The bundle format. A bundle is a folder (or one `.fbbundle` archive of it):
 *   manifest.json   source KB, base version → version, added/changed documents with sha256,
 *                   size and labels, removed keys, model packs, embedding model of carried vectors
 *   manifest.sig    Ed25519 signature of manifest.json's exact bytes
 *   files/<sha256><ext>, index/<sha256>.json (optional chunks + vectors), models/<sha256>
 */
import { createHash, createPublicKey, randomUUID } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { FieldbookError } from '../errors';
import type { Sensitivity } from '../store/documents';
import type { Db } from '../store/db';
import { getMeta, setMeta } from '../store/vectors';

export const MAX_FILES = 20_000;
export const MAX_FILE_BYTES = 500 * 1024 * 1024;
export const MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024;

/**
 * Manifest fields that become paths on this PC are checked by the schema; a value that breaks
 * these rules is refused as unsafe (BUNDLE_UNSAFE), not merely invalid. See `isUnsafeIssue`.
 */
const UNSAFE = { unsafe: true } as const;
const pathRule = (check: (v: string) => boolean, message: string) =>
  z.string().min(1).max(1024).refine(check, { message, params: UNSAFE });

/** Whether a schema issue is one of the path rules above. */
export function isUnsafeIssue(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && (issue.params as { unsafe?: boolean } | undefined)?.unsafe === true;
}

/**
 * A name that becomes one folder or file name on this PC (model packs): no separators or
 * reserved characters, no leading dot (so never `.` or `..`).
 */
const isSafeName = (n: string): boolean => n.length <= 200 && /^[^\\/:*?"<>|\0]+$/.test(n) && !n.startsWith('.');
const SafeName = pathRule(isSafeName, 'a name may not contain / \\ : * ? " < > | or NUL, nor start with a dot');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * A knowledge-base id (it names the library folder): the random UUID the publisher's
 * workstation created (so a safe name too), normalised to lower case so that one knowledge
 * base has exactly one folder.
 */
const KbId = z
  .string()
  .max(100)
  .trim()
  .toLowerCase()
  .refine((v) => UUID.test(v), { message: 'sourceKb must be a knowledge-base id (UUID)', params: UNSAFE });

/** Where a bundle file lives inside the bundle: one plain name directly in one of the bundle's folders. */
const entryPath = (folder: 'files' | 'index' | 'models') =>
  pathRule((p) => {
    const m = /^(files|index|models)\/([^/\\\0]+)$/.exec(p);
    return m?.[1] === folder && isSafeName(m[2] as string);
  }, `must be a file directly inside ${folder}/`);

/** A document key: its file name in the library may not be `.` or `..` (it must stay a file inside the KB folder). */
const DocKey = z
  .string()
  .min(1)
  .max(512)
  .refine((k) => !['.', '..', ''].includes(keyFileName(k).trim()), {
    message: 'a document key may not be "." or ".."',
    params: UNSAFE,
  });

const DocEntry = z.object({
  key: DocKey,
  file: entryPath('files'),
  title: z.string().max(1000),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  tags: z.record(z.string(), z.string()),
  sensitivity: z.enum(['public', 'internal', 'confidential', 'restricted']),
  isSafety: z.boolean(),
  /** Chunks (and vectors) of the document, so the target can skip parsing and embedding. */
  index: z
    .object({
      file: entryPath('index'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      size: z.number().int().nonnegative(),
    })
    .optional(),
});
const ModelEntry = z.object({
  kind: z.enum(['embedding', 'llm']),
  name: SafeName,
  files: z
    .array(
      z.object({
        file: entryPath('models'),
        target: z.string().min(1).max(512),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        size: z.number().int().nonnegative(),
      }),
    )
    .min(1)
    .max(100),
});
export type ModelPackEntry = z.infer<typeof ModelEntry>;

export const Manifest = z.object({
  format: z.literal('fieldbook-bundle/1'),
  bundleId: z.string().uuid(),
  sourceKb: KbId,
  version: z.number().int().positive(),
  /** 0 for a full bundle; otherwise the version this incremental bundle updates. */
  baseVersion: z.number().int().nonnegative().default(0),
  createdAt: z.string(),
  signer: z.string().regex(/^[0-9a-f]{64}$/),
  documents: z.array(DocEntry).max(MAX_FILES),
  /** Keys of documents an incremental bundle removes (a full bundle removes what it lacks). */
  removed: z.array(DocKey).max(MAX_FILES).default([]),
  models: z.array(ModelEntry).max(20).default([]),
  /** The embedding model whose vectors the index files carry (its id includes a hash of its weights). */
  embedding: z.object({ modelId: z.string().min(1).max(300), dim: z.number().int().positive().max(16_384) }).optional(),
});
export type BundleManifest = z.infer<typeof Manifest>;

export function keyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** This knowledge base's id (random, created once) and its current version. */
export function kbIdentity(db: Db): { id: string; version: number } {
  let id = getMeta(db, 'kb.id');
  if (!id) {
    id = randomUUID();
    setMeta(db, 'kb.id', id);
  }
  return { id, version: Number(getMeta(db, 'kb.version') ?? '0') };
}

/** The labels a bundle carries besides the file itself; a change in them is a change to review. */
export function labelFingerprint(d: {
  tags: Record<string, string>;
  sensitivity: Sensitivity;
  isSafety: boolean;
}): string {
  const tags = Object.entries(d.tags).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([tags, d.sensitivity, d.isSafety]);
}

/** The chunks and vectors of one document, as carried in `index/<sha256>.json`. */
export const IndexFile = z.object({
  title: z.string().max(1000),
  type: z.string().regex(/^[a-z]{1,10}$/),
  pages: z.number().int().nonnegative().nullable(),
  language: z.string().max(20),
  warnings: z.array(z.string().max(2000)).max(10_000),
  chunks: z
    .array(
      z.object({
        ord: z.number().int().nonnegative(),
        text: z.string().max(200_000),
        pageStart: z.number().int().positive().nullable(),
        pageEnd: z.number().int().positive().nullable(),
        headingPath: z.array(z.string().max(1000)).max(50),
        boxes: z
          .array(
            z.object({
              page: z.number().int().positive(),
              x: z.number(),
              y: z.number(),
              w: z.number(),
              h: z.number(),
            }),
          )
          .max(10_000),
        ocrConfidence: z.number().min(0).max(100).nullable(),
      }),
    )
    .max(200_000),
  /** One base64 float32 vector per chunk, or null. */
  vectors: z.array(z.string().max(100_000)).nullable(),
});
export type IndexFile = z.infer<typeof IndexFile>;

/** Reject anything but a plain relative path inside the bundle. */
export function safeBundlePath(root: string, rel: string): string {
  if (
    !rel ||
    rel.includes('\0') ||
    path.isAbsolute(rel) ||
    /^[a-zA-Z]:/.test(rel) ||
    rel.startsWith('\\') ||
    rel.split(/[\\/]/).includes('..')
  ) {
    throw new FieldbookError('BUNDLE_UNSAFE', { detail: `unsafe path in bundle: ${JSON.stringify(rel)}` });
  }
  const full = path.resolve(root, rel);
  const inside = path.relative(path.resolve(root), full);
  if (inside.startsWith('..') || path.isAbsolute(inside))
    throw new FieldbookError('BUNDLE_UNSAFE', { detail: `path escapes the bundle: ${rel}` });
  return full;
}

/** The file name a document key gets on disk. */
export function keyFileName(key: string): string {
  return key.replace(/[\\/:*?"<>|\0]/g, '_');
}

/** Keys that would land on the same file (after unsafe characters are replaced; case-insensitive file systems). */
export function sameFileKey(key: string): string {
  return keyFileName(key).toLowerCase();
}

/** The folder holding every document that came from bundles. */
export function libraryRoot(home: string): string {
  return path.resolve(home, 'library');
}

/**
 * Where an applied bundle document lives on this PC: `<home>/library/<sourceKb>/<file>`.
 * Checked after resolution: anything that would not be a file directly inside its
 * knowledge base's folder in the library is refused.
 */
export function libraryPath(home: string, sourceKb: string, key: string): string {
  const root = libraryRoot(home);
  const kb = KbId.safeParse(sourceKb);
  const name = keyFileName(key);
  const target = path.resolve(root, kb.success ? kb.data : '', name);
  const rel = path.relative(root, target);
  if (!kb.success || path.isAbsolute(rel) || rel.split(path.sep).length !== 2 || rel.split(path.sep).includes('..'))
    throw new FieldbookError('BUNDLE_UNSAFE', {
      detail: `library path outside its knowledge-base folder: ${JSON.stringify(sourceKb)} / ${JSON.stringify(key)}`,
    });
  return target;
}
