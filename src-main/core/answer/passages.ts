/**
 * Sections for extractive answers: each ranked chunk is widened to the run of adjacent
 * chunks of its document that share its heading path (one section, e.g. all steps of
 * "3.1 一般復位程序" when the chunker split them), joined without the chunks' overlap.
 */
import { sizeOf } from '../ingest/chunker';
import type { RankedChunk } from '../search/search-service';
import { documentChunks, type ChunkRecord } from '../store/documents';
import type { Db } from '../store/db';
import { joinChunkTexts, type Passage } from './extractive';

export interface SectionPassage extends Passage {
  /** The section's best-ranked chunk. */
  ranked: RankedChunk;
  /** The section's chunks, in order. */
  chunks: ChunkRecord[];
}

/**
 * The chunk a citation of the passage opens: of the chunks holding `best` (the quoted part that
 * answers best), the one holding most of the quote; else the section's best-ranked chunk.
 */
export function chunkHolding(p: SectionPassage, best: string, quoted: string[]): RankedChunk {
  const probe = (t: string): string => squash(t).slice(0, 40);
  const holding = p.chunks.filter((c) => probe(best) && squash(c.text).includes(probe(best)));
  const share = (c: ChunkRecord): number => quoted.filter((t) => squash(c.text).includes(probe(t))).length;
  const hit = holding.sort((a, b) => share(b) - share(a))[0];
  return hit && hit.id !== p.ranked.chunk.id ? { ...p.ranked, chunk: hit } : p.ranked;
}

const squash = (s: string): string => s.replace(/\s+/g, '');

/** A section larger than this (approximate tokens) is widened no further. */
const MAX_SECTION_SIZE = 2400;

const samePath = (a: string[], b: string[]): boolean => a.length === b.length && a.every((h, i) => h === b[i]);

export function sectionPassages(db: Db, ranked: RankedChunk[]): SectionPassage[] {
  const chunksOf = new Map<number, ChunkRecord[]>();
  const covered = new Set<number>();
  const out: SectionPassage[] = [];
  ranked.forEach((r, rank) => {
    if (covered.has(r.chunk.id)) return;
    let all = chunksOf.get(r.doc.id);
    if (!all) {
      all = documentChunks(db, r.doc.id);
      chunksOf.set(r.doc.id, all);
    }
    const at = all.findIndex((c) => c.id === r.chunk.id);
    let lo = at;
    let hi = at;
    if (at >= 0) {
      let size = sizeOf(r.chunk.text);
      const path = r.chunk.headingPath;
      for (;;) {
        const before = all[lo - 1];
        const after = all[hi + 1];
        const canAfter = after && samePath(after.headingPath, path) && size + sizeOf(after.text) <= MAX_SECTION_SIZE;
        const canBefore =
          before && samePath(before.headingPath, path) && size + sizeOf(before.text) <= MAX_SECTION_SIZE;
        if (canAfter) {
          hi++;
          size += sizeOf(after.text);
        } else if (canBefore) {
          lo--;
          size += sizeOf(before.text);
        } else break;
      }
    }
    const run = at >= 0 ? all.slice(lo, hi + 1) : [r.chunk];
    for (const c of run) covered.add(c.id);
    const pages = run.flatMap((c) => [c.pageStart, c.pageEnd]).filter((p): p is number => p !== null);
    out.push({
      title: r.doc.title,
      headingPath: r.chunk.headingPath,
      pageStart: pages.length ? Math.min(...pages) : null,
      pageEnd: pages.length ? Math.max(...pages) : null,
      text: joinChunkTexts(run.map((c) => c.text)),
      isSafety: r.doc.is_safety === 1,
      rank,
      ranked: r,
      chunks: run,
    });
  });
  return out;
}
