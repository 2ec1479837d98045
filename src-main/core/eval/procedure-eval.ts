/**
 * `fieldbook eval answers --procedures FILE`: procedure questions over real documents (the
 * sample knowledge base and files from the shared corpus) whose gold is the list of required
 * steps and safety conditions, each a short phrase the document states (or alternatives).
 * Measured on the answer text: step recall, steps in the document's order, safety-condition
 * recall, and citation precision (citations pointing at a gold section).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { AnswerSettings } from '../config';
import { openFieldbook } from '../fieldbook';
import { normalizeForMatch } from '../text/normalize';
import { ingestSamples } from '../samples';
import { readJsonl } from './eval-kb';
import { faithfulness, type Faithfulness, type FaithfulnessInput } from './faithfulness';

/** A gold item: one phrase, or alternatives any of which counts. */
const GoldItem = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
type GoldItem = z.infer<typeof GoldItem>;

export const ProcedureQuestion = z.object({
  id: z.string(),
  lang: z.string(),
  question: z.string().min(1),
  /** `samples/<file>` (the sample knowledge base) or `corpus/<file>` (the shared corpus); heading optional. */
  sources: z.array(z.object({ file: z.string(), heading: z.string().optional() })).min(1),
  steps: z.array(GoldItem),
  safety: z.array(GoldItem),
});
export type ProcedureQuestion = z.infer<typeof ProcedureQuestion>;

/** What the scorer needs from an answer. */
export interface ScoredAnswer {
  text: string;
  citations: Array<{ sourcePath: string; headingPath: string[] }>;
}

export interface ProcedureScore {
  id: string;
  stepsFound: number;
  steps: number;
  /** Found steps appear in the gold order (null with fewer than two found). */
  inOrder: boolean | null;
  safetyFound: number;
  safety: number;
  /** Share of citations that point at a gold source (null without citations). */
  citationPrecision: number | null;
  missing: string[];
}

const squash = (s: string): string => normalizeForMatch(s).replace(/\s+/g, '');

/** Position of the first alternative found in the (squashed) text, or -1. */
function findItem(text: string, item: GoldItem): number {
  for (const alt of typeof item === 'string' ? [item] : item) {
    const at = text.indexOf(squash(alt));
    if (at >= 0) return at;
  }
  return -1;
}

/** A gold file key ("samples/x.pdf") matches a source path ending in that file name. */
function sourceMatches(gold: ProcedureQuestion['sources'][number], c: ScoredAnswer['citations'][number]): boolean {
  if (path.basename(c.sourcePath) !== path.basename(gold.file)) return false;
  if (!gold.heading) return true;
  const h = squash(gold.heading);
  return c.headingPath.some((x) => squash(x) === h);
}

export function scoreProcedureAnswer(q: ProcedureQuestion, answer: ScoredAnswer): ProcedureScore {
  const text = squash(answer.text);
  const positions = q.steps.map((s) => findItem(text, s));
  const found = positions.filter((p) => p >= 0);
  const safetyHits = q.safety.map((s) => findItem(text, s) >= 0);
  const label = (item: GoldItem): string => (typeof item === 'string' ? item : item.join(' | '));
  return {
    id: q.id,
    stepsFound: found.length,
    steps: q.steps.length,
    inOrder: found.length < 2 ? null : found.every((p, i) => i === 0 || p > (found[i - 1] as number)),
    safetyFound: safetyHits.filter(Boolean).length,
    safety: q.safety.length,
    citationPrecision: answer.citations.length
      ? answer.citations.filter((c) => q.sources.some((g) => sourceMatches(g, c))).length / answer.citations.length
      : null,
    missing: [
      ...q.steps.filter((_, i) => (positions[i] as number) < 0).map((s) => `step: ${label(s)}`),
      ...q.safety.filter((_, i) => !safetyHits[i]).map((s) => `safety: ${label(s)}`),
    ],
  };
}

export interface ProcedureSummary {
  questions: number;
  /** Mean share of gold steps found in the answer. */
  stepRecall: number;
  /** Share of answers (with ≥ 2 steps found) whose steps come in the gold order. */
  stepsInOrder: number;
  /** Found / total safety conditions over all questions. */
  safetyRecall: number;
  /** Share of questions with safety conditions that have every one of them. */
  allSafetyPresent: number;
  /** Mean citation precision over answers with citations. */
  citationPrecision: number;
}

const ratio = (n: number, d: number): number => (d === 0 ? 0 : Math.round((n / d) * 10_000) / 10_000);

export function summarizeProcedures(scores: ProcedureScore[]): ProcedureSummary {
  const ordered = scores.filter((s) => s.inOrder !== null);
  const withSafety = scores.filter((s) => s.safety > 0);
  const cited = scores.filter((s) => s.citationPrecision !== null);
  return {
    questions: scores.length,
    stepRecall: ratio(
      scores.reduce((acc, s) => acc + (s.steps ? s.stepsFound / s.steps : 1), 0),
      scores.length,
    ),
    stepsInOrder: ratio(ordered.filter((s) => s.inOrder).length, ordered.length),
    safetyRecall: ratio(
      scores.reduce((acc, s) => acc + s.safetyFound, 0),
      scores.reduce((acc, s) => acc + s.safety, 0),
    ),
    allSafetyPresent: ratio(withSafety.filter((s) => s.safetyFound === s.safety).length, withSafety.length),
    citationPrecision: ratio(
      cited.reduce((acc, s) => acc + (s.citationPrecision ?? 0), 0),
      cited.length,
    ),
  };
}

