/**
 * Tune hybrid fusion on real vectors (dev-only; needs `npm run models:fetch`):
 *   npx tsx test/bench/tune-fusion.ts --set drcd-dev --embedding-model models/embedding/NAME
 *     [--limit N] [--corpus-limit M] [--weights 0.5,1,2] [--rrf 10,60] [--depths 60,240]
 * Builds the evaluation knowledge base once, scores keyword and vector, then hybrid for every
 * combination of keyword weight, RRF constant and fusion depth. Prints one JSON line per setting.
 * --corpus-limit subsamples the corpus (embedding every passage is the slow part on a CPU): the
 * gold passages of the evaluated queries, then other passages in file order, M in all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import { CorpusLine, EvalQueryLine, readJsonl, withEvalKb } from '../../src-main/core/eval/eval-kb';
import { scoreRetrieval } from '../../src-main/core/eval/retrieval-eval';
import { evalDir } from '../support/paths';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const list = (name: string, fallback: string): number[] => (arg(name) ?? fallback).split(',').map(Number);

const set = arg('--set') ?? 'drcd-dev';
const model = arg('--embedding-model');
if (!model) {
  console.error('usage: tune-fusion.ts --set SET --embedding-model DIR [--limit N] [--history N]');
  process.exit(2);
}
const dir = path.join(evalDir, set);
const limit = Number(arg('--limit') ?? 0);
const history = Number(arg('--history') ?? 0);
let queries = readJsonl(path.join(dir, 'queries.jsonl'), EvalQueryLine);
if (limit) queries = queries.slice(0, limit);
let corpusFile = path.join(dir, 'corpus.jsonl');
const corpusLimit = Number(arg('--corpus-limit') ?? 0);
if (corpusLimit) {
  const passages = readJsonl(corpusFile, CorpusLine);
  const gold = new Set(queries.flatMap((q) => q.gold_ids));
  const kept = [...passages.filter((p) => gold.has(p.id)), ...passages.filter((p) => !gold.has(p.id))].slice(
    0,
    Math.max(corpusLimit, gold.size),
  );
  corpusFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-tune-')), 'corpus.jsonl');
  fs.writeFileSync(corpusFile, kept.map((p) => JSON.stringify(p)).join('\n') + '\n');
}

await withEvalKb(
  { corpusFile, embeddingModelDir: model, onProgress: (m) => console.error(m) },
  async ({ fb, idByPath, corpus }) => {
    const base = { set, model: path.basename(model), queries: queries.length, ...corpus };
    for (const mode of ['keyword', 'vector'] as const) {
      const s = await scoreRetrieval(fb, idByPath, queries, mode, history);
      console.log(JSON.stringify({ ...base, mode, ...s }));
    }
    for (const keywordWeight of list('--weights', '0.5,1,1.5,2'))
      for (const rrfK of list('--rrf', '10,30,60'))
        for (const fusionDepth of list('--depths', '60,120,240')) {
          fb.updateSettings({ search: { ...DEFAULT_SETTINGS.search, keywordWeight, rrfK, fusionDepth } });
          const s = await scoreRetrieval(fb, idByPath, queries, 'hybrid', history);
          console.log(JSON.stringify({ ...base, mode: 'hybrid', keywordWeight, rrfK, fusionDepth, ...s }));
        }
  },
);
