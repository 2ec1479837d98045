/**
 * The one place where Fieldbook's services are composed. The CLI, the HTTP bridge,
 * the Electron main process and the tests all start here.
 */
import path from 'node:path';
import { createAnswerService, type AnswerService } from './answer/answer-service';
import { SYSTEM_PROMPT } from './answer/prompt';
import { ensureAuditAnchor } from './audit/audit-log';
import { appRoot, defaultHome, type AnswerSettings, type Settings } from './config';
import { discoverEmbeddingModels, loadEmbedder, type Embedder, type EmbeddingModelInfo } from './embed/embedder';
import { FieldbookError } from './errors';
import { createIngestService, type IngestService } from './ingest/ingest-service';
import { createParserPool, type ParserPool, type ParserSpawner } from './ingest/parser-pool';
import { defaultThreads, startLlm, type Generator, type LlmSpawner } from './llm/llm-client';
import { discoverLlmModels, type LlmModelInfo } from './llm/llm-models';
import { approveModelFile, verifyModelFile } from './models/approvals';
import { createSearchService, type SearchService } from './search/search-service';
import { openStore, type Db } from './store/db';
import { buildVectorIndex, type IndexBuildProgress } from './store/vectors';
import { loadSettings, saveSettings, type SettingsPatch } from './store/settings';
import { finishAppliedBundles, type FinishReport } from './sync/bundle-files';

export interface FieldbookOptions {
  /** Data directory (default: FIELDBOOK_HOME or the per-user app data folder). */
  home?: string;
  /** Extra folders holding embedding model directories (default: <app>/models/embedding and <home>/models/embedding). */
  embeddingModelRoots?: string[];
  /** How parser processes are started (child_process by default; utilityProcess in Electron). */
  spawnParser?: ParserSpawner;
  parserCount?: number;
  /** Folders holding .gguf files (default: <app>/models/llm and <home>/models/llm). */
  llmModelRoots?: string[];
  /** How the LLM process is started (child_process by default; utilityProcess in Electron). */
  spawnLlm?: LlmSpawner;
  /** Replace the LLM entirely (tests use a deterministic generator behind the same interface). */
  createGenerator?: (model: LlmModelInfo, settings: AnswerSettings) => Promise<Generator>;
  now?: () => Date;
  /** Progress of rebuilding the vector index from the kept floats after an upgrade (vectors.ts buildVectorIndex). */
  onVectorIndexProgress?: (p: IndexBuildProgress) => void;
}

export interface LlmStatus {
  active: string | null;
  loaded: boolean;
  problem: string | null;
  available: LlmModelInfo[];
  invalid: Array<{ file: string; reason: string }>;
}

export interface EmbeddingStatus {
  active: string | null;
  /** Why the configured model is not in use, if it is not. */
  problem: string | null;
  available: EmbeddingModelInfo[];
  invalid: Array<{ dir: string; reason: string }>;
}

export interface Fieldbook {
  home: string;
  db: Db;
  ingest: IngestService;
  search: SearchService;
  answers: AnswerService;
  /** The parser processes (started on first use). */
  parsers(): ParserPool;
  settings(): Settings;
  /** The active LLM (started on first use and kept loaded), or null for extractive answers. */
  generator(): Promise<Generator | null>;
  llmStatus(): Promise<LlmStatus>;
  /** Approve a GGUF file (records its SHA-256) and make it the active LLM; null turns answers extractive. */
  useLlmModel(name: string | null): Promise<LlmStatus>;
  unloadLlm(): Promise<void>;
  updateSettings(patch: SettingsPatch): Settings;
  embedder(): Promise<Embedder | null>;
  embeddingStatus(): Promise<EmbeddingStatus>;
  /** Approve a model folder (records its weights' SHA-256) and make it the active embedding model. */
  useEmbeddingModel(name: string | null): Promise<EmbeddingStatus>;
  /** Drop the loaded models; the next use loads them again and checks their approval (after a rollback). */
  unloadModels(): Promise<void>;
  recoveredFromUncleanExit: boolean;
  /** Files of applied bundles that a crash after the commit left unwritten, finished on opening. */
  bundleFilesFinished: FinishReport;
  close(): Promise<void>;
}