export interface ProcedureEvalOptions {
  setFile: string;
  /** The sample knowledge base (resources/samples, with its manifest.json). */
  samplesDir: string;
  /** The shared corpus folder; questions on its files are skipped when it is absent. */
  corpusDir: string;
  embeddingModelDir?: string;
  llmModelFile?: string;
  answer?: Partial<AnswerSettings>;
  /** Ask an evenly spaced subsample of this many questions (every document and language keep a share). */
  limit?: number;
  /** Write one JSON line per question (answer text, mode, sentence support, timings, score) to this file. */
  detailsFile?: string;
  onProgress?: (message: string) => void;
}

/** `n` evenly spaced items of `items` in their order (all of them when n ≥ their number). */
export function evenSubsample<T>(items: T[], n: number): T[] {
  if (n >= items.length) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)] as T);
}

export interface ProcedureEvalReport {
  summary: ProcedureSummary;
  byLanguage: Record<string, ProcedureSummary>;
  modes: Record<string, number>;
  needsReview: number;
  /** Generated answers (null without an LLM): sentences supported by their citations, Simplified converted. */
  faithfulness: Faithfulness | null;
  scores: ProcedureScore[];
  skipped: Array<{ id: string; reason: string }>;
}

/** Ingest the samples and the corpus files the set names, then ask every question. */
export async function runProcedureEval(opts: ProcedureEvalOptions): Promise<ProcedureEvalReport> {
  const all = readJsonl(opts.setFile, ProcedureQuestion);
  const questions = opts.limit ? evenSubsample(all, opts.limit) : all;
  const skipped: ProcedureEvalReport['skipped'] = [];
  const corpusFiles = new Set<string>();
  const asked = questions.filter((q) => {
    const missing = q.sources
      .filter((s) => s.file.startsWith('corpus/'))
      .map((s) => path.join(opts.corpusDir, s.file.slice('corpus/'.length)))
      .filter((f) => !fs.existsSync(f));
    if (missing.length) {
      skipped.push({ id: q.id, reason: `missing ${missing.join(', ')}` });
      return false;
    }
    for (const s of q.sources) {
      if (s.file.startsWith('corpus/')) corpusFiles.add(path.join(opts.corpusDir, s.file.slice('corpus/'.length)));
    }
    return true;
  });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-procedures-'));
  try {
    const fb = openFieldbook({
      home: work,
      embeddingModelRoots: opts.embeddingModelDir ? [path.dirname(path.resolve(opts.embeddingModelDir))] : [],
      llmModelRoots: opts.llmModelFile ? [path.dirname(path.resolve(opts.llmModelFile))] : [],
    });
    try {
      if (opts.answer) fb.updateSettings({ answer: opts.answer });
      if (opts.embeddingModelDir) await fb.useEmbeddingModel(path.basename(path.resolve(opts.embeddingModelDir)));
      if (opts.llmModelFile) await fb.useLlmModel(path.basename(opts.llmModelFile));
      opts.onProgress?.(`Ingesting the sample documents and ${corpusFiles.size} corpus files…`);
      await ingestSamples(fb, opts.samplesDir);
      if (corpusFiles.size) await fb.ingest.ingest([...corpusFiles]);
      opts.onProgress?.(`Asking ${asked.length} procedure questions…`);
      if (opts.detailsFile) fs.writeFileSync(opts.detailsFile, '');
      const scores: ProcedureScore[] = [];
      const byLang = new Map<string, ProcedureScore[]>();
      const modes: Record<string, number> = {};
      let review = 0;
      const results: FaithfulnessInput[] = [];
      for (const q of asked) {
        const res = await fb.answers.ask(q.question);
        results.push(res);
        modes[res.mode] = (modes[res.mode] ?? 0) + 1;
        if (res.needsReview) review++;
        const score = scoreProcedureAnswer(q, { text: res.answer, citations: res.citations });
        scores.push(score);
        if (opts.detailsFile) {
          const { mode, answer, sentenceSupport, stopReason, timings, notice } = res;
          const line = { id: q.id, mode, answer, sentenceSupport, stopReason, timings, notice, score };
          fs.appendFileSync(opts.detailsFile, `${JSON.stringify(line)}\n`);
        }
        byLang.set(q.lang, [...(byLang.get(q.lang) ?? []), score]);
      }
      return {
        summary: summarizeProcedures(scores),
        byLanguage: Object.fromEntries([...byLang].map(([l, s]) => [l, summarizeProcedures(s)])),
        modes,
        needsReview: ratio(review, asked.length),
        faithfulness: faithfulness(results),
        scores,
        skipped,
      };
    } finally {
      await fb.close();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
