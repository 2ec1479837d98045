/**
 * Answer logic with a deterministic generator behind the Generator interface: prompt
 * assembly, token budget, citation mapping and checking, confidence, fallback, language,
 * safety rules, follow-ups and persistence. (The real GGUF path is in llm-process.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerService, retrievalQueryFor } from '../../src-main/core/answer/answer-service';
import { DEFAULT_SETTINGS, type AnswerSettings } from '../../src-main/core/config';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { conversationAnswers } from '../../src-main/core/store/conversations';
import { tempDir } from '../support/paths';
import type { Generator } from '../../src-main/core/llm/llm-client';
import { scripted } from '../support/scripted-generator';

const FAULTS = `# Press-3 伺服故障處理

## E-203 伺服過載
E-203 表示伺服馬達過載。先停機，確認模具沒有卡料，再按下控制面板上的復位鍵三秒鐘。

## F0001 變頻器過電流
F0001 means the inverter tripped on overcurrent. Check the motor cable for damage, then reset the drive from the keypad.
`;

const LOTO = `# Lockout/tagout rule LS-01

## Before maintenance
Before any maintenance on Press-3, switch off the main disconnect, apply your personal lock and tag, and verify zero energy by pressing the start button.
`;

const FILLER = Array.from(
  { length: 8 },
  (_, i) =>
    `# Conveyor note ${i}\n\nConveyor CV-${i} belt tension check: measure the belt deflection at the centre span and adjust the take-up screws evenly on both sides. Record the value in the maintenance log.\n`,
);

describe('answers', () => {
  const tmp = tempDir();
  let fb: Fieldbook;
  const settings =
    (patch: Partial<AnswerSettings> = {}): (() => AnswerSettings) =>
    () => ({ ...DEFAULT_SETTINGS.answer, ...patch });

  beforeAll(async () => {
    const docs = path.join(tmp.dir, 'docs');
    fs.mkdirSync(path.join(docs, 'safety'), { recursive: true });
    fs.writeFileSync(path.join(docs, 'faults.md'), FAULTS);
    fs.writeFileSync(path.join(docs, 'safety', 'loto.md'), LOTO);
    FILLER.forEach((f, i) => fs.writeFileSync(path.join(docs, `conveyor-${i}.md`), f));
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    await fb.ingest.ingest([
      path.join(docs, 'faults.md'),
      ...FILLER.map((_, i) => path.join(docs, `conveyor-${i}.md`)),
    ]);
    await fb.ingest.ingest([path.join(docs, 'safety')], { isSafety: true });
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('streams a generated answer, maps [n] to chunks with their pages and checks support', async () => {
    const gen = scripted(() => 'E-203 表示伺服馬達過載，確認模具沒有卡料後按下復位鍵三秒鐘 [1]。');
    const svc = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: settings(),
    });
    let streamed = '';
    const res = await svc.ask('E-203 伺服過載怎麼復位？', { onToken: (t) => (streamed += t) });
    expect(res.mode).toBe('generative');
    expect(res.model).toBe('scripted-test-generator');
    expect(streamed).toBe('E-203 表示伺服馬達過載，確認模具沒有卡料後按下復位鍵三秒鐘 [1]。');
    expect(res.language).toBe('zh-TW');
    expect(res.citations).toHaveLength(1);
    expect(res.citations[0]).toMatchObject({ n: 1, supported: true, docTitle: 'Press-3 伺服故障處理' });
    expect(res.citations[0]?.headingPath).toContain('E-203 伺服過載');
    expect(res.needsReview).toBe(false);
    expect(res.confidence).toBeGreaterThanOrEqual(0.6);
    // The prompt numbers the context blocks, names the document and asks for Traditional Chinese.
    expect(gen.prompts[0]).toMatch(/^Context:\n\n\[1\] Press-3 伺服故障處理/);
    expect(gen.prompts[0]).toContain('請用繁體中文回答');
    expect(res.timings.timeToFirstTokenMs).toBe(1);
  });

  it('drops markers that point at nothing and flags citations the passage does not support', async () => {
    const gen = scripted(
      () => 'Check the motor cable for damage [1]. Pressure must be released with valve PV-9 [1]. See also [9].',
    );
    const svc = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: settings(),
    });
    const res = await svc.ask('What does F0001 mean?');
    expect(res.invalidCitations).toEqual([9]);
    expect(res.answer).not.toContain('[9]');
    const check = res.citations.find((c) => c.n === 1);
    expect(check?.supported).toBe(true);
    // One of two content sentences is unsupported by its cited block → coverage 0.5.
    expect(res.confidence).toBeLessThan(1);
  });

  it('fits the context to the token budget by dropping the lowest-ranked passages', async () => {
    const gen = scripted(() => 'Measure the belt deflection [1].');
    const small = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: settings({ contextTokens: 120, retrievalDepth: 6 }),
    });
    const res = await small.ask('conveyor belt tension check take-up screws');
    const prompt = gen.prompts[0] ?? '';
    const blocks = prompt.match(/^\[\d+\] /gm) ?? [];
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.length).toBeLessThan(6);
    expect(res.notice).toMatch(/lower-ranked passages left out/);
  });

  it('answers "not found" without calling the model when nothing relevant is retrieved', async () => {
    const gen = scripted(() => 'should not be called');
    const svc = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: settings(),
    });
    const res = await svc.ask('What is the boiling point of liquid nitrogen on Mars?');
    expect(res.mode).toBe('not-found');
    expect(res.answer).toMatch(/does not contain/);
    expect(res.citations).toEqual([]);
    expect(gen.prompts).toHaveLength(0);
    expect(res.needsReview).toBe(false);
  });

  it('falls back to a labelled extractive answer when there is no model or the model fails', async () => {
    const none = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => null,
      settings: settings(),
    });
    const res = await none.ask('F0001 overcurrent');
    expect(res.mode).toBe('extractive');
    expect(res.answer).toMatch(/^\(Extractive mode/);
    expect(res.answer).toMatch(/\[1\]/);
    expect(res.citations[0]?.supported).toBe(true);

    const broken: Generator = {
      ...scripted(() => ''),
      generate: async () => Promise.reject(new Error('process crashed')),
    };
    const failing = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => broken,
      settings: settings(),
    });
    const res2 = await failing.ask('F0001 overcurrent');
    expect(res2.mode).toBe('extractive');
    expect(res2.notice).toMatch(/process crashed/);
  });

  it('brings safety rules into hazardous questions, and warns when none exists', async () => {
    const gen = scripted((user) =>
      user.includes('(SAFETY RULE)') ? 'Apply your personal lock and tag [1].' : 'No rule.',
    );
    const svc = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: settings(),
    });
    const res = await svc.ask('How do I lock out Press-3 before maintenance?');
    expect(res.safety).toMatchObject({ topics: ['lockout'], rulesFound: true });
    expect(res.safetyRules[0]?.docTitle).toBe('Lockout/tagout rule LS-01');
    expect(gen.prompts[0]).toMatch(/^Context:\n\n\[1\] \(SAFETY RULE\)/);

    const withoutRules = createAnswerService({
      db: fb.db,
      search: {
        ...fb.search,
        rank: (q, o) => fb.search.rank(q, { ...o, filters: { ...o?.filters, types: ['md'], docIds: [1] } }),
      },
      getGenerator: async () => null,
      settings: settings(),
    });
    const res2 = await withoutRules.ask('伺服過載時可以帶電檢查嗎？');
    expect(res2.safety.rulesFound).toBe(false);
    expect(res2.answer.startsWith('⚠')).toBe(true);
  });

  it('uses the conversation for follow-up questions and stores every answer', async () => {
    expect(retrievalQueryFor('and how do I reset it?', ['What does F0001 mean?'])).toBe(
      'What does F0001 mean?\nand how do I reset it?',
    );
    expect(retrievalQueryFor('What is the belt tension procedure for conveyors?', ['What does F0001 mean?'])).toBe(
      'What is the belt tension procedure for conveyors?',
    );
    const gen = scripted(() => 'Reset the drive from the keypad [1].');
    const svc = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: settings(),
    });
    const first = await svc.ask('What does F0001 mean?');
    const second = await svc.ask('and how do I reset it?', { conversationId: first.conversationId });
    expect(second.retrievalQuery).toContain('F0001');
    expect(second.citations[0]?.docTitle).toBe('Press-3 伺服故障處理');
    const stored = conversationAnswers(fb.db, first.conversationId);
    expect(stored.map((a) => a.question)).toEqual(['What does F0001 mean?', 'and how do I reset it?']);
    expect(stored[1]).toMatchObject({ mode: 'generative', model: 'scripted-test-generator' });
    await expect(svc.ask('hello', { conversationId: 999 })).rejects.toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
  });

  it('flags weakly supported answers for manual review', async () => {
    const gen = scripted(() => 'Replace the hydraulic accumulator bladder every year [1].');
    const svc = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: settings(),
    });
    const res = await svc.ask('conveyor belt deflection');
    expect(res.citations[0]?.supported).toBe(false);
    expect(res.needsReview).toBe(true);
  });
});
