/**
 * A throwaway knowledge base built from an evaluation corpus (JSONL passages), through
 * the normal pipeline: each passage becomes a Markdown file, ingested by parser processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { AnswerSettings, ChunkSettings, SearchSettings } from '../config';
import { FieldbookError } from '../errors';
import { openFieldbook, type Fieldbook } from '../fieldbook';
import { storeStats } from '../store/documents';

export const CorpusLine = z.object({ id: z.string(), title: z.string().default(''), text: z.string() });
const HistoryTurn = z.object({ speaker: z.string(), text: z.string() });
export const EvalQueryLine = z.object({
  id: z.string(),
  question: z.string(),
  gold_ids: z.array(z.string()),
  answers: z.array(z.string()).default([]),
  history: z.array(HistoryTurn).optional(),
  lang: z.string().optional(),
  language: z.string().optional(),
});
export type EvalQuery = z.infer<typeof EvalQueryLine>;

/** Read a JSONL file, validating each line; errors name the file and line. */
export function readJsonl<T>(file: string, schema: z.ZodType<T>): T[] {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FieldbookError('PATH_NOT_FOUND', { file });
  }
  const out: T[] = [];
  raw.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new FieldbookError('INVALID_INPUT', { file, detail: `line ${i + 1}: ${(err as Error).message}` });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new FieldbookError('INVALID_INPUT', {
        file,
        detail: `line ${i + 1}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      });
    }
    out.push(parsed.data);
  });
  return out;
}

export interface EvalKbOptions {
  corpusFile: string;
  embeddingModelDir?: string;
  llmModelFile?: string;
  chunk?: Partial<ChunkSettings>;
  search?: Partial<SearchSettings>;
  /** E.g. a longer generation time limit than an interactive user gets, to measure a slow CPU's model. */
  answer?: Partial<AnswerSettings>;
  onProgress?: (message: string) => void;
}

export interface EvalKb {
  fb: Fieldbook;
  /** Passage id of an ingested file. */
  idByPath: Map<string, string>;
  corpus: { passages: number; chunks: number; failed: number; ingestSeconds: number };
}

/** Build the knowledge base, run `fn` on it, then delete everything. */
export async function withEvalKb<T>(opts: EvalKbOptions, fn: (kb: EvalKb) => Promise<T>): Promise<T> {
  const corpus = readJsonl(opts.corpusFile, CorpusLine);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-eval-'));
  try {
    const docsDir = path.join(work, 'corpus');
    fs.mkdirSync(docsDir);
    const idByPath = new Map<string, string>();
    corpus.forEach((p, i) => {
      const file = path.join(docsDir, `${String(i).padStart(6, '0')}.md`);
      const title = p.title.replace(/\s+/g, ' ').trim();
      fs.writeFileSync(file, title ? `# ${title}\n\n${p.text}\n` : `${p.text}\n`);
      idByPath.set(file, p.id);
    });
    const fb = openFieldbook({
      home: path.join(work, 'home'),
      embeddingModelRoots: opts.embeddingModelDir ? [path.dirname(path.resolve(opts.embeddingModelDir))] : [],
      llmModelRoots: opts.llmModelFile ? [path.dirname(path.resolve(opts.llmModelFile))] : [],
    });
    try {
      if (opts.chunk) fb.updateSettings({ chunk: opts.chunk });
      if (opts.search) fb.updateSettings({ search: opts.search });
      if (opts.answer) fb.updateSettings({ answer: opts.answer });
      if (opts.embeddingModelDir) await fb.useEmbeddingModel(path.basename(path.resolve(opts.embeddingModelDir)));
      if (opts.llmModelFile) await fb.useLlmModel(path.basename(opts.llmModelFile));
      opts.onProgress?.(`Ingesting ${corpus.length} passages…`);
      const t0 = performance.now();
      const report = await fb.ingest.ingest([docsDir]);
      const ingestSeconds = Math.round((performance.now() - t0) / 10) / 100;
      const stats = storeStats(fb.db);
      return await fn({
        fb,
        idByPath,
        corpus: { passages: corpus.length, chunks: stats.chunks, failed: report.counts.failed, ingestSeconds },
      });
    } finally {
      await fb.close();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
