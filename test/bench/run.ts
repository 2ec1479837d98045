/**
 * `npm run bench`: speed and memory figures, printed (never asserted).
 *
 *  1. Ingest: PDF pages/s through the real pipeline (parser processes, chunking, keyword index,
 *     no embedding) on ../shared/corpus, with `pdftotext` on the same files as a reference.
 *  2. Embedding chunks/s of each model in models/embedding, beside Python onnxruntime on the same
 *     ONNX file; each GGUF in models/llm through the ask pipeline (time to passages, to first token,
 *     decode tokens/s against the memory-bandwidth bound). `npm run models:fetch` puts real ones there.
 *  3. Search (search-bench.ts): p50/p95 of keyword, vector, hybrid and filtered search at 10k and
 *     100k chunks (eval sentences, random 384-d vectors, eval questions; query embedding excluded),
 *     the vector index's recall@10 on random and real embeddings, LanceDB side by side.
 *
 * Options: --sizes 10000,100000   --queries 200   --skip-ingest   --skip-ocr   --only-ocr
 *          --only-ingest (ingest only)
 *          --only-search (search only; --keep DIR --real-passages 400 --skip-lancedb --skip-real)
 *          --only-models (embedding + LLM only; --skip-embedding)   --embed-texts 256   --llm-questions 2 (per set)   --llm a.gguf,b.gguf
 */
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openFieldbook } from '../../src-main/core/fieldbook';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import {
  discoverEmbeddingModels,
  EMBED_BATCH,
  inspectEmbeddingModel,
  loadEmbedder,
} from '../../src-main/core/embed/embedder';
import { CorpusLine, EvalQueryLine, readJsonl } from '../../src-main/core/eval/eval-kb';
import { discoverLlmModels } from '../../src-main/core/llm/llm-models';
import { corpusDir, evalDir, hasCorpus, repoRoot, samplesDir, tempDir } from '../support/paths';
import { writeTinyEmbedder } from '../support/tiny-embedder';
import { characterErrorRate } from '../support/cer';
import { closeOcr, renderPdfPage } from '../../src-main/core/ingest/ocr';
import { parseDocument } from '../../src-main/core/ingest/parse-file';
import { loadPdfjs } from '../../src-main/core/ingest/pdfjs';
import sharp from 'sharp';
import { tiffPages } from '../support/images';
import { benchOcrScanShapes } from './ocr-scan-shapes';
import { writeTinyGguf } from '../support/tiny-gguf';
import { benchSearch, sentencePool, type SearchBenchOptions } from './search-bench';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const SIZES = (arg('--sizes') ?? '10000,100000').split(',').map(Number);
const QUERIES = Number(arg('--queries') ?? 200);

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

function pdfPages(file: string): number {
  const data = fs.readFileSync(file, 'latin1');
  return (data.match(/\/Type\s*\/Page[^s]/g) ?? []).length;
}

/** One ingest of `pdfs` into a new library: seconds, pages, chunks, failures, main-process RSS growth. */
async function ingestOnce(
  pdfs: string[],
  ocr: boolean,
): Promise<{ seconds: number; pages: number; chunks: number; failed: number; rss: number }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-'));
  const fb = openFieldbook({ home: work, embeddingModelRoots: [] });
  if (!ocr) fb.updateSettings({ ocr: { enabled: false } });
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const report = await fb.ingest.ingest(pdfs);
  const seconds = (performance.now() - t0) / 1000;
  const rss = process.memoryUsage().rss - rssBefore;
  await fb.close();
  fs.rmSync(work, { recursive: true, force: true });
  return {
    seconds,
    pages: report.files.reduce((acc, f) => acc + (f.pages ?? 0), 0),
    chunks: report.files.reduce((acc, f) => acc + (f.chunks ?? 0), 0),
    failed: report.counts.failed,
    rss,
  };
}

