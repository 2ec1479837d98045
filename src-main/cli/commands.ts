/**
 * `fieldbook` commands. Every command can print JSON (--json) and returns an exit
 * code a script can rely on: 0 ok, 1 some inputs failed, 2 usage error, 3 fatal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApi } from '../api/handlers';
import { startHttpBridge } from '../api/http-bridge';
import { createAccessSession, createApiKey, DEFAULT_IDLE_MS, revokeApiKey, setPassphrase } from '../core/access/roles';
import { ingestAudit, questionAudit } from '../core/audit/audit-labels';
import { appendAudit, audited, exportAudit, listAudit, reanchorAudit, verifyAudit } from '../core/audit/audit-log';
import { appRoot } from '../core/config';
import { describeError, FieldbookError } from '../core/errors';
import { openFieldbook, type Fieldbook } from '../core/fieldbook';
import { ingestSamples } from '../core/samples';
import type { IngestProgress, IngestReport } from '../core/ingest/ingest-service';
import { DOC_TYPES, isDocType } from '../core/domain';
import type { SearchMode } from '../core/search/search-service';
import type { AnswerRecord } from '../core/store/conversations';
import { getDocument, getDocumentByPath, isSensitivity, listDocuments, storeStats } from '../core/store/documents';
import { BundleUsageError, cmdBundle } from './bundle-command';
import { cmdDataset, cmdFeedback, DatasetUsageError } from './dataset-command';
import { cmdEval, EvalUsageError } from './eval-command';
import { cliActor, cliEntry } from './actor';
import { RollbackUsageError } from './rollback-command';
import { bold, dim, formatError, formatHit, printAnswerDetails, type Output } from './format';
import { PasswordEntryCancelled, readPassword } from './read-password';

export const EXIT = { ok: 0, partial: 1, usage: 2, fatal: 3 } as const;

export class UsageError extends Error {}

export const USAGE = `Fieldbook — offline knowledge assistant

Usage: fieldbook <command> [options]   (from a checkout: npm run fieldbook -- <command> …)

  ingest <paths…>        add or update PDF/DOCX/TXT/MD files, PNG/JPEG/TIFF images (OCR) and folders
      --tag key=value      label documents (repeatable), e.g. --tag line=A
      --sensitivity S      public | internal | confidential | restricted
      --safety             mark the documents as safety rules
      --remove-missing     drop documents whose files are gone from the folders
      --resume             continue the last batch that was cut short
      --password           ask for the password of protected PDFs (hidden prompt, or first line of stdin);
                           used for this run only, never stored or logged
  search "<query>"       search the knowledge base
      -k N                 number of results (default 8)
      --mode M             hybrid | keyword | vector (default hybrid)
      --tag key=value      filter by label (repeatable); --type pdf|docx|txt|md|image; --lang zh-TW
  ask "<question>"       answer with citations (local LLM, or extractive without one)
      --conversation ID    follow-up in an earlier conversation; --tag key=value filters
  docs                   list documents
  remove <id|path…>      remove documents
  stats                  counts and sizes
  models                 list embedding and language models
  models use <name>      approve and activate a model (folder name, or a .gguf file name)
  models off embedding|llm
  reembed                build missing vectors for the active embedding model
  demo                   ingest the sample knowledge base and run sample questions
  serve [--port N]       the desktop UI in a browser, on http://127.0.0.1 only
      --host ADDR --api-keys   serve another address; every request needs X-Api-Key
  audit verify|export|list     check the hash chain and its anchor; export --format jsonl|csv [--out FILE]
    audit reanchor             start a new anchor after a finding was looked into (audited)
  roles set-passphrase reviewer|admin   (passphrase on stdin or FIELDBOOK_PASSPHRASE)
    keys create NAME --role R | keys revoke NAME   API keys for the HTTP bridge
  feedback queue | feedback correct ANSWER_ID "right answer"   review queue: suggested corrections, thumbs-down answers
  feedback review CORRECTION_ID accept|reject|edit "right answer"   decide a suggested correction
  dataset export --out DIR [--format chat|sharegpt|alpaca|dpo] [--sources answers,corrections,generated,preferences]
      [--with-context] [--max-sensitivity internal] [--seed 42] [--split 0.8,0.1,0.1] [--generate N] [--eval-set] [--reset-cursor]
    dataset validate FILE [--format F]   check every line of a training file
  bundle keys generate|trust|untrust|list · bundle verify|stage DIR|FILE.fbbundle
  bundle export --key K --out DIR|FILE.fbbundle [--since N|last] [--with-index] [--model DIR|FILE.gguf]
  bundle review ID · bundle preview ID KEY · bundle approve|reject ID --all|--item KEY --name REVIEWER · bundle apply ID
  bundle rollback --to N | --list   undo USB updates back to version N (the app may stay open;
                         conversations, feedback, settings and local documents are kept)


  eval retrieval --corpus C.jsonl --queries Q.jsonl [--embedding-model DIR] [--limit N]
                         retrieval quality (Recall@1/5/10, MRR@10, nDCG@10) per search mode
  eval answers --corpus C.jsonl --queries Q.jsonl [--unanswerable U.jsonl] [--llm FILE.gguf] [--details OUT.jsonl]
                         answer quality: cited evidence, citation precision, "not found" rate, confidence calibration
  eval answers --procedures test/eval/procedures.jsonl [--corpus-dir ../shared/corpus] [--limit N] [--details OUT.jsonl]
                         procedure answers: step recall, steps in order, safety-condition recall, citation precision
                         with --llm: faithfulness (sentences supported by their cited block), zh-TW conversions;
                         --llm-timeout S and --max-answer-tokens N for slow CPUs
  eval followups --corpus C.jsonl --queries MULTITURN.jsonl [--unrelated Q.jsonl …]
                         follow-up detection: multi-turn retrieval, unrelated questions wrongly joined

Common options: --json (machine-readable output), --home DIR (data directory; or FIELDBOOK_HOME)
`;

function parseTags(values: string[] | undefined): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  const tags: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag expects key=value, got "${v}"`);
    tags[v.slice(0, eq).trim()] = v.slice(eq + 1).trim();
  }
  return tags;
}

function progressPrinter(o: Output, json: boolean): ((p: IngestProgress) => void) | undefined {
  if (json) return undefined;
  const seen = new Set<string>();
  return (p) => {
    if (p.phase === 'parse' && p.file && !seen.has(p.file)) {
      seen.add(p.file);
      o.err(dim(o, `[${p.fileIndex + 1}/${p.fileCount}] ${path.basename(p.file)}`));
    }
  };
}

function printIngestReport(o: Output, report: IngestReport): void {
  for (const f of report.files) {
    if (f.outcome === 'failed' && f.error) o.out(`✗ ${formatError(o, f.error, { detail: false })}`);
    else if (f.outcome === 'unchanged') o.out(dim(o, `= ${f.file} (unchanged)`));
    else {
      const pages = f.pages ? `, ${f.pages} pages` : '';
      o.out(`${f.outcome === 'added' ? '+' : '~'} ${f.file} (${f.chunks} chunks${pages})`);
      for (const w of f.warnings ?? []) o.out(`   ! ${w}`);
    }
  }
  for (const r of report.removed) o.out(`- ${r} (removed)`);
  const c = report.counts;
  o.out(
    bold(
      o,
      `${c.added} added, ${c.updated} updated, ${c.unchanged} unchanged, ${c.removed} removed, ${c.failed} failed`,
    ),
  );
}

/** The --password value: typed at a hidden prompt or piped on stdin, never a command-line argument. */
async function askPassword(): Promise<string> {
  const password = await readPassword('Password for the protected PDFs (not shown): ');
  if (!password) throw new UsageError('--password: no password was entered');
  return password;
}

