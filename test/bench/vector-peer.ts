/**
 * One engine's vector search in its own process, so each reports its own peak memory
 * (`npm run bench` starts it from search-bench.ts; not for direct use).
 *
 *   tsx test/bench/vector-peer.ts <request.json>
 *
 * The request names the engine, the folder of its data, and binary files of float32 vectors
 * (the same ones for every engine). The answer (one JSON line on stdout) holds per query the
 * latency and the top-k chunk ids, plus build time, size on disk and peak RSS.
 *
 * - fieldbook: the Fieldbook database the bench built (`knn`: int8 scan in memory + float re-scoring; its
 *   first query, which loads the int8 index, is the warm-up).
 * - lancedb-flat / lancedb-ivfpq: LanceDB 0.31 (devDependency, never used by the product) on
 *   the same vectors: a brute-force scan, and an IVF-PQ index with its default search settings.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../../src-main/core/store/db';
import { knn } from '../../src-main/core/store/vectors';

export interface PeerRequest {
  engine: 'fieldbook' | 'lancedb';
  /** Fieldbook: the data folder; LanceDB: an empty folder for its table. */
  dir: string;
  dim: number;
  /** float32 rows, row i = chunk id i + 1 (LanceDB only; Fieldbook reads its own database). */
  vectorsFile?: string;
  queriesFile: string;
  k: number;
}

export interface PeerRun {
  label: string;
  times: number[];
  ids: number[][];
}

export interface PeerResult {
  runs: PeerRun[];
  buildSeconds: number;
  diskBytes: number;
  peakRssBytes: number;
}

function readRows(file: string, dim: number): Float32Array[] {
  const buf = fs.readFileSync(file);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const rows: Float32Array[] = [];
  for (let off = 0; off < all.length; off += dim) rows.push(all.subarray(off, off + dim));
  return rows;
}

export function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(p) : fs.statSync(p).size;
  }
  return total;
}

async function timed(
  label: string,
  queries: Float32Array[],
  run: (q: Float32Array) => Promise<number[]> | number[],
): Promise<PeerRun> {
  await run(queries[0] as Float32Array); // warm caches and lazily opened files
  const times: number[] = [];
  const ids: number[][] = [];
  for (const q of queries) {
    const t = performance.now();
    ids.push(await run(q));
    times.push(performance.now() - t);
  }
  return { label, times, ids };
}

async function fieldbook(req: PeerRequest, queries: Float32Array[]): Promise<PeerResult> {
  const store = openStore(req.dir);
  try {
    const run = await timed('Fieldbook (int8 scan, float re-score)', queries, (q) =>
      knn(store.db, q, req.k).map((n) => n.chunkId),
    );
    return {
      runs: [run],
      buildSeconds: 0,
      diskBytes: fs.statSync(path.join(req.dir, 'fieldbook.db')).size,
      peakRssBytes: 0,
    };
  } finally {
    store.close();
  }
}

async function lancedb(req: PeerRequest, queries: Float32Array[]): Promise<PeerResult> {
  const lance = await import('@lancedb/lancedb');
  const vectors = readRows(req.vectorsFile as string, req.dim);
  const t0 = performance.now();
  const conn = await lance.connect(req.dir);
  const rows = vectors.map((v, i) => ({ id: i + 1, vector: Array.from(v) }));
  const table = await conn.createTable('chunks', rows, { mode: 'overwrite' });
  const flatBuild = (performance.now() - t0) / 1000;
  const search = (q: Float32Array, indexed: boolean) => {
    const query = table.vectorSearch(Array.from(q)).distanceType('cosine').limit(req.k).select(['id', '_distance']);
    return indexed ? query : query.bypassVectorIndex();
  };
  const ids = async (q: Float32Array, indexed: boolean): Promise<number[]> =>
    ((await search(q, indexed).toArray()) as Array<{ id: number | bigint }>).map((r) => Number(r.id));
  const flat = await timed('LanceDB flat (brute force)', queries, (q) => ids(q, false));
  const t1 = performance.now();
  // LanceDB's guidance: about √n partitions, dim/8 sub-vectors (here 48 × 8 dims).
  await table.createIndex('vector', {
    config: lance.Index.ivfPq({
      numPartitions: Math.max(1, Math.round(Math.sqrt(vectors.length))),
      numSubVectors: Math.max(1, Math.floor(req.dim / 8)),
      distanceType: 'cosine',
    }),
  });
  const indexBuild = (performance.now() - t1) / 1000;
  const partitions = Math.max(1, Math.round(Math.sqrt(vectors.length)));
  const ivf = await timed('LanceDB IVF-PQ (default nprobes)', queries, (q) => ids(q, true));
  const refined = await timed('LanceDB IVF-PQ, refine ×10', queries, async (q) =>
    ((await search(q, true).refineFactor(10).toArray()) as Array<{ id: number | bigint }>).map((r) => Number(r.id)),
  );
  // Closer to exact: a quarter of the partitions probed, and the PQ order re-scored on the floats.
  const probes = Math.max(1, Math.round(partitions / 4));
  const wide = await timed(`LanceDB IVF-PQ, ${probes} probes, refine ×10`, queries, async (q) =>
    ((await search(q, true).nprobes(probes).refineFactor(10).toArray()) as Array<{ id: number | bigint }>).map((r) =>
      Number(r.id),
    ),
  );
  conn.close();
  return {
    runs: [flat, ivf, refined, wide],
    buildSeconds: flatBuild + indexBuild,
    diskBytes: folderBytes(req.dir),
    peakRssBytes: 0,
  };
}

async function main(): Promise<void> {
  const req = JSON.parse(fs.readFileSync(process.argv[2] as string, 'utf8')) as PeerRequest;
  const queries = readRows(req.queriesFile, req.dim);
  const result = req.engine === 'fieldbook' ? await fieldbook(req, queries) : await lancedb(req, queries);
  result.peakRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