async function benchIngest(): Promise<void> {
  if (!hasCorpus) {
    console.log('Ingest: skipped (../shared/corpus not found)');
    return;
  }
  const pdfs = fs
    .readdirSync(corpusDir)
    .filter((f) => f.endsWith('.pdf') && !/scan/.test(f))
    .map((f) => path.join(corpusDir, f));
  console.log('\n## Ingest (parse + chunk + keyword index, no embedding; 2 parser processes)');
  let refSeconds: number | null = null;
  try {
    const r0 = performance.now();
    for (const f of pdfs) {
      execFileSync('pdftotext', ['-layout', f, '-'], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 28 });
    }
    refSeconds = (performance.now() - r0) / 1000;
  } catch {
    console.log('pdftotext reference: not available (install poppler-utils)');
  }
  const refPages = pdfs.reduce((acc, f) => acc + pdfPages(f), 0);
  if (refSeconds !== null) {
    console.log(
      `pdftotext (reference, one process at a time): ${refSeconds.toFixed(2)} s → ${(refPages / refSeconds).toFixed(1)} pages/s`,
    );
  }
  // With OCR (the default: pages without a text layer are read by OCR), then the text layer only (as pdftotext).
  for (const ocr of [true, false]) {
    const r = await ingestOnce(pdfs, ocr);
    const ratio = refSeconds === null ? '' : `; ratio Fieldbook/pdftotext = ${(refSeconds / r.seconds).toFixed(2)}`;
    console.log(
      `Fieldbook${ocr ? ' (OCR on, default)' : ' (OCR off, text layer only)'}: files ${pdfs.length}, pages ${r.pages}, chunks ${r.chunks}, failed ${r.failed}: ` +
        `${r.seconds.toFixed(2)} s → ${(r.pages / r.seconds).toFixed(1)} pages/s${ratio}; main-process RSS growth ${mb(r.rss)}`,
    );
  }
}

/** Embedding throughput: a real model from models/embedding if one is there, else the tiny test model. */
/** Real chunk-sized texts for the embedding figures: eval passages when present, else the sentence pool. */
function embeddingTexts(count: number): string[] {
  const file = path.join(evalDir, 'emanual', 'corpus.jsonl');
  if (!fs.existsSync(file)) return sentencePool().slice(0, count);
  return readJsonl(file, CorpusLine)
    .slice(0, count)
    .map((p) => `${p.title}\n${p.text}`.slice(0, 1000));
}

/** The Python beside the fetched models (numpy, onnxruntime, tokenizers), if `npm run models:fetch` made it. */
function benchPython(): string | null {
  const cache = process.env.FIELDBOOK_MODEL_CACHE ?? path.join(os.homedir(), '.cache', 'fieldbook-models');
  const py = path.join(cache, 'venv', 'bin', 'python');
  return fs.existsSync(py) ? py : null;
}

/**
 * Embedding chunks/s of every model in models/embedding through Fieldbook, beside Python
 * onnxruntime on the same ONNX file with the same texts and batch size (target ≥ 0.9×).
 */
async function benchEmbedding(): Promise<void> {
  const roots = [path.join(repoRoot, 'models', 'embedding')];
  let models = discoverEmbeddingModels(roots).models;
  let tiny = false;
  if (models.length === 0) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-emb-'));
    models = [inspectEmbeddingModel(writeTinyEmbedder(dir, { dim: 384 }).dir)];
    tiny = true;
  }
  const texts = embeddingTexts(Number(arg('--embed-texts') ?? 256));
  const py = benchPython();
  console.log(`\n## Embedding (${texts.length} passages of up to 1,000 characters, batch ${EMBED_BATCH})`);
  if (tiny) console.log('tiny test model, 384-d (generated; run `npm run models:fetch` for real ones)');
  if (!py) console.log('Python onnxruntime column skipped: no venv (run `npm run models:fetch`)');
  for (const info of models) {
    const embedder = await loadEmbedder(info, `${info.name}@bench`);
    const rss0 = process.memoryUsage().rss;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await embedder.embedPassages(texts);
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const ours = texts.length / s;
    // Chunks per CPU-second (every thread of this process): on a shared machine the wall-clock
    // figures of two runs one after the other mostly measure how busy the others were meanwhile.
    const oursCpu = texts.length / ((cpu.user + cpu.system) / 1e6);
    await embedder.dispose();
    let ref = '';
    if (py) {
      try {
        const out = execFileSync(py, [path.join(repoRoot, 'test', 'bench', 'ort_embed.py')], {
          input: JSON.stringify({
            dir: info.dir,
            onnx: info.onnxFile,
            texts,
            batch: EMBED_BATCH,
            prefix: info.passagePrefix,
          }),
          maxBuffer: 1 << 20,
        }).toString();
        const r = JSON.parse(out) as { seconds: number; cpuSeconds: number; chunks: number };
        const theirs = r.chunks / r.seconds;
        const theirsCpu = r.chunks / r.cpuSeconds;
        ref =
          `; Python onnxruntime ${theirs.toFixed(1)} chunks/s → ratio ${(ours / theirs).toFixed(2)} (target ≥ 0.9)` +
          `; per CPU-second ${oursCpu.toFixed(2)} vs ${theirsCpu.toFixed(2)} → ratio ${(oursCpu / theirsCpu).toFixed(2)}`;
      } catch (err) {
        ref = `; Python onnxruntime failed: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    console.log(
      `${info.name} (${path.basename(info.onnxFile)}, ${mb(info.sizeBytes)}): ${ours.toFixed(1)} chunks/s; RSS growth ${mb(process.memoryUsage().rss - rss0)}${ref}`,
    );
  }
}

/** Read bandwidth of this machine: every core sums its share of a 512 MB array, three passes. */
async function memoryBandwidth(): Promise<number> {
  const bytes = 512 * 1048576;
  const shared = new SharedArrayBuffer(bytes);
  new Float64Array(shared).fill(1);
  const workers = os.availableParallelism();
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const a = new Float64Array(workerData.buf, workerData.from * 8, workerData.n);
    let s = 0;
    for (let pass = 0; pass < 3; pass++) for (let i = 0; i < a.length; i += 4) s += a[i] + a[i + 1] + a[i + 2] + a[i + 3];
    parentPort.postMessage(s);`;
  const n = bytes / 8 / workers;
  const t0 = performance.now();
  await Promise.all(
    Array.from(
      { length: workers },
      (_, w) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(code, { eval: true, workerData: { buf: shared, from: w * n, n } });
          worker.once('message', () => void worker.terminate().then(() => resolve()));
          worker.once('error', reject);
        }),
    ),
  );
  return (bytes * 3) / ((performance.now() - t0) / 1000);
}

