/**
 * Entry point of the LLM process (child_process in the CLI, utilityProcess in the app).
 * It loads one GGUF model with node-llama-cpp, keeps the system prompt evaluated in its
 * context between questions, streams tokens back and honours cancel and time limits.
 * A crash here (bad model file, out of memory) never takes the caller down.
 */
import {
  getLlama,
  LlamaChatSession,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaModel,
} from 'node-llama-cpp';
import { parentChannel } from '../util/parent-channel';
import type { LlmRequest, LlmResponse } from './llm-protocol';

const channel = parentChannel<LlmRequest, LlmResponse>('llm-process');

interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  session: LlamaChatSession;
}

let llama: Llama | null = null;
let loaded: Loaded | null = null;
const running = new Map<number, { abort: AbortController; reason: 'cancelled' | 'timeout' | null }>();
let queue: Promise<void> = Promise.resolve();

function send(msg: LlmResponse): void {
  channel.send(msg);
}

async function unload(): Promise<void> {
  if (!loaded) return;
  const { model, context } = loaded;
  loaded = null;
  await context.dispose();
  await model.dispose();
}

async function load(req: Extract<LlmRequest, { type: 'load' }>): Promise<void> {
  const t0 = performance.now();
  try {
    await unload();
    llama ??= await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: req.modelPath });
    const context = await model.createContext({ contextSize: req.contextSize, threads: req.threads });
    const session = new LlamaChatSession({ contextSequence: context.getSequence(), systemPrompt: req.systemPrompt });
    loaded = { model, context, session };
    send({ type: 'loaded', contextSize: context.contextSize, loadMs: Math.round(performance.now() - t0) });
  } catch (err) {
    send({ type: 'load-error', message: err instanceof Error ? err.message : String(err) });
  }
}

async function generate(req: Extract<LlmRequest, { type: 'generate' }>): Promise<void> {
  if (!loaded) {
    send({ type: 'failed', id: req.id, message: 'no model loaded' });
    return;
  }
  const state = { abort: new AbortController(), reason: null as 'cancelled' | 'timeout' | null };
  running.set(req.id, state);
  const timer = setTimeout(() => {
    state.reason = 'timeout';
    state.abort.abort();
  }, req.timeoutMs);
  const t0 = performance.now();
  let firstToken: number | null = null;
  let tokens = 0;
  let partial = '';
  try {
    // Each question starts from the system prompt only; its evaluated tokens are reused.
    loaded.session.resetChatHistory();
    const result = await loaded.session.promptWithMeta(req.user, {
      maxTokens: req.maxTokens,
      signal: state.abort.signal,
      stopOnAbortSignal: true,
      temperature: 0,
      // Count model tokens; stream text as soon as it forms whole characters.
      onToken: (generated) => {
        firstToken ??= performance.now() - t0;
        tokens += generated.length;
      },
      onTextChunk: (text) => {
        partial += text;
        send({ type: 'token', id: req.id, text });
      },
    });
    const stopReason =
      state.reason ??
      (result.stopReason === 'maxTokens' ? 'maxTokens' : result.stopReason === 'abort' ? 'cancelled' : 'eos');
    send({
      type: 'done',
      id: req.id,
      text: result.responseText,
      tokens,
      timeToFirstTokenMs: firstToken === null ? null : Math.round(firstToken),
      stopReason,
    });
  } catch (err) {
    if (state.reason) {
      // Aborted before or while generating (cancel or time limit): a normal, partial answer.
      const ttft = firstToken === null ? null : Math.round(firstToken);
      send({ type: 'done', id: req.id, text: partial, tokens, timeToFirstTokenMs: ttft, stopReason: state.reason });
    } else send({ type: 'failed', id: req.id, message: err instanceof Error ? err.message : String(err) });
  } finally {
    clearTimeout(timer);
    running.delete(req.id);
  }
}

function handle(msg: LlmRequest): void {
  if (msg.type === 'cancel') {
    const r = running.get(msg.id);
    if (r) {
      r.reason = 'cancelled';
      r.abort.abort();
    }
    return;
  }
  // Everything else runs in order: one generation at a time on one context.
  queue = queue.then(async () => {
    if (msg.type === 'load') await load(msg);
    else if (msg.type === 'generate') await generate(msg);
    else if (msg.type === 'count')
      send({
        type: 'count',
        id: msg.id,
        tokens: loaded ? loaded.model.tokenize(msg.text).length : Math.ceil(msg.text.length / 2),
      });
    else if (msg.type === 'unload') await unload();
  });
}

channel.onMessage(handle);
