/**
 * Inverse document frequency of query terms, from the keyword index itself (the same
 * tokenizer and stemming as search), cached until the number of chunks changes.
 */
import type { Db } from '../store/db';

const cache = new WeakMap<Db, { chunks: number; matches: Map<string, number> }>();

function quote(term: string): string {
  return `"${term.replace(/"/g, '""')}"`;
}

/** Number of chunks in the library (the N of idf). */
export function chunkCount(db: Db): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
}

/** Chunks each term occurs in (its document frequency). */
export function termMatches(db: Db, terms: string[]): Map<string, number> {
  const chunks = chunkCount(db);
  let entry = cache.get(db);
  if (!entry || entry.chunks !== chunks) {
    entry = { chunks, matches: new Map() };
    cache.set(db, entry);
  }
  const count = db.prepare('SELECT COUNT(*) AS n FROM chunk_fts WHERE chunk_fts MATCH ?');
  const out = new Map<string, number>();
  for (const t of terms) {
    let df = entry.matches.get(t);
    if (df === undefined) {
      df = (count.get(`body : ${quote(t)}`) as { n: number }).n;
      entry.matches.set(t, df);
    }
    out.set(t, df);
  }
  return out;
}

/** BM25-style idf of terms matching `matches` chunks each, in a library of `chunks`. */
export function idfOf(chunks: number, matches: ReadonlyMap<string, number>): Map<string, number> {
  return new Map([...matches].map(([t, df]) => [t, Math.log(1 + (chunks - df + 0.5) / (df + 0.5))] as const));
}

/** BM25-style idf per term: rare terms weigh more than common ones. */
export function termIdf(db: Db, terms: string[]): Map<string, number> {
  return idfOf(chunkCount(db), termMatches(db, terms));
}