async function cmdIngest(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  if (args.some((a) => a.startsWith('--password=')))
    throw new UsageError(
      '--password takes no value: the password is asked for (or read from stdin), never typed into the command',
    );
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tag: { type: 'string', multiple: true },
      sensitivity: { type: 'string' },
      safety: { type: 'boolean' },
      'remove-missing': { type: 'boolean' },
      resume: { type: 'boolean' },
      password: { type: 'boolean' },
    },
  });
  if (values.password && values.resume) throw new UsageError('--password goes with new files, not with --resume');
  const onProgress = progressPrinter(o, json);
  let report: IngestReport | null;
  if (values.resume) {
    report = await fb.ingest.resume(onProgress);
    if (!report) {
      if (json) o.out(JSON.stringify({ resumed: false }));
      else o.out('Nothing to resume: the last batch finished.');
      return EXIT.ok;
    }
    const entry = ingestAudit(fb.db, [`job ${report.jobId} (resumed)`], {}, report);
    appendAudit(fb.db, cliEntry('ingest', entry.target, entry.detail), new Date());
  } else {
    if (positionals.length === 0) throw new UsageError('ingest needs at least one file or folder');
    const sensitivity = values.sensitivity;
    if (sensitivity !== undefined && !isSensitivity(sensitivity)) {
      throw new UsageError(`--sensitivity must be public, internal, confidential or restricted`);
    }
    const opts: Parameters<Fieldbook['ingest']['ingest']>[1] = {};
    const tags = parseTags(values.tag);
    if (tags) opts.tags = tags;
    if (sensitivity) opts.sensitivity = sensitivity;
    if (values.safety) opts.isSafety = true;
    if (values['remove-missing']) opts.removeMissing = true;
    if (values.password) opts.password = await askPassword();
    // Ctrl+C stops after the current file; the rest stays pending for --resume.
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      report = await fb.ingest.ingest(positionals, opts, onProgress, controller.signal);
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    const entry = ingestAudit(
      fb.db,
      positionals.map((p) => path.resolve(p)),
      opts,
      report,
    );
    appendAudit(fb.db, cliEntry('ingest', entry.target, entry.detail), new Date());
  }
  if (json) o.out(JSON.stringify(report));
  else printIngestReport(o, report);
  return report.counts.failed > 0 ? EXIT.partial : EXIT.ok;
}

