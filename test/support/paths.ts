/** Where tests find the shared corpus/eval data and make throwaway folders. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.FIELDBOOK_SHARED ?? path.resolve(repoRoot, '..', 'shared');
export const corpusDir = path.join(sharedDir, 'corpus');
export const evalDir = path.join(sharedDir, 'eval');
export const samplesDir = path.join(repoRoot, 'resources', 'samples');
export const hasCorpus = fs.existsSync(corpusDir);
export const hasEval = fs.existsSync(evalDir);

export function corpusFile(name: string): string {
  return path.join(corpusDir, name);
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix = 'fieldbook-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