export function openFieldbook(opts: FieldbookOptions = {}): Fieldbook {
  const home = opts.home ?? defaultHome();
  const store = openStore(home);
  const { db } = store;
  const bundleFilesFinished = finishAppliedBundles(db, home);
  // An older database's vector index is rebuilt from its float vectors (no re-embedding), once.
  buildVectorIndex(db, opts.onVectorIndexProgress);
  const now = opts.now ?? (() => new Date());
  // The audit log's anchor outside the database: created for a new or older database, moved to the committed head.
  ensureAuditAnchor(db, now());
  const roots = opts.embeddingModelRoots ?? [
    path.join(appRoot(), 'models', 'embedding'),
    path.join(home, 'models', 'embedding'),
  ];
  let settings = loadSettings(db);
  let parser: ParserPool | null = null;
  const parserPool = (): ParserPool => {
    parser ??= createParserPool({
      size: opts.parserCount ?? 2,
      memoryMb: settings.limits.parserMemoryMb,
      ...(opts.spawnParser ? { spawn: opts.spawnParser } : {}),
    });
    return parser;
  };
  const llmRoots = opts.llmModelRoots ?? [path.join(appRoot(), 'models', 'llm'), path.join(home, 'models', 'llm')];
  let llm: { name: string; generator: Promise<Generator> } | null = null;
  let llmProblem: string | null = null;

  const generator = async (): Promise<Generator | null> => {
    const name = settings.answer.llmModel;
    if (!name) return null;
    if (llm?.name !== name) {
      await unloadLlm();
      const model = (await discoverLlmModels(llmRoots)).models.find((m) => m.name === name);
      if (!model) {
        llmProblem = `Language model "${name}" not found in ${llmRoots.join(', ')}: extractive answers.`;
        return null;
      }
      const answerSettings = settings.answer;
      const start = verifyModelFile(db, 'llm', model.name, model.file).then(() =>
        opts.createGenerator
          ? opts.createGenerator(model, answerSettings)
          : startLlm({
              name: model.name,
              modelPath: model.file,
              contextSize: Math.min(answerSettings.contextSize, model.contextLength ?? answerSettings.contextSize),
              threads: defaultThreads(),
              systemPrompt: SYSTEM_PROMPT,
              ...(opts.spawnLlm ? { spawn: opts.spawnLlm } : {}),
            }),
      );
      llm = { name, generator: start };
    }
    try {
      const g = await llm.generator;
      llmProblem = null;
      return g;
    } catch (err) {
      llm = null;
      llmProblem = err instanceof Error ? err.message : String(err);
      throw err;
    }
  };

  async function unloadLlm(): Promise<void> {
    const current = llm;
    llm = null;
    if (current) await current.generator.then((g) => g.dispose()).catch(() => undefined);
  }

  const llmStatus = async (): Promise<LlmStatus> => {
    const found = await discoverLlmModels(llmRoots);
    return {
      active: settings.answer.llmModel,
      loaded: llm !== null,
      problem: llmProblem,
      available: found.models,
      invalid: found.invalid,
    };
  };

  let loaded: { name: string; embedder: Promise<Embedder> } | null = null;
  let embedderProblem: string | null = null;

  const findModel = (name: string): EmbeddingModelInfo | undefined =>
    discoverEmbeddingModels(roots).models.find((m) => m.name === name);

  const embedder = async (): Promise<Embedder | null> => {
    const name = settings.embeddingModel;
    if (!name) return null;
    if (loaded?.name !== name) {
      const info = findModel(name);
      if (!info) {
        embedderProblem = `Embedding model "${name}" not found in ${roots.join(', ')}`;
        return null;
      }
      const promise = verifyModelFile(db, 'embedding', info.name, info.onnxFile).then((sha) =>
        loadEmbedder(info, `${info.name}@${sha.slice(0, 16)}`),
      );
      loaded = { name, embedder: promise };
    }
    try {
      const e = await loaded.embedder;
      embedderProblem = null;
      return e;
    } catch (err) {
      embedderProblem = err instanceof Error ? err.message : String(err);
      loaded = null;
      return null;
    }
  };

  const embeddingStatus = async (): Promise<EmbeddingStatus> => {
    const e = await embedder();
    const found = discoverEmbeddingModels(roots);
    return { active: e?.name ?? null, problem: embedderProblem, available: found.models, invalid: found.invalid };
  };

  const ingest = createIngestService({
    db,
    parser: {
      parse: (...args) => parserPool().parse(...args),
      close: () => parser?.close(),
    },
    getEmbedder: embedder,
    limits: () => settings.limits,
    chunking: () => settings.chunk,
    ocr: () => settings.ocr,
    now,
  });
  const search = createSearchService({ db, getEmbedder: embedder, settings: () => settings.search });
  const answers = createAnswerService({ db, search, getGenerator: generator, settings: () => settings.answer, now });

  return {
    home,
    db,
    ingest,
    search,
    answers,
    parsers: parserPool,
    generator,
    llmStatus,
    unloadLlm,
    async useLlmModel(name) {
      if (name !== null) {
        const model = (await discoverLlmModels(llmRoots)).models.find((m) => m.name === name);
        if (!model)
          throw new FieldbookError('LLM_LOAD_FAILED', {
            detail: `no .gguf file named "${name}" in ${llmRoots.join(', ')}`,
          });
        await approveModelFile(db, 'llm', model.name, model.file, now());
      }
      await unloadLlm();
      settings = saveSettings(db, { answer: { llmModel: name } });
      return llmStatus();
    },
    recoveredFromUncleanExit: store.recoveredFromUncleanExit,
    bundleFilesFinished,
    settings: () => settings,
    updateSettings(patch) {
      settings = saveSettings(db, patch);
      return settings;
    },
    embedder,
    embeddingStatus,
    async useEmbeddingModel(name) {
      if (name !== null) {
        const info = findModel(name);
        if (!info)
          throw new FieldbookError('EMBEDDING_MODEL_INVALID', {
            detail: `no model folder named "${name}" in ${roots.join(', ')}`,
          });
        await approveModelFile(db, 'embedding', info.name, info.onnxFile, now());
      }
      if (loaded) {
        const previous = loaded.embedder;
        loaded = null;
        await previous.then((e) => e.dispose()).catch(() => undefined);
      }
      settings = saveSettings(db, { embeddingModel: name });
      return embeddingStatus();
    },
    async unloadModels() {
      await unloadLlm();
      const previous = loaded;
      loaded = null;
      if (previous) await previous.embedder.then((e) => e.dispose()).catch(() => undefined);
    },
    async close() {
      parser?.close();
      await unloadLlm();
      if (loaded) await loaded.embedder.then((e) => e.dispose()).catch(() => undefined);
      store.close();
    },
  };
}
