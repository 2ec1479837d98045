/**
 * Faithfulness of generated answers, from the answer service's own citation check
 * (`analyseCitations`: a sentence is supported when a block it cites holds its terms or
 * quote) — the eval counts what the product decided, it does not check a second way.
 * Also counts the zh-TW answers whose model text was Simplified and had to be converted.
 */
import type { AnswerResult } from '../answer/answer-service';

export interface Faithfulness {
  /** Generated answers counted (extractive answers quote the documents; "not found" says nothing). */
  answers: number;
  sentences: number;
  /** Share of sentences with a citation whose block supports them. */
  supported: number;
  /** Share of sentences that cite nothing. */
  uncited: number;
  /** Share of sentences whose citations all point at blocks that do not support them. */
  citedUnsupported: number;
  /** Share of answers in which every sentence is supported. */
  answersFullySupported: number;
  /** Generated answers to Chinese questions, and how many of them were converted Simplified → Traditional. */
  zhAnswers: number;
  convertedToTraditional: number;
  /** Generations discarded for an extractive answer (empty, or only block numbers / copied titles). */
  fellBackToExtractive: number;
  /** Why generation stopped (eos, maxTokens, timeout, cancelled), over the generated answers. */
  stopReasons: Record<string, number>;
}

export type FaithfulnessInput = Pick<AnswerResult, 'mode' | 'language' | 'timings' | 'sentenceSupport' | 'stopReason'>;

const ratio = (n: number, d: number): number => (d === 0 ? 0 : Math.round((n / d) * 10_000) / 10_000);

/** Over the generated answers among `results`; null when the model wrote nothing for any of them. */
export function faithfulness(results: FaithfulnessInput[]): Faithfulness | null {
  const generated = results.filter((r) => r.mode === 'generative' && r.sentenceSupport);
  const fellBack = results.filter((r) => r.mode === 'extractive' && typeof r.timings.generationMs === 'number');
  if (generated.length === 0 && fellBack.length === 0) return null;
  let sentences = 0;
  let supported = 0;
  let uncited = 0;
  let full = 0;
  let zh = 0;
  let converted = 0;
  const stopReasons: Record<string, number> = {};
  for (const r of generated) {
    const why = r.stopReason ?? 'unknown';
    stopReasons[why] = (stopReasons[why] ?? 0) + 1;
    const s = r.sentenceSupport as NonNullable<AnswerResult['sentenceSupport']>;
    sentences += s.sentences;
    supported += s.supported;
    uncited += s.uncited;
    if (s.sentences > 0 && s.supported === s.sentences) full++;
    if (r.language === 'zh-TW') {
      zh++;
      if ((r.timings.simplifiedCharsConverted ?? 0) > 0) converted++;
    }
  }
  return {
    answers: generated.length,
    sentences,
    supported: ratio(supported, sentences),
    uncited: ratio(uncited, sentences),
    citedUnsupported: ratio(sentences - supported - uncited, sentences),
    answersFullySupported: ratio(full, generated.length),
    zhAnswers: zh,
    convertedToTraditional: converted,
    fellBackToExtractive: fellBack.length,
    stopReasons,
  };
}

/** One line for the CLI. */
export function formatFaithfulness(f: Faithfulness): string[] {
  return [
    `faithfulness (${f.answers} generated answers, ${f.sentences} sentences): supported by the cited block ${f.supported}, ` +
      `no citation ${f.uncited}, cited but unsupported ${f.citedUnsupported}; every sentence supported in ${f.answersFullySupported} of answers`,
    `zh-TW answers converted Simplified → Traditional: ${f.convertedToTraditional} of ${f.zhAnswers}; generation stopped by: ${Object.entries(
      f.stopReasons,
    )
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}; generations discarded for the extractive answer (no text of its own): ${f.fellBackToExtractive}`,
  ];
}