/**
 * Each GGUF in models/llm through the real ask pipeline on a small knowledge base (emanual and
 * drcd-dev passages, keyword search): time to passages, time to first generated token, prompt and
 * decode speed, decode against the bandwidth bound (model bytes ÷ measured memory bandwidth), and
 * how often a zh-TW answer had to be converted from Simplified Chinese.
 */
async function benchLlm(): Promise<void> {
  const llmRoot = path.join(repoRoot, 'models', 'llm');
  const only = arg('--llm');
  let models = (await discoverLlmModels([llmRoot])).models.filter((m) => !only || only.split(',').includes(m.name));
  let root = llmRoot;
  if (models.length === 0) {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-llm-'));
    writeTinyGguf(path.join(root, 'tiny.gguf'));
    models = (await discoverLlmModels([root])).models;
    console.log('\n## LLM: tiny test GGUF (generated; run `npm run models:fetch` for real ones)');
  }
  const bandwidth = await memoryBandwidth();
  console.log(`\n## LLM answers (memory read bandwidth measured here: ${(bandwidth / 1e9).toFixed(1)} GB/s)`);
  if (!fs.existsSync(path.join(evalDir, 'emanual')) || !fs.existsSync(path.join(evalDir, 'drcd-dev'))) {
    console.log('skipped: ../shared/eval/{emanual,drcd-dev} not found');
    return;
  }
  const perSet = Number(arg('--llm-questions') ?? 2);
  const passages: Array<{ title: string; text: string }> = [];
  const questions: string[] = [];
  for (const set of ['emanual', 'drcd-dev']) {
    const setPassages = readJsonl(path.join(evalDir, set, 'corpus.jsonl'), CorpusLine).slice(0, 100);
    const inKb = new Set(setPassages.map((p) => p.id));
    passages.push(...setPassages);
    questions.push(
      ...readJsonl(path.join(evalDir, set, 'queries.jsonl'), EvalQueryLine)
        .filter((q) => q.gold_ids.some((g) => inKb.has(g)))
        .slice(0, perSet)
        .map((q) => q.question),
    );
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-bench-ask-'));
  const docs = path.join(work, 'docs');
  fs.mkdirSync(docs);
  passages.forEach((p, i) => fs.writeFileSync(path.join(docs, `${i}.md`), `# ${p.title}\n\n${p.text}\n`));
  const fb = openFieldbook({ home: path.join(work, 'home'), embeddingModelRoots: [], llmModelRoots: [root] });
  try {
    await fb.ingest.ingest([docs]);
    // A loaded CPU can need minutes to read the prompt: no fallback to extractive in the bench.
    fb.updateSettings({ answer: { timeoutMs: 3_600_000 } });
    for (const m of models) {
      const t0 = performance.now();
      await fb.useLlmModel(m.name);
      const rows: string[] = [];
      let zh = 0;
      let converted = 0;
      for (const [i, q] of questions.entries()) {
        const start = performance.now();
        let passagesAt: number | null = null;
        let firstAt: number | null = null;
        const r = await fb.answers.ask(q, {
          onPassages: () => (passagesAt ??= performance.now() - start),
          onToken: () => (firstAt ??= performance.now() - start),
        });
        const t = r.timings;
        if (r.language === 'zh-TW' && r.mode === 'generative') {
          zh++;
          if ((t.simplifiedCharsConverted ?? 0) > 0) converted++;
        }
        const ttft = t.timeToFirstTokenMs ?? 0;
        const decodeS = ((t.generationMs ?? 0) - ttft) / 1000;
        const decode = ((t.tokens ?? 1) - 1) / Math.max(decodeS, 1e-3);
        rows.push(
          `  q${i + 1}${i === 0 ? ' (cold: loads the model)' : ''}: passages ${Math.round(passagesAt ?? -1)} ms, first token ${Math.round(firstAt ?? -1)} ms ` +
            `(prompt ${t.contextTokens ?? '?'} context tokens at ${(((t.contextTokens ?? 0) / Math.max(ttft, 1)) * 1000).toFixed(0)} tokens/s), ` +
            `decode ${decode.toFixed(1)} tokens/s over ${t.tokens} tokens, ${r.mode}` +
            (r.language === 'zh-TW' ? `, ${t.simplifiedCharsConverted ?? 0} Simplified characters converted` : ''),
        );
      }
      const bound = bandwidth / m.sizeBytes;
      console.log(
        `${m.name} (${m.quantization ?? '?'}, ${mb(m.sizeBytes)}), ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; bandwidth bound ${bound.toFixed(1)} tokens/s`,
      );
      for (const row of rows) console.log(row);
      console.log(`  zh-TW answers converted from Simplified: ${converted} of ${zh}`);
    }
  } finally {
    await fb.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** OCR: seconds per page and character error rate on the English scan with ground truth. */
async function benchOcr(): Promise<void> {
  const scan = path.join(corpusDir, 'linn_sequencer_brochure_scan.pdf');
  const truthFile = path.join(corpusDir, 'linn_sequencer_brochure_scan.groundtruth.txt');
  if (!fs.existsSync(scan)) {
    console.log('\n## OCR: skipped (../shared/corpus not found)');
    return;
  }
  console.log('\n## OCR (tesseract.js, eng, 200 dpi; includes worker start)');
  const t0 = performance.now();
  const doc = await parseDocument(scan, DEFAULT_SETTINGS.limits, undefined, {
    enabled: true,
    languages: ['eng'],
    dpi: 200,
  });
  const s = (performance.now() - t0) / 1000;
  const cer = characterErrorRate(doc.blocks.map((b) => b.text).join(' '), fs.readFileSync(truthFile, 'utf8'));
  console.log(
    `Linn brochure: ${s.toFixed(1)} s for ${doc.pages} page(s); character error rate ${(cer * 100).toFixed(1)}%`,
  );
  const zh = path.join(corpusDir, 'scanned_book_pages_zh-Hans.pdf');
  if (fs.existsSync(zh)) {
    const t1 = performance.now();
    const book = await parseDocument(zh, DEFAULT_SETTINGS.limits, undefined, {
      enabled: true,
      languages: ['chi_tra'],
      dpi: 200,
    });
    const s1 = (performance.now() - t1) / 1000;
    console.log(
      `Scanned Chinese book (zh-Hans, read with chi_tra; no ground truth): ${(s1 / (book.pages ?? 1)).toFixed(1)} s/page, ${book.blocks.reduce((a, b) => a + b.text.length, 0)} characters`,
    );
  }
  await closeOcr();
}

/**
 * OCR of images: A4 pages of the sample PDFs rendered at 300 dpi (like a scan) and saved as PNG,
 * JPEG and a 2-page CCITT G4 TIFF that records its 300 dpi (read at the 200-dpi OCR setting);
 * seconds per page and character error rate against the PDFs' own text layers.
 */
async function benchOcrImages(): Promise<void> {
  const ocr = { enabled: true, languages: ['eng', 'chi_tra'], dpi: 200 };
  console.log('\n## OCR of images (tesseract.js, eng+chi_tra; A4 pages rendered at 300 dpi)');
  const tmp = tempDir('fieldbook-bench-');
  try {
    const pages: Array<{ label: string; png: Buffer; truth: string }> = [];
    for (const [name, n, label] of [
      ['conveyor-maintenance_en.pdf', 1, 'English'],
      ['plc-fault-reset_zh-TW.pdf', 3, 'zh-TW'],
    ] as const) {
      const file = path.join(samplesDir, name);
      const { getDocument } = await loadPdfjs();
      const pdf = await getDocument({ data: new Uint8Array(fs.readFileSync(file)), isEvalSupported: false }).promise;
      const png = await renderPdfPage(pdf, n, 300);
      await pdf.destroy();
      const layer = await parseDocument(file, DEFAULT_SETTINGS.limits);
      const truth = layer.blocks
        .filter((b) => b.page === n)
        .map((b) => b.text)
        .join('');
      pages.push({ label, png, truth });
    }
    const squash = (t: string): string => t.normalize('NFKC').replace(/\s+/g, '');
    // Start the OCR worker first so the figures are per page.
    fs.writeFileSync(path.join(tmp.dir, 'warm.png'), pages[0]?.png ?? Buffer.alloc(0));
    await parseDocument(path.join(tmp.dir, 'warm.png'), DEFAULT_SETTINGS.limits, undefined, ocr);
    for (const p of pages) {
      for (const [ext, data] of [
        ['png', p.png],
        ['jpg', await sharp(p.png).jpeg({ quality: 85 }).toBuffer()],
      ] as const) {
        const file = path.join(tmp.dir, `${p.label}.${ext}`);
        fs.writeFileSync(file, data);
        const t0 = performance.now();
        const doc = await parseDocument(file, DEFAULT_SETTINGS.limits, undefined, ocr);
        const s = (performance.now() - t0) / 1000;
        const cer = characterErrorRate(squash(doc.blocks.map((b) => b.text).join('')), squash(p.truth));
        console.log(
          `${p.label} ${ext.toUpperCase()} (2480 × 3508 px, ${mb(data.length)}): ${s.toFixed(1)} s; character error rate ${(cer * 100).toFixed(1)}%`,
        );
      }
    }
    const tif = path.join(tmp.dir, 'both.tif');
    fs.writeFileSync(
      tif,
      await tiffPages(
        pages.map((p) => p.png),
        300,
        'ccittfax4',
      ),
    );
    const t0 = performance.now();
    const doc = await parseDocument(tif, DEFAULT_SETTINGS.limits, undefined, ocr);
    const s = (performance.now() - t0) / 1000;
    console.log(`2-page G4 TIFF at 300 dpi, read at 200 dpi: ${(s / (doc.pages ?? 1)).toFixed(1)} s/page`);
  } finally {
    await closeOcr();
    tmp.cleanup();
  }
}

function searchOptions(): SearchBenchOptions {
  const keep = arg('--keep');
  return {
    sizes: SIZES,
    queries: QUERIES,
    ...(keep ? { keep } : {}),
    realPassages: Number(arg('--real-passages') ?? 400),
    lancedb: !args.includes('--skip-lancedb'),
    real: !args.includes('--skip-real'),
  };
}

async function main(): Promise<void> {
  console.log(`# Fieldbook benchmarks — ${new Date().toISOString()}`);
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${mb(os.totalmem())} RAM, Node ${process.version}`,
  );
  if (args.includes('--only-models')) {
    if (!args.includes('--skip-embedding')) await benchEmbedding();
    await benchLlm();
    return;
  }
  if (args.includes('--only-ingest')) {
    await benchIngest();
    return;
  }
  if (args.includes('--only-search')) {
    await benchSearch(searchOptions());
    console.log(`\npeak RSS of the benchmark process: ${mb(process.resourceUsage().maxRSS * 1024)}`);
    return;
  }
  if (args.includes('--only-ocr')) {
    await benchOcr();
    await benchOcrImages();
    await benchOcrScanShapes();
    return;
  }
  if (!args.includes('--skip-ingest')) await benchIngest();
  await benchEmbedding();
  await benchLlm();
  if (!args.includes('--skip-ocr')) {
    await benchOcr();
    await benchOcrImages();
    await benchOcrScanShapes();
  }
  await benchSearch(searchOptions());
  console.log(`\npeak RSS of the benchmark process: ${mb(process.resourceUsage().maxRSS * 1024)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
