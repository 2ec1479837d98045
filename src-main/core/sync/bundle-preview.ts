/**
 * What a reviewer looks at before approving one change of a staged bundle: the text of
 * the incoming (or outgoing) document, its labels before and after, and for a changed
 * document a summary of which passages were added and removed. The files are read from
 * quarantine and parsed in the sandboxed parser process, like any import.
 */
import fs from 'node:fs';
import { FieldbookError } from '../errors';
import type { ParseResult } from '../ingest/types';
import { documentChunks, getDocumentByPath, type Sensitivity } from '../store/documents';
import { reviewItems, stagedManifest, type BundleReadDeps, type ChangeKind } from './bundle-import';
import { libraryPath, safeBundlePath } from './bundle-manifest';

export interface DocLabels {
  sensitivity: Sensitivity;
  isSafety: boolean;
  tags: Record<string, string>;
}

export interface TextDiffSummary {
  /** Passages (paragraphs, headings, table rows) only in the new version, only in the old, in both. */
  added: number;
  removed: number;
  unchanged: number;
  addedSamples: string[];
  removedSamples: string[];
}

export interface ItemPreview {
  key: string;
  kind: ChangeKind;
  title: string;
  pages: number | null;
  labelsBefore: DocLabels | null;
  labelsAfter: DocLabels | null;
  /** The start of the document being added (or, for a removal, the one being removed). */
  excerpt: Array<{ page: number | null; text: string }>;
  excerptTruncated: boolean;
  diff: TextDiffSummary | null;
  /** Model packs: the files that would be installed. */
  files: Array<{ target: string; size: number }>;
}

const EXCERPT_CHARS = 6000;
const SAMPLES = 8;
const SAMPLE_CHARS = 200;

type Passage = { page: number | null; text: string };

const normalize = (text: string): string => text.replace(/\s+/g, ' ').trim();

function passagesOf(result: ParseResult): Passage[] {
  const fromBlocks = result.doc.blocks.map((b) => ({ page: b.page, text: normalize(b.text) }));
  const source = fromBlocks.length
    ? fromBlocks
    : result.chunks.map((c) => ({ page: c.pageStart, text: normalize(c.text) }));
  return source.filter((p) => p.text.length > 0);
}

function excerptOf(passages: Passage[]): { excerpt: Passage[]; truncated: boolean } {
  const excerpt: Passage[] = [];
  let used = 0;
  for (const p of passages) {
    if (used >= EXCERPT_CHARS) return { excerpt, truncated: true };
    const text = p.text.slice(0, EXCERPT_CHARS - used);
    excerpt.push({ page: p.page, text });
    used += text.length;
  }
  return { excerpt, truncated: false };
}

const clip = (text: string): string => (text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}…` : text);

/** Passage-level comparison (as multisets, so moved text does not count as a change). */
export function diffPassages(before: string[], after: string[]): TextDiffSummary {
  const remaining = new Map<string, number>();
  for (const t of before) remaining.set(t, (remaining.get(t) ?? 0) + 1);
  const added: string[] = [];
  let unchanged = 0;
  for (const t of after) {
    const n = remaining.get(t) ?? 0;
    if (n > 0) {
      remaining.set(t, n - 1);
      unchanged++;
    } else added.push(t);
  }
  const removed = before.filter((t) => {
    const n = remaining.get(t) ?? 0;
    if (n === 0) return false;
    remaining.set(t, n - 1);
    return true;
  });
  return {
    added: added.length,
    removed: removed.length,
    unchanged,
    addedSamples: added.slice(0, SAMPLES).map(clip),
    removedSamples: removed.slice(0, SAMPLES).map(clip),
  };
}

/** The passages of a document already in the knowledge base: its file if still there, else its chunks. */
async function livePassages(deps: BundleReadDeps, docId: number, file: string): Promise<Passage[]> {
  if (fs.existsSync(file)) {
    try {
      return passagesOf(await deps.parser.parse(file, deps.limits, deps.chunking, undefined, deps.ocr));
    } catch {
      // fall back to what is indexed
    }
  }
  return documentChunks(deps.db, docId).map((c) => ({ page: c.pageStart, text: normalize(c.text) }));
}

export async function previewItem(deps: BundleReadDeps, bundleId: string, key: string): Promise<ItemPreview> {
  const { db, home } = deps;
  const item = reviewItems(db, bundleId).find((i) => i.key === key);
  if (!item) throw new FieldbookError('BUNDLE_INVALID', { detail: `bundle ${bundleId} has no change ${key}` });
  const { manifest, staging } = stagedManifest(db, home, bundleId);
  const base: ItemPreview = {
    key,
    kind: item.kind,
    title: item.title,
    pages: null,
    labelsBefore: null,
    labelsAfter: null,
    excerpt: [],
    excerptTruncated: false,
    diff: null,
    files: [],
  };
  if (item.kind === 'model') {
    const pack = manifest.models.find((m) => `model:${m.kind}/${m.name}` === key);
    return { ...base, files: (pack?.files ?? []).map((f) => ({ target: f.target, size: f.size })) };
  }
  // A duplicate's "before" is the library document with the same content (taking it over relabels it).
  const live =
    getDocumentByPath(db, libraryPath(home, manifest.sourceKb, key)) ??
    (item.sameAs ? getDocumentByPath(db, item.sameAs.path) : null);
  const labelsBefore = live ? { sensitivity: live.sensitivity, isSafety: live.isSafety, tags: live.tags } : null;
  if (item.kind === 'removed') {
    if (!live) return base;
    const passages = await livePassages(deps, live.id, live.sourcePath);
    const { excerpt, truncated } = excerptOf(passages);
    return { ...base, pages: live.pages, labelsBefore, excerpt, excerptTruncated: truncated };
  }
  const entry = manifest.documents.find((d) => d.key === key);
  if (!entry) throw new FieldbookError('BUNDLE_INVALID', { detail: `bundle ${bundleId} has no document ${key}` });
  const staged = safeBundlePath(staging, entry.file);
  if (!fs.existsSync(staged))
    throw new FieldbookError('BUNDLE_INVALID', { file: staged, detail: 'the quarantined copy is gone; stage again' });
  const result = await deps.parser.parse(staged, deps.limits, deps.chunking, undefined, deps.ocr);
  const passages = passagesOf(result);
  const { excerpt, truncated } = excerptOf(passages);
  const labelsAfter = { sensitivity: entry.sensitivity, isSafety: entry.isSafety, tags: entry.tags };
  const diff =
    live && item.kind !== 'new'
      ? diffPassages(
          (await livePassages(deps, live.id, live.sourcePath)).map((p) => p.text),
          passages.map((p) => p.text),
        )
      : null;
  return {
    ...base,
    pages: result.doc.pages,
    labelsBefore,
    labelsAfter,
    excerpt,
    excerptTruncated: truncated,
    diff,
  };
}
