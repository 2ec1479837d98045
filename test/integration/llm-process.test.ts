/**
 * The real LLM path with a generated tiny GGUF (random weights, real byte-level tokenizer),
 * loaded by node-llama-cpp in a separate process: discovery, load, streaming, cancel, time
 * limit, crash and restart, unload, SHA-256 approval, and an answer through the whole stack.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_PROMPT } from '../../src-main/core/answer/prompt';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { forkLlm, startLlm, type Generator, type LlmProcess } from '../../src-main/core/llm/llm-client';
import { discoverLlmModels } from '../../src-main/core/llm/llm-models';
import { tempDir } from '../support/paths';
import { writeTinyGguf } from '../support/tiny-gguf';

describe('LLM process with a tiny real GGUF', () => {
  const tmp = tempDir();
  const llmDir = path.join(tmp.dir, 'llm');
  const modelFile = path.join(llmDir, 'tiny-test.gguf');
  let gen: Generator;
  const spawned: LlmProcess[] = [];

  beforeAll(async () => {
    fs.mkdirSync(llmDir, { recursive: true });
    writeTinyGguf(modelFile);
    gen = await startLlm({
      name: 'tiny-test.gguf',
      modelPath: modelFile,
      contextSize: 2048,
      threads: 2,
      systemPrompt: SYSTEM_PROMPT,
      spawn: () => {
        const p = forkLlm();
        spawned.push(p);
        return p;
      },
    });
  }, 120_000);
  afterAll(async () => {
    await gen?.dispose();
    tmp.cleanup();
  });

  it('reads name, size, quantization and context length from the file', async () => {
    const found = await discoverLlmModels([llmDir]);
    expect(found.models).toEqual([
      expect.objectContaining({
        name: 'tiny-test.gguf',
        architecture: 'llama',
        quantization: 'F32',
        contextLength: 4096,
      }),
    ]);
    expect(found.models[0]?.sizeBytes).toBeGreaterThan(100_000);
  });

  it('streams tokens and stops at the token limit', async () => {
    const chunks: string[] = [];
    const r = await gen.generate({
      user: 'Context: [1] E-203 伺服過載\nQuestion: 怎麼復位？',
      maxTokens: 12,
      timeoutMs: 60_000,
      onToken: (t) => chunks.push(t),
    });
    expect(r.stopReason).toBe('maxTokens');
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.join('')).toBe(r.text);
    expect(r.timeToFirstTokenMs).not.toBeNull();
    expect(await gen.countTokens('E-203')).toBe(5);
  });

  it('can be cancelled mid-answer, and stops at the time limit', async () => {
    const controller = new AbortController();
    let seen = 0;
    const r = await gen.generate({
      user: 'Tell me everything.',
      maxTokens: 400,
      timeoutMs: 60_000,
      signal: controller.signal,
      onToken: () => {
        seen++;
        if (seen === 2) controller.abort();
      },
    });
    expect(r.stopReason).toBe('cancelled');
    expect(r.tokens).toBeLessThan(400);
    const timed = await gen.generate({ user: 'Tell me everything again.', maxTokens: 4000, timeoutMs: 1 });
    expect(timed.stopReason).toBe('timeout');
    expect(timed.tokens).toBeLessThan(4000);
  });

  it('fails the question in flight when the process crashes, then restarts on the next one', async () => {
    const pending = gen.generate({
      user: 'long answer please',
      maxTokens: 3000,
      timeoutMs: 60_000,
      onToken: () => spawned.at(-1)?.kill(),
    });
    await expect(pending).rejects.toMatchObject({ code: 'LLM_CRASHED' });
    const before = spawned.length;
    const r = await gen.generate({ user: 'again', maxTokens: 4, timeoutMs: 60_000 });
    expect(r.stopReason).toBe('maxTokens');
    expect(spawned.length).toBe(before + 1);
  });

  describe('through the whole stack', () => {
    let fb: Fieldbook;
    beforeAll(async () => {
      const docs = path.join(tmp.dir, 'docs');
      fs.mkdirSync(docs);
      fs.writeFileSync(path.join(docs, 'faults.md'), '# E-203\n\nE-203 伺服過載：停機後按下復位鍵三秒。');
      fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [llmDir] });
      await fb.ingest.ingest([docs]);
    });
    afterAll(async () => fb?.close());

    it('answers in generative mode with the approved model and unloads on request', async () => {
      const status = await fb.useLlmModel('tiny-test.gguf');
      expect(status.active).toBe('tiny-test.gguf');
      fb.updateSettings({ answer: { maxAnswerTokens: 8, contextSize: 2048 } });
      let streamed = '';
      const res = await fb.answers.ask('E-203 怎麼復位？', { onToken: (t) => (streamed += t) });
      expect(res.mode).toBe('generative');
      expect(res.model).toBe('tiny-test.gguf');
      expect(streamed.length).toBeGreaterThan(0);
      // Random weights cite nothing: the answer is flagged for review rather than shown as proof.
      expect(res.needsReview).toBe(true);
      expect((await fb.llmStatus()).loaded).toBe(true);
      await fb.unloadLlm();
      expect((await fb.llmStatus()).loaded).toBe(false);
    });

    it('refuses to load the model once its file no longer matches the approved SHA-256', async () => {
      fs.appendFileSync(modelFile, Buffer.alloc(32));
      const res = await fb.answers.ask('E-203 怎麼復位？');
      expect(res.mode).toBe('extractive');
      expect(res.notice).toMatch(/not approved|hash changed/);
    });
  });
});
