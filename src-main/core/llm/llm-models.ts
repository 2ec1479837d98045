/** GGUF models on disk: name, size, quantization and context length read from the file. */
import fs from 'node:fs';
import path from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';

export interface LlmModelInfo {
  name: string;
  file: string;
  sizeBytes: number;
  architecture: string | null;
  quantization: string | null;
  contextLength: number | null;
  parameters: string | null;
}

/** llama.cpp file types (general.file_type) by number, for display. */
const FILE_TYPES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  19: 'IQ2_XXS',
  20: 'IQ2_XS',
  32: 'BF16',
};

export async function inspectLlmModel(file: string): Promise<LlmModelInfo> {
  const info = await readGgufFileInfo(file, { readTensorInfo: false, logWarnings: false });
  const general =
    (info.metadata as { general?: { name?: string; file_type?: number; size_label?: string; architecture?: string } })
      .general ?? {};
  const arch = info.architectureMetadata as { context_length?: number };
  return {
    name: path.basename(file),
    file,
    sizeBytes: fs.statSync(file).size,
    architecture: general.architecture ?? null,
    quantization:
      general.file_type !== undefined ? (FILE_TYPES[general.file_type] ?? `type ${general.file_type}`) : null,
    contextLength: arch.context_length ?? null,
    parameters: general.size_label ?? null,
  };
}

export async function discoverLlmModels(
  roots: string[],
): Promise<{ models: LlmModelInfo[]; invalid: Array<{ file: string; reason: string }> }> {
  const models: LlmModelInfo[] = [];
  const invalid: Array<{ file: string; reason: string }> = [];
  for (const root of roots) {
    if (!fs.existsSync(root)) continue;
    for (const entry of fs.readdirSync(root)) {
      if (!entry.toLowerCase().endsWith('.gguf')) continue;
      const file = path.join(root, entry);
      try {
        models.push(await inspectLlmModel(file));
      } catch (err) {
        invalid.push({ file, reason: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return { models, invalid };
}
