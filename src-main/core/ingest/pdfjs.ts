/**
 * pdf.js for the parser process: the one place that loads it (ESLint keeps value imports of
 * pdfjs-dist here; type imports are free), once, on first use.
 *
 * The legacy build (the one that runs on Node 20) brings core-js polyfills. Most add what Node
 * lacks (Promise.withResolvers, Uint8Array.prototype.toBase64, …) and stay. A few replace a
 * complete V8 built-in for the whole process with a JavaScript version, for corner cases pdf.js
 * never meets: Array.prototype.push (arrays with a read-only length or a length past 2^53−1),
 * JSON.parse/stringify (the source-text-access and raw-JSON proposals) and
 * Function.prototype.toString. pdf.js calls push once per glyph: the JavaScript push cost ~10 % of
 * the parse time of the shared corpus (2.97 → 2.69 s for 279 pages). Those built-ins are put
 * back after loading.
 *
 * The worker module is loaded here as well: on Node pdf.js runs its "worker" in this thread and
 * would otherwise import it during the first document.
 */
type PdfjsModule = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

/** Built-ins the polyfills replace although V8's own are complete for everything pdf.js does. */
const NATIVE_KEPT: ReadonlyArray<readonly [object, PropertyKey]> = [
  [Array.prototype, 'push'],
  [JSON, 'parse'],
  [JSON, 'stringify'],
  [Function.prototype, 'toString'],
];

let loading: Promise<PdfjsModule> | null = null;

async function load(): Promise<PdfjsModule> {
  const natives = NATIVE_KEPT.map(([owner, key]) => [owner, key, Object.getOwnPropertyDescriptor(owner, key)] as const);
  try {
    const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
    // Sets globalThis.pdfjsWorker, which pdf.js uses instead of importing the worker itself.
    await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
    return pdfjs;
  } finally {
    for (const [owner, key, descriptor] of natives) {
      if (descriptor && Object.getOwnPropertyDescriptor(owner, key)?.value !== descriptor.value) {
        Object.defineProperty(owner, key, descriptor);
      }
    }
  }
}

/** The pdf.js API (legacy build), loaded on the first call. */
export function loadPdfjs(): Promise<PdfjsModule> {
  loading ??= load();
  return loading;
}
