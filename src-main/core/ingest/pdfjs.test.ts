/**
 * Loading pdf.js leaves V8's own Array.prototype.push, JSON and Function.prototype.toString in
 * place (its polyfills would replace them for the whole process) and keeps the additions pdf.js
 * needs on Node 20. Run in a fresh Node process: a test worker may have pdf.js loaded already.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tsxLoaderUrl } from '../util/fork-worker';
import { samplesDir, tempDir } from '../../../test/support/paths';

const loader = pathToFileURL(path.join(import.meta.dirname, 'pdfjs.ts')).href;
const legacyBuild = pathToFileURL(
  path.join(path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'legacy/build/pdf.mjs'),
).href;

/** What a fresh process sees before and after loading pdf.js with `how`. */
function probe(how: 'loadPdfjs' | 'plain import'): {
  kept: Record<string, boolean>;
  withResolvers: boolean;
  text: string;
} {
  const { dir, cleanup } = tempDir();
  try {
    const script = path.join(dir, 'probe.mts');
    const load =
      how === 'loadPdfjs'
        ? `const { loadPdfjs } = await import(${JSON.stringify(loader)}); const pdfjs = await loadPdfjs();`
        : `const pdfjs = await import(${JSON.stringify(legacyBuild)});`;
    fs.writeFileSync(
      script,
      `const before = { push: Array.prototype.push, parse: JSON.parse, stringify: JSON.stringify, toString: Function.prototype.toString };
${load}
const after = { push: Array.prototype.push, parse: JSON.parse, stringify: JSON.stringify, toString: Function.prototype.toString };
const kept = Object.fromEntries(Object.keys(before).map((k) => [k, before[k] === after[k]]));
const fs = await import('node:fs');
const data = new Uint8Array(fs.readFileSync(${JSON.stringify(path.join(samplesDir, 'conveyor-maintenance_en.pdf'))}));
const pdf = await pdfjs.getDocument({ data, isEvalSupported: false, verbosity: 0 }).promise;
const page = await pdf.getPage(1);
const text = (await page.getTextContent()).items.map((i) => ('str' in i ? i.str : '')).join(' ');
await pdf.destroy();
console.log(JSON.stringify({ kept, withResolvers: typeof Promise.withResolvers === 'function', text }));
`,
    );
    const out = execFileSync(process.execPath, ['--import', tsxLoaderUrl(), script], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ReturnType<typeof probe>;
  } finally {
    cleanup();
  }
}

describe('loading pdf.js', () => {
  it('keeps V8 built-ins that pdf.js polyfills would replace, and pdf.js still reads a PDF', () => {
    const loaded = probe('loadPdfjs');
    expect(loaded.kept).toEqual({ push: true, parse: true, stringify: true, toString: true });
    expect(loaded.withResolvers).toBe(true);
    expect(loaded.text).toMatch(/conveyor/i);
  });

  it('is needed: a plain import of the legacy build replaces Array.prototype.push on this Node', () => {
    // If a Node or pdf.js release stops replacing it, the put-back in pdfjs.ts can go.
    const plain = probe('plain import');
    expect(plain.kept.push).toBe(false);
    expect(plain.text).toMatch(/conveyor/i);
  });
});