/** The question entry, as the app writes it (when questions are audited; restricted text stays out). */
function auditQuestion(fb: Fieldbook, question: string, res: AnswerRecord): void {
  if (!fb.settings().answer.auditQuestions) return;
  const entry = questionAudit(fb.db, question, res);
  appendAudit(fb.db, cliEntry('question', entry.target, entry.detail), new Date());
}

async function cmdAsk(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      conversation: { type: 'string' },
      tag: { type: 'string', multiple: true },
    },
  });
  const question = positionals.join(' ').trim();
  if (!question) throw new UsageError('ask needs a question, e.g. fieldbook ask "E-203 怎麼復位？"');
  const askOpts: Parameters<Fieldbook['answers']['ask']>[1] = {};
  if (values.conversation !== undefined) {
    const id = Number(values.conversation);
    if (!Number.isInteger(id) || id < 1) throw new UsageError('--conversation expects a conversation id');
    askOpts.conversationId = id;
  }
  const tags = parseTags(values.tag);
  if (tags) askOpts.filters = { tags };
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  askOpts.signal = controller.signal;
  if (!json) askOpts.onToken = (t) => process.stdout.write(t);
  try {
    const res = await fb.answers.ask(question, askOpts);
    auditQuestion(fb, question, res);
    if (json) {
      o.out(JSON.stringify(res));
      return EXIT.ok;
    }
    process.stdout.write('\n');
    printAnswerDetails(o, res);
    return EXIT.ok;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function cmdSearch(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      k: { type: 'string', short: 'k' },
      mode: { type: 'string' },
      tag: { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      lang: { type: 'string', multiple: true },
    },
  });
  const query = positionals.join(' ').trim();
  if (!query) throw new UsageError('search needs a query, e.g. fieldbook search "E-203 復位"');
  const k = values.k !== undefined ? Number(values.k) : undefined;
  if (k !== undefined && (!Number.isInteger(k) || k < 1)) throw new UsageError('-k must be a positive whole number');
  const mode = values.mode ?? 'hybrid';
  if (!['hybrid', 'keyword', 'vector'].includes(mode)) throw new UsageError('--mode must be hybrid, keyword or vector');
  const filters: NonNullable<Parameters<Fieldbook['search']['search']>[1]>['filters'] = {};
  const tags = parseTags(values.tag);
  if (tags) filters.tags = tags;
  if (values.type?.length) {
    const bad = values.type.find((t) => !isDocType(t));
    if (bad !== undefined) throw new UsageError(`--type must be one of ${DOC_TYPES.join(', ')} (got "${bad}")`);
    filters.types = values.type.filter(isDocType);
  }
  if (values.lang?.length) filters.languages = values.lang;
  const res = await fb.search.search(query, { mode: mode as SearchMode, filters, ...(k !== undefined ? { k } : {}) });
  if (json) {
    o.out(JSON.stringify(res));
    return EXIT.ok;
  }
  o.out(dim(o, `mode: ${res.mode}${res.notice ? ` — ${res.notice}` : ''}`));
  if (res.hits.length === 0) o.out('No matching passages in the knowledge base.');
  for (const hit of res.hits) for (const line of formatHit(o, hit)) o.out(line);
  return EXIT.ok;
}

