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

/**
 * Open a data folder and compose the services: open the data folder (store, unfinished bundle files,
 * vector index, audit anchor) → settings → parser processes, language model and embedding model
 * (each started on first use, only when approved) → ingest, search and answer services.
 */
export function openFieldbook(opts: FieldbookOptions = {}): Fieldbook {
  const home = opts.home ?? defaultHome();
  const now = opts.now ?? (() => new Date());
  const { store, db, bundleFilesFinished } = openDataFolder(home, opts, now());
  const settings = settingsCell(db);
  const parsers = lazyParserPool(opts, settings);
  const llm = llmSlot(db, opts.llmModelRoots ?? modelRoots(home, 'llm'), settings, opts);
  const embedding = embeddingSlot(db, opts.embeddingModelRoots ?? modelRoots(home, 'embedding'), settings);

  const ingest = createIngestService({
    db,
    parser: { parse: (...args) => parsers.get().parse(...args), close: () => parsers.close() },
    getEmbedder: embedding.embedder,
    limits: () => settings.get().limits,
    chunking: () => settings.get().chunk,
    ocr: () => settings.get().ocr,
    now,
  });
  const search = createSearchService({ db, getEmbedder: embedding.embedder, settings: () => settings.get().search });
  const answers = createAnswerService({
    db,
    search,
    getGenerator: llm.generator,
    settings: () => settings.get().answer,
    now,
  });

  return {
    home,
    db,
    ingest,
    search,
    answers,
    parsers: parsers.get,
    generator: llm.generator,
    llmStatus: llm.status,
    unloadLlm: llm.unload,
    useLlmModel: (name) => llm.use(name, now()),
    recoveredFromUncleanExit: store.recoveredFromUncleanExit,
    bundleFilesFinished,
    settings: settings.get,
    updateSettings: settings.save,
    embedder: embedding.embedder,
    embeddingStatus: embedding.status,
    useEmbeddingModel: (name) => embedding.use(name, now()),
    async unloadModels() {
      await llm.unload();
      await embedding.unload();
    },
    async close() {
      parsers.close();
      await search.close();
      await llm.unload();
      await embedding.unload();
      store.close();
    },
  };
}

/** Model folders: the app's own, then the data folder's. */
function modelRoots(home: string, kind: 'llm' | 'embedding'): string[] {
  return [path.join(appRoot(), 'models', kind), path.join(home, 'models', kind)];
}

/**
 * The store, opened and made whole: files of applied bundles that a crash left unwritten are
 * finished, an older database's vector index is rebuilt from its float vectors (no re-embedding,
 * once), and the audit log's anchor outside the database is created or moved to the committed head.
 */
function openDataFolder(
  home: string,
  opts: FieldbookOptions,
  now: Date,
): { store: ReturnType<typeof openStore>; db: Db; bundleFilesFinished: FinishReport } {
  const store = openStore(home);
  const { db } = store;
  const bundleFilesFinished = finishAppliedBundles(db, home);
  buildVectorIndex(db, opts.onVectorIndexProgress);
  ensureAuditAnchor(db, now);
  return { store, db, bundleFilesFinished };
}

/** The current settings, saved on every change. */
interface SettingsCell {
  get(): Settings;
  save(patch: SettingsPatch): Settings;
}

function settingsCell(db: Db): SettingsCell {
  let settings = loadSettings(db);
  return {
    get: () => settings,
    save(patch) {
      settings = saveSettings(db, patch);
      return settings;
    },
  };
}

/** The parser processes, started on first use with the memory limit in the settings. */
function lazyParserPool(opts: FieldbookOptions, settings: SettingsCell): { get(): ParserPool; close(): void } {
  let parser: ParserPool | null = null;
  return {
    get() {
      parser ??= createParserPool({
        size: opts.parserCount ?? 2,
        memoryMb: settings.get().limits.parserMemoryMb,
        ...(opts.spawnParser ? { spawn: opts.spawnParser } : {}),
      });
      return parser;
    },
    close() {
      parser?.close();
    },
  };
}

