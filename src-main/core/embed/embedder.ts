/**
 * Sentence embeddings with transformers.js from a local model directory only
 * (remote loading is disabled). A model folder looks like
 *   models/embedding/<name>/{config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx}
 * with an optional fieldbook.json: { "queryPrefix": "query: ", "passagePrefix": "passage: " }.
 */
import fs from 'node:fs';
import path from 'node:path';
import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';
import { FieldbookError } from '../errors';

export interface Embedder {
  /** Stable id: model name plus a hash prefix of its weights. Vectors from different ids never mix. */
  readonly id: string;
  readonly name: string;
  readonly dim: number;
  embedQuery(text: string): Promise<Float32Array>;
  embedPassages(texts: string[], onProgress?: (done: number, total: number) => void): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

export interface EmbeddingModelInfo {
  name: string;
  dir: string;
  onnxFile: string;
  dtype: 'fp32' | 'q8' | 'fp16';
  queryPrefix: string;
  passagePrefix: string;
  sizeBytes: number;
}

const ONNX_CANDIDATES: Array<{ file: string; dtype: EmbeddingModelInfo['dtype'] }> = [
  { file: 'model.onnx', dtype: 'fp32' },
  { file: 'model_quantized.onnx', dtype: 'q8' },
  { file: 'model_fp16.onnx', dtype: 'fp16' },
];

/** Default query/passage prefixes for model families that were trained with them. */
function defaultPrefixes(name: string): { queryPrefix: string; passagePrefix: string } {
  if (/e5/i.test(name)) return { queryPrefix: 'query: ', passagePrefix: 'passage: ' };
  if (/bge.*(zh|small|base|large)/i.test(name) && !/m3/i.test(name)) {
    return { queryPrefix: '为这个句子生成表示以用于检索相关文章：', passagePrefix: '' };
  }
  return { queryPrefix: '', passagePrefix: '' };
}

/** Read and validate a model folder. */
export function inspectEmbeddingModel(dir: string): EmbeddingModelInfo {
  const name = path.basename(dir);
  for (const required of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!fs.existsSync(path.join(dir, required))) {
      throw new FieldbookError('EMBEDDING_MODEL_INVALID', { file: dir, detail: `missing ${required}` });
    }
  }
  const onnx = ONNX_CANDIDATES.find((c) => fs.existsSync(path.join(dir, 'onnx', c.file)));
  if (!onnx) throw new FieldbookError('EMBEDDING_MODEL_INVALID', { file: dir, detail: 'missing onnx/model.onnx' });
  let settings: { queryPrefix?: string; passagePrefix?: string } = {};
  const settingsFile = path.join(dir, 'fieldbook.json');
  if (fs.existsSync(settingsFile)) {
    try {
      settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as typeof settings;
    } catch (err) {
      throw new FieldbookError('EMBEDDING_MODEL_INVALID', { file: settingsFile, detail: (err as Error).message });
    }
  }
  const defaults = defaultPrefixes(name);
  const onnxFile = path.join(dir, 'onnx', onnx.file);
  return {
    name,
    dir,
    onnxFile,
    dtype: onnx.dtype,
    queryPrefix: settings.queryPrefix ?? defaults.queryPrefix,
    passagePrefix: settings.passagePrefix ?? defaults.passagePrefix,
    sizeBytes: fs.statSync(onnxFile).size,
  };
}

/** All valid model folders under the given roots (invalid ones are reported, not thrown). */
export function discoverEmbeddingModels(roots: string[]): {
  models: EmbeddingModelInfo[];
  invalid: Array<{ dir: string; reason: string }>;
} {
  const models: EmbeddingModelInfo[] = [];
  const invalid: Array<{ dir: string; reason: string }> = [];
  for (const root of roots) {
    if (!fs.existsSync(root)) continue;
    for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(root, entry.name);
      try {
        models.push(inspectEmbeddingModel(dir));
      } catch (err) {
        invalid.push({ dir, reason: err instanceof FieldbookError ? (err.detail ?? err.message) : String(err) });
      }
    }
  }
  return { models, invalid };
}

/** Texts per inference call when embedding passages (the bench uses the same for its reference). */
export const EMBED_BATCH = 16;

/** Load a model folder with transformers.js. `id` should carry the weights' hash. */
export async function loadEmbedder(info: EmbeddingModelInfo, id: string): Promise<Embedder> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(info.dir) + path.sep;
  let extractor: FeatureExtractionPipeline;
  try {
    extractor = (await pipeline('feature-extraction', info.name, { dtype: info.dtype })) as FeatureExtractionPipeline;
  } catch (err) {
    throw new FieldbookError('EMBEDDING_MODEL_INVALID', { file: info.dir, detail: (err as Error).message });
  }
  const run = async (texts: string[]): Promise<Float32Array[]> => {
    const out = await extractor(texts, { pooling: 'mean', normalize: true });
    const [rows, dim] = out.dims as [number, number];
    const data = out.data as Float32Array;
    return Array.from({ length: rows }, (_, i) => data.slice(i * dim, (i + 1) * dim));
  };
  const probe = await run(['dimension probe']);
  const dim = (probe[0] as Float32Array).length;
  return {
    id,
    name: info.name,
    dim,
    async embedQuery(text) {
      return (await run([info.queryPrefix + text]))[0] as Float32Array;
    },
    async embedPassages(texts, onProgress) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += EMBED_BATCH) {
        out.push(...(await run(texts.slice(i, i + EMBED_BATCH).map((t) => info.passagePrefix + t))));
        onProgress?.(Math.min(texts.length, i + EMBED_BATCH), texts.length);
      }
      return out;
    },
    async dispose() {
      await extractor.dispose();
    },
  };
}