function cmdDocs(fb: Fieldbook, o: Output, json: boolean): number {
  const docs = listDocuments(fb.db);
  const failures = fb.db
    .prepare('SELECT source_path, code, detail, failed_at FROM ingest_failures ORDER BY source_path')
    .all();
  if (json) {
    o.out(JSON.stringify({ documents: docs, failures }));
    return EXIT.ok;
  }
  if (docs.length === 0) o.out('The knowledge base is empty. Add documents with: fieldbook ingest <folder>');
  for (const d of docs) {
    const tags = Object.entries(d.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    o.out(
      `${String(d.id).padStart(4)}  ${bold(o, d.title)}  ${d.type}${d.pages ? ` ${d.pages}p` : ''}  ${d.chunkCount} chunks  ${d.language}  ${d.sensitivity}${d.isSafety ? '  SAFETY' : ''}  v${d.version}${tags ? `  ${tags}` : ''}`,
    );
    o.out(dim(o, `      ${d.sourcePath}`));
  }
  return EXIT.ok;
}

function cmdRemove(fb: Fieldbook, args: string[], o: Output, json: boolean): number {
  if (args.length === 0) throw new UsageError('remove needs a document id or path (see fieldbook docs)');
  const removed: string[] = [];
  const missing: string[] = [];
  for (const a of args) {
    const doc = /^\d+$/.test(a) ? getDocument(fb.db, Number(a)) : getDocumentByPath(fb.db, path.resolve(a));
    if (!doc) {
      missing.push(a);
      continue;
    }
    audited(
      fb.db,
      () => fb.ingest.removeDocument(doc.id),
      () =>
        cliEntry('document.delete', doc.sourcePath, {
          title: doc.title,
          version: doc.version,
          sensitivity: doc.sensitivity,
        }),
      new Date(),
    );
    removed.push(doc.sourcePath);
  }
  if (json) o.out(JSON.stringify({ removed, missing }));
  else {
    for (const r of removed) o.out(`- ${r}`);
    for (const m of missing)
      o.out(`✗ ${formatError(o, describeError(new FieldbookError('DOCUMENT_NOT_FOUND', { detail: m })))}`);
  }
  return missing.length ? EXIT.partial : EXIT.ok;
}

async function cmdStats(fb: Fieldbook, o: Output, json: boolean): Promise<number> {
  const stats = storeStats(fb.db);
  const dbFile = path.join(fb.home, 'fieldbook.db');
  const sizeBytes = fs.existsSync(dbFile) ? fs.statSync(dbFile).size : 0;
  const embedding = await fb.embeddingStatus();
  const searchMode = embedding.active ? 'hybrid (keyword + vector)' : 'keyword-only (no embedding model active)';
  if (json) {
    o.out(
      JSON.stringify({
        ...stats,
        databaseBytes: sizeBytes,
        home: fb.home,
        embeddingModel: embedding.active,
        searchMode,
      }),
    );
    return EXIT.ok;
  }
  o.out(`Data directory: ${fb.home}`);
  o.out(
    `Documents: ${stats.documents} (${
      Object.entries(stats.byType)
        .map(([t, n]) => `${n} ${t}`)
        .join(', ') || 'none'
    }), pages: ${stats.pages}`,
  );
  o.out(`Chunks: ${stats.chunks}, with vectors: ${stats.embeddedChunks}`);
  o.out(`Files that failed: ${stats.failures}`);
  o.out(`Database: ${(sizeBytes / 1048576).toFixed(2)} MB`);
  o.out(`Search mode: ${searchMode}${embedding.problem ? ` — ${embedding.problem}` : ''}`);
  return EXIT.ok;
}

async function cmdModels(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  const [action, name] = args;
  if (action === 'use') {
    if (!name) throw new UsageError('models use needs an embedding model folder name or a .gguf file name');
    if (name.toLowerCase().endsWith('.gguf')) {
      const status = await fb.useLlmModel(name);
      appendAudit(fb.db, cliEntry('model.approve', name, { kind: 'llm' }), new Date());
      o.out(json ? JSON.stringify(status) : `Active language model: ${status.active}`);
    } else {
      const status = await fb.useEmbeddingModel(name);
      appendAudit(fb.db, cliEntry('model.approve', name, { kind: 'embedding' }), new Date());
      const n = await fb.ingest.embedMissing();
      o.out(
        json
          ? JSON.stringify({ ...status, embedded: n })
          : `Active embedding model: ${status.active ?? 'none'} (${n} chunks embedded)`,
      );
    }
    return EXIT.ok;
  }
  if (action === 'off') {
    if (name === 'llm') await fb.useLlmModel(null);
    else if (name === 'embedding') await fb.useEmbeddingModel(null);
    else throw new UsageError('models off needs "embedding" or "llm"');
    appendAudit(fb.db, cliEntry('settings.change', null, { patch: { [name]: null } }), new Date());
    o.out(
      json
        ? JSON.stringify({ off: name })
        : name === 'llm'
          ? 'Language model off: answers are extractive.'
          : 'Embedding model off: search is keyword-only.',
    );
    return EXIT.ok;
  }
  if (action !== undefined && action !== 'list') throw new UsageError(`unknown models action "${action}"`);
  const embedding = await fb.embeddingStatus();
  const llm = await fb.llmStatus();
  if (json) {
    o.out(JSON.stringify({ embedding, llm }));
    return EXIT.ok;
  }
  o.out(bold(o, `Embedding model: ${embedding.active ?? 'none — search is keyword-only'}`));
  if (embedding.problem) o.out(`  problem: ${embedding.problem}`);
  for (const m of embedding.available)
    o.out(`  ${m.name}  ${(m.sizeBytes / 1048576).toFixed(1)} MB  ${m.dtype}  ${m.dir}`);
  for (const m of embedding.invalid) o.out(`  ✗ ${m.dir}: ${m.reason}`);
  o.out(bold(o, `Language model: ${llm.active ?? 'none — answers are extractive'}`));
  if (llm.problem) o.out(`  problem: ${llm.problem}`);
  for (const m of llm.available) {
    o.out(
      `  ${m.name}  ${(m.sizeBytes / 1048576).toFixed(1)} MB  ${m.quantization ?? '?'}  ctx ${m.contextLength ?? '?'}  ${m.parameters ?? ''}`,
    );
  }
  for (const m of llm.invalid) o.out(`  ✗ ${m.file}: ${m.reason}`);
  if (embedding.available.length + llm.available.length === 0)
    o.out('No models found. See models/README.md for where to put them.');
  return EXIT.ok;
}

export const DEMO_QUESTIONS = [
  'E-203 伺服過載如何復位？',
  '復位',
  'How do I lock out the conveyor before maintenance?',
  'F0001',
  '6ES7 214-1AG40-0XB0',
  '高壓電作業前要做什麼？',
];

async function cmdDemo(fb: Fieldbook, o: Output, json: boolean): Promise<number> {
  const samples = path.join(appRoot(), 'resources', 'samples');
  if (!json) o.out(bold(o, `Ingesting the sample knowledge base into ${fb.home}`));
  const ingested = await ingestSamples(fb, samples, ({ file, options, report }) => {
    const audit = ingestAudit(fb.db, [file], options, report);
    appendAudit(fb.db, cliEntry('ingest', audit.target, audit.detail), new Date());
    if (!json) printIngestReport(o, report);
  });
  const reports = ingested.map((i) => i.report);
  const answers = [];
  for (const q of DEMO_QUESTIONS) {
    const res = await fb.answers.ask(q);
    auditQuestion(fb, q, res);
    answers.push(res);
    if (!json) {
      o.out('');
      o.out(bold(o, `Q: ${q}`));
      o.out(res.answer);
      printAnswerDetails(o, res);
    }
  }
  if (json) o.out(JSON.stringify({ ingest: reports, questions: answers }));
  const failed = reports.some((r) => r.counts.failed > 0);
  return failed ? EXIT.partial : EXIT.ok;
}

async function cmdServe(fb: Fieldbook, args: string[], o: Output): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' }, 'api-keys': { type: 'boolean' } },
  });
  const port = values.port !== undefined ? Number(values.port) : 5179;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0–65535');
  const loopback = values.host === undefined || ['127.0.0.1', 'localhost', '::1'].includes(values.host);
  if (!loopback && !values['api-keys']) {
    throw new UsageError(
      'binding to an address other than 127.0.0.1 needs --api-keys (create one: fieldbook keys create NAME --role reader)',
    );
  }
  const api = createApi(fb, { transport: 'http' });
  const session = createAccessSession({
    db: fb.db,
    actor: os.userInfo().username,
    idleMs: DEFAULT_IDLE_MS,
    now: () => new Date(),
  });
  const bridge = await startHttpBridge(api, {
    port,
    staticDir: path.join(appRoot(), 'out', 'renderer'),
    db: fb.db,
    session,
    ...(values.host ? { host: values.host } : {}),
    requireApiKeys: values['api-keys'] === true,
  });
  // Without API keys the address carries this launch's UI secret: only who has it is the UI session.
  o.out(`Fieldbook is running at ${bridge.uiUrl} (data: ${fb.home}). Press Ctrl+C to stop.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await bridge.close();
  return EXIT.ok;
}

/** The CLI runs with the rights of whoever can open the data folder: it acts as admin and says so in the audit log. */

async function cmdAudit(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, out: { type: 'string' }, action: { type: 'string' } },
  });
  const [action] = positionals;
  if (action === 'verify') {
    const v = verifyAudit(fb.db);
    if (json) o.out(JSON.stringify(v));
    else if (v.ok)
      o.out(
        `Audit log intact: ${v.entries} entries, hash chain verified` +
          (v.anchor
            ? `, head matches its anchor (${v.anchor.entries} entries on ${v.anchor.at}). Head ${v.head}.`
            : `. Head ${v.head}.`),
      );
    else o.out(`✗ Audit log tampered: entry ${v.firstBadId ?? '?'} — ${v.reason}.`);
    return v.ok ? EXIT.ok : EXIT.partial;
  }
  if (action === 'reanchor') {
    // After a finding was looked into: a new anchor from the log as it stands, with an entry saying what was found.
    const v = reanchorAudit(fb.db, cliActor(), new Date());
    o.out(json ? JSON.stringify(v) : `New audit anchor: ${v.entries} entries, head ${v.head}.`);
    return v.ok ? EXIT.ok : EXIT.partial;
  }
  if (action === 'export') {
    const format = values.format ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format must be jsonl or csv');
    const text = exportAudit(fb.db, format, values.action ? { action: values.action } : {});
    if (values.out) fs.writeFileSync(values.out, text);
    else process.stdout.write(text);
    return EXIT.ok;
  }
  if (action === undefined || action === 'list') {
    const entries = listAudit(fb.db, { limit: 50, ...(values.action ? { action: values.action } : {}) });
    if (json) o.out(JSON.stringify(entries));
    else
      for (const e of entries)
        o.out(`${String(e.id).padStart(5)}  ${e.at}  ${e.role.padEnd(8)} ${e.actor}  ${e.action}  ${e.target ?? ''}`);
    return EXIT.ok;
  }
  throw new UsageError('audit needs verify, export, list or reanchor');
}

async function readSecret(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.FIELDBOOK_PASSPHRASE) return env.FIELDBOOK_PASSPHRASE;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

async function cmdRoles(fb: Fieldbook, args: string[], o: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const [action, role] = args;
  if (action !== 'set-passphrase' || (role !== 'reviewer' && role !== 'admin')) {
    throw new UsageError(
      'usage: fieldbook roles set-passphrase reviewer|admin   (passphrase on stdin or FIELDBOOK_PASSPHRASE)',
    );
  }
  setPassphrase(fb.db, role, await readSecret(env), new Date());
  appendAudit(fb.db, cliEntry('role.passphrase', role), new Date());
  o.out(`Passphrase for ${role} set.`);
  return EXIT.ok;
}

function cmdKeys(fb: Fieldbook, args: string[], o: Output, json: boolean): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { role: { type: 'string' } } });
  const [action, name] = positionals;
  if (action === 'create' && name) {
    const role = values.role ?? 'reader';
    if (role !== 'reader' && role !== 'reviewer' && role !== 'admin')
      throw new UsageError('--role must be reader, reviewer or admin');
    const key = createApiKey(fb.db, name, role, new Date());
    appendAudit(fb.db, cliEntry('apikey.create', name, { role }), new Date());
    o.out(
      json
        ? JSON.stringify({ name, role, key })
        : `API key for "${name}" (${role}) — shown once, store it safely:\n${key}`,
    );
    return EXIT.ok;
  }
  if (action === 'revoke' && name) {
    const ok = revokeApiKey(fb.db, name, new Date());
    if (ok) appendAudit(fb.db, cliEntry('apikey.revoke', name), new Date());
    o.out(ok ? `Key "${name}" revoked.` : `No active key named "${name}".`);
    return ok ? EXIT.ok : EXIT.partial;
  }
  throw new UsageError('usage: fieldbook keys create NAME --role reader|reviewer|admin | keys revoke NAME');
}

export async function runCli(argv: string[], o: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const json = argv.includes('--json');
  let home: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--json') continue;
    if (a === '--home') {
      home = argv[++i];
      continue;
    }
    rest.push(a);
  }
  const [command, ...args] = rest;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    o.out(USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  const known = [
    'ingest',
    'search',
    'ask',
    'docs',
    'remove',
    'stats',
    'models',
    'reembed',
    'demo',
    'eval',
    'serve',
    'audit',
    'roles',
    'keys',
    'dataset',
    'feedback',
    'bundle',
  ];
  if (!known.includes(command)) {
    o.err(`Unknown command "${command}".\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (command === 'eval') {
    // Evaluation works in its own throwaway data directory.
    try {
      return await cmdEval(args, o, json);
    } catch (err) {
      return reportFailure(err, o, json);
    }
  }
  if (command === 'demo' && !home && !env.FIELDBOOK_HOME) home = path.join(appRoot(), '.fieldbook-demo');
  let fb: Fieldbook | null = null;
  try {
    fb = openFieldbook(home ? { home: path.resolve(home) } : {});
    switch (command) {
      case 'ingest':
        return await cmdIngest(fb, args, o, json);
      case 'search':
        return await cmdSearch(fb, args, o, json);
      case 'ask':
        return await cmdAsk(fb, args, o, json);
      case 'docs':
        return cmdDocs(fb, o, json);
      case 'remove':
        return cmdRemove(fb, args, o, json);
      case 'stats':
        return await cmdStats(fb, o, json);
      case 'models':
        return await cmdModels(fb, args, o, json);
      case 'serve':
        return await cmdServe(fb, args, o);
      case 'audit':
        return await cmdAudit(fb, args, o, json);
      case 'roles':
        return await cmdRoles(fb, args, o, env);
      case 'keys':
        return cmdKeys(fb, args, o, json);
      case 'dataset':
        return await cmdDataset(fb, args, o, json);
      case 'bundle':
        return await cmdBundle(fb, args, o, json);
      case 'feedback':
        return await cmdFeedback(fb, args, o, json);
      case 'reembed': {
        const n = await fb.ingest.embedMissing();
        if (n > 0) appendAudit(fb.db, cliEntry('document.reindex', null, { embedded: n }), new Date());
        o.out(json ? JSON.stringify({ embedded: n }) : `${n} chunks embedded.`);
        return EXIT.ok;
      }
      default:
        return await cmdDemo(fb, o, json);
    }
  } catch (err) {
    return reportFailure(err, o, json);
  } finally {
    await fb?.close();
  }
}

function reportFailure(err: unknown, o: Output, json: boolean): number {
  if (
    err instanceof UsageError ||
    err instanceof EvalUsageError ||
    err instanceof DatasetUsageError ||
    err instanceof BundleUsageError ||
    err instanceof RollbackUsageError ||
    err instanceof PasswordEntryCancelled ||
    (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    o.err(`${(err as Error).message}\n\nRun "fieldbook help" for usage.`);
    return EXIT.usage;
  }
  const report = describeError(err);
  if (json) o.out(JSON.stringify({ error: report }));
  else o.err(`✗ ${formatError(o, report)}`);
  return EXIT.fatal;
}