/** The active language model: started on first use (only if its file's approval matches) and kept loaded. */
interface LlmSlot {
  generator(): Promise<Generator | null>;
  status(): Promise<LlmStatus>;
  /** Approve a GGUF file and make it the active model; null turns answers extractive. */
  use(name: string | null, now: Date): Promise<LlmStatus>;
  unload(): Promise<void>;
}

function llmSlot(db: Db, llmRoots: string[], settings: SettingsCell, opts: FieldbookOptions): LlmSlot {
  let llm: { name: string; generator: Promise<Generator> } | null = null;
  let llmProblem: string | null = null;

  const unload = async (): Promise<void> => {
    const current = llm;
    llm = null;
    if (current) await current.generator.then((g) => g.dispose()).catch(() => undefined);
  };

  const generator = async (): Promise<Generator | null> => {
    const name = settings.get().answer.llmModel;
    if (!name) return null;
    if (llm?.name !== name) {
      await unload();
      const model = (await discoverLlmModels(llmRoots)).models.find((m) => m.name === name);
      if (!model) {
        llmProblem = `Language model "${name}" not found in ${llmRoots.join(', ')}: extractive answers.`;
        return null;
      }
      const answerSettings = settings.get().answer;
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

  const status = async (): Promise<LlmStatus> => {
    const found = await discoverLlmModels(llmRoots);
    return {
      active: settings.get().answer.llmModel,
      loaded: llm !== null,
      problem: llmProblem,
      available: found.models,
      invalid: found.invalid,
    };
  };

  return {
    generator,
    status,
    unload,
    async use(name, now) {
      if (name !== null) {
        const model = (await discoverLlmModels(llmRoots)).models.find((m) => m.name === name);
        if (!model)
          throw new FieldbookError('LLM_LOAD_FAILED', {
            detail: `no .gguf file named "${name}" in ${llmRoots.join(', ')}`,
          });
        await approveModelFile(db, 'llm', model.name, model.file, now);
      }
      await unload();
      settings.save({ answer: { llmModel: name } });
      return status();
    },
  };
}

/** The active embedding model: loaded on first use (only if its weights' approval matches). */
interface EmbeddingSlot {
  embedder(): Promise<Embedder | null>;
  status(): Promise<EmbeddingStatus>;
  /** Approve a model folder and make it the active embedding model. */
  use(name: string | null, now: Date): Promise<EmbeddingStatus>;
  unload(): Promise<void>;
}

function embeddingSlot(db: Db, roots: string[], settings: SettingsCell): EmbeddingSlot {
  let loaded: { name: string; embedder: Promise<Embedder> } | null = null;
  let embedderProblem: string | null = null;

  const findModel = (name: string): EmbeddingModelInfo | undefined =>
    discoverEmbeddingModels(roots).models.find((m) => m.name === name);

  const unload = async (): Promise<void> => {
    const previous = loaded;
    loaded = null;
    if (previous) await previous.embedder.then((e) => e.dispose()).catch(() => undefined);
  };

  const embedder = async (): Promise<Embedder | null> => {
    const name = settings.get().embeddingModel;
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

  const status = async (): Promise<EmbeddingStatus> => {
    const e = await embedder();
    const found = discoverEmbeddingModels(roots);
    return { active: e?.name ?? null, problem: embedderProblem, available: found.models, invalid: found.invalid };
  };

  return {
    embedder,
    status,
    unload,
    async use(name, now) {
      if (name !== null) {
        const info = findModel(name);
        if (!info)
          throw new FieldbookError('EMBEDDING_MODEL_INVALID', {
            detail: `no model folder named "${name}" in ${roots.join(', ')}`,
          });
        await approveModelFile(db, 'embedding', info.name, info.onnxFile, now);
      }
      await unload();
      settings.save({ embeddingModel: name });
      return status();
    },
  };
}
