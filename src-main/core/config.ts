/**
 * Where Fieldbook keeps its data and which defaults it starts with.
 * The desktop app and the CLI share one default data directory; FIELDBOOK_HOME overrides it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_NAME = 'Fieldbook';

/** Same folder Electron's app.getPath('userData') gives for an app named "Fieldbook". */
export function defaultHome(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.FIELDBOOK_HOME) return path.resolve(env.FIELDBOOK_HOME);
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_NAME);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_NAME);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), APP_NAME);
}

/** The project/app root (where `package.json`, `models/` and `resources/` live), found by walking up. */
export function appRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

export interface IngestLimits {
  /** Largest file accepted, in bytes. */
  maxFileBytes: number;
  /** Most PDF pages accepted. */
  maxPages: number;
  /** Largest total unpacked size of a DOCX, in bytes. */
  maxUnpackedBytes: number;
  /** Highest unpacked/packed ratio accepted for a DOCX entry. */
  maxCompressionRatio: number;
  /** Time limit for parsing one file, in ms. */
  parseTimeoutMs: number;
  /** Heap limit of the parser process, in MB. */
  parserMemoryMb: number;
}

export interface ChunkSettings {
  /** Target chunk size in approximate tokens (a CJK character ≈ 1, a Latin character ≈ 0.25). */
  chunkSize: number;
  /** Overlap carried from the end of one chunk into the next, same unit. */
  chunkOverlap: number;
}

export interface SearchSettings {
  /** Results returned by default. */
  topK: number;
  /** Reciprocal-rank-fusion constant. */
  rrfK: number;
  /** Weight of the keyword list in the fusion (vector list weight is 1). */
  keywordWeight: number;
  /** Candidates taken from each list (keyword, vector) before hybrid fusion (at least the k asked for). */
  fusionDepth: number;
}

export interface AnswerSettings {
  /** Active GGUF file name (under models/llm), or null for extractive answers. */
  llmModel: string | null;
  /** Context window to create for the LLM, in tokens. */
  contextSize: number;
  /** Budget of retrieved text in the prompt, in model tokens (prompt processing dominates CPU latency). */
  contextTokens: number;
  maxAnswerTokens: number;
  /** Generation time limit. */
  timeoutMs: number;
  /** Answers below this confidence are flagged "needs manual review". */
  confidenceThreshold: number;
  /** Passages retrieved per question before the token budget is applied. */
  retrievalDepth: number;
  /** Record each question in the audit log. */
  auditQuestions: boolean;
}

export interface OcrSettings {
  enabled: boolean;
  /** tesseract language codes installed as npm packages @tesseract.js-data/<code>, e.g. ["eng", "chi_tra"]. */
  languages: string[];
  /** Render resolution for OCR; 200–300 suits manuals. */
  dpi: number;
  /** OCR time and decoded pixels allowed per file (default 1200 s, 3000 megapixels); later pages are not read. */
  budget?: { seconds: number; megapixels: number };
}

export interface Settings {
  ocr: OcrSettings;
  answer: AnswerSettings;
  chunk: ChunkSettings;
  search: SearchSettings;
  limits: IngestLimits;
  /** Active embedding model directory name (under models/embedding), or null for none. */
  embeddingModel: string | null;
  locale: 'en' | 'zh-TW';
}

export const DEFAULT_SETTINGS: Settings = {
  ocr: { enabled: true, languages: ['eng', 'chi_tra'], dpi: 200 },
  answer: {
    llmModel: null,
    contextSize: 4096,
    contextTokens: 1500,
    maxAnswerTokens: 512,
    timeoutMs: 120_000,
    confidenceThreshold: 0.6,
    retrievalDepth: 6,
    auditQuestions: true,
  },
  chunk: { chunkSize: 250, chunkOverlap: 50 },
  // Tuned on real vectors (multilingual-e5-small; README, Quality and speed).
  search: { topK: 8, rrfK: 10, keywordWeight: 2, fusionDepth: 240 },
  limits: {
    maxFileBytes: 200 * 1024 * 1024,
    maxPages: 3000,
    maxUnpackedBytes: 300 * 1024 * 1024,
    maxCompressionRatio: 200,
    parseTimeoutMs: 120_000,
    parserMemoryMb: 1536,
  },
  embeddingModel: null,
  locale: 'zh-TW',
};
