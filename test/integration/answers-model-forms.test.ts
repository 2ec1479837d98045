/**
 * Issue 13.5/13.6: what real models do to answers, pinned with a scripted generator —
 * citation markers in other forms (【1】, [1,2], [1-2], [Block 1]), Simplified Chinese in answers
 * to Chinese questions (converted to Traditional, streamed and stored), answers cut by the token
 * limit, and the passages sent before generation starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerService, toLastSentence } from '../../src-main/core/answer/answer-service';
import { normalizeMarkers } from '../../src-main/core/answer/citations';
import { buildUserPrompt } from '../../src-main/core/answer/prompt';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import { faithfulness } from '../../src-main/core/eval/faithfulness';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import type { StoredCitation } from '../../src-main/core/store/conversations';
import { tempDir } from '../support/paths';
import { scripted } from '../support/scripted-generator';

const FAULTS = `# Press-3 伺服故障處理

## E-203 伺服過載
E-203 表示伺服馬達過載。先停機，確認模具沒有卡料，再按下控制面板上的復位鍵三秒鐘。

## F0001 變頻器過電流
F0001 means the inverter tripped on overcurrent. Check the motor cable for damage, then reset the drive from the keypad.
`;

describe('issue 13.5: answers from real models', () => {
  const tmp = tempDir();
  let fb: Fieldbook;
  const ask = (reply: string, question: string, stopReason?: 'maxTokens' | 'timeout') => {
    const gen = scripted(() => reply, stopReason ? { stopReason } : {});
    const streamed: string[] = [];
    const passages: StoredCitation[][] = [];
    const order: string[] = gen.events;
    const svc = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => gen,
      settings: () => DEFAULT_SETTINGS.answer,
    });
    return {
      gen,
      streamed,
      passages,
      order,
      result: svc.ask(question, {
        onToken: (t) => streamed.push(t),
        onPassages: (p) => {
          order.push('passages');
          passages.push(p);
        },
      }),
    };
  };

  beforeAll(async () => {
    const docs = path.join(tmp.dir, 'docs');
    fs.mkdirSync(docs, { recursive: true });
    fs.writeFileSync(path.join(docs, 'faults.md'), FAULTS);
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    await fb.ingest.ingest([docs]);
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('issue 13.5: reads 【n】, ［n］, [n,m], [n-m], [^n] and [Block n] as citations', async () => {
    expect(normalizeMarkers('a【1】b［2］c [1,2] d [1-3] e [^2] f [Block 1] g [來源 2]')).toBe(
      'a[1]b[2]c [1][2] d [1][2][3] e [2] f [1] g [2]',
    );
    expect(normalizeMarkers('[1-40]')).toBe('[1][40]'); // a long "range" is not expanded
    // Qwen2.5-0.5B copied the prompt's placeholder: it is no citation and is dropped.
    expect(normalizeMarkers('[編號] 3.2 E-203 之復位 [n]')).toBe(' 3.2 E-203 之復位');
    const { result } = ask(
      'F0001 means the inverter tripped on overcurrent; check the motor cable【1】.',
      'What is F0001?',
    );
    const r = await result;
    expect(r.mode).toBe('generative');
    expect(r.answer).toContain('[1]');
    expect(r.answer).not.toContain('【');
    expect(r.citations.map((c) => c.n)).toEqual([1]);
    expect(r.citations[0]?.supported).toBe(true);
  });

  it('issue 13.5: a Chinese question gets Traditional Chinese even when the model writes Simplified', async () => {
    const { result, streamed } = ask('E-203 表示伺服马达过载，先停机再按复位键三秒钟 [1]。', 'E-203 怎麼復位？');
    const r = await result;
    expect(r.answer).toContain('伺服馬達過載');
    expect(r.answer).toContain('復位鍵');
    expect(r.answer).not.toMatch(/马达|复位|钟/);
    expect(streamed.join('')).not.toMatch(/马达|复位/);
    expect(r.timings.simplifiedCharsConverted).toBeGreaterThan(3);
    const tw = ask('E-203 表示伺服馬達過載 [1]。', 'E-203 是什麼？');
    expect((await tw.result).timings.simplifiedCharsConverted).toBe(0);
  });

  it('issue 13.5: an answer cut by the token limit ends at its last complete sentence', async () => {
    const { result } = ask(
      'Check the motor cable for damage [1]. Then reset the drive from the key',
      'What is F0001?',
      'maxTokens',
    );
    const r = await result;
    expect(r.answer).toBe('Check the motor cable for damage [1].');
    expect(r.notice).toMatch(/length limit/);
    expect(toLastSentence('先停機。再按復位')).toBe('先停機。');
    // A CPU-starved model stopped by the time limit mid-sentence is cut the same way.
    const timedOut = await ask(
      'Check the motor cable for damage [1]. Then reset the drive from the key',
      'What is F0001?',
      'timeout',
    ).result;
    expect(timedOut.answer).toBe('Check the motor cable for damage [1].');
    expect(timedOut.notice).toMatch(/time limit and ends at its last complete sentence/);
  });

  it('issue 13.5: the prompt shows a concrete marker, not a placeholder a small model copies', () => {
    const blocks = [
      { n: 1, chunkId: 1, docId: 1, title: 'T', page: null, headingPath: [], text: 'x', isSafety: false },
    ];
    expect(buildUserPrompt('E-203 怎麼復位？', blocks, true)).toMatch(/例如 \[1\]/);
    expect(buildUserPrompt('E-203 怎麼復位？', blocks, true)).not.toContain('[編號]');
    expect(buildUserPrompt('What is F0001?', blocks, false)).toMatch(/e\.g\. \[1\]/);
  });

  it('issue 13.6: the numbered passages are sent before generation starts', async () => {
    const { result, passages, order } = ask('Check the motor cable [1].', 'What is F0001?');
    const r = await result;
    expect(order.slice(0, 2)).toEqual(['passages', 'generate']);
    expect(passages).toHaveLength(1);
    const sent = passages[0] ?? [];
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]?.docTitle).toContain('Press-3');
    // The chips carry the same numbers the answer cites.
    expect(sent.find((p) => p.n === 1)?.chunkId).toBe(r.citations[0]?.chunkId);
    expect(r.timings.passagesMs).toBeGreaterThanOrEqual(0);
  });

  it('issue 13.5: eval faithfulness counts sentences supported by their cited block, uncited ones, and conversions', async () => {
    // Sentence 1 is supported by block 1; sentence 2 cites block 1 for something it does not say;
    // sentence 3 cites nothing.
    const en = await ask(
      'F0001 means the inverter tripped on overcurrent [1]. The warranty covers five years of robot arm service [1]. Always call the vendor first.',
      'What is F0001?',
    ).result;
    expect(en.sentenceSupport).toEqual({ sentences: 3, supported: 1, uncited: 1 });
    // The per-citation flag the UI shows comes from the same check: block 1 supports its best sentence.
    expect(en.citations.map((c) => [c.n, c.supported])).toEqual([[1, true]]);
    // A zh-TW answer written in Simplified, fully supported; and one already in Traditional.
    const zh = await ask('E-203 表示伺服马达过载 [1]。先停机，再按复位键三秒钟 [1]。', 'E-203 怎麼復位？').result;
    expect(zh.sentenceSupport).toEqual({ sentences: 2, supported: 2, uncited: 0 });
    const tw = await ask('E-203 表示伺服馬達過載 [1]。', 'E-203 是什麼？').result;
    // Extractive and "not found" answers are not generated text and are left out.
    const extractive = { ...tw, mode: 'extractive' as const, sentenceSupport: undefined, timings: {} };
    expect(faithfulness([en, zh, tw, extractive])).toEqual({
      answers: 3,
      sentences: 6,
      supported: 0.6667, // 1 + 2 + 1 of 6
      uncited: 0.1667,
      citedUnsupported: 0.1667,
      answersFullySupported: 0.6667, // zh and tw
      zhAnswers: 2,
      convertedToTraditional: 1,
      fellBackToExtractive: 0,
      stopReasons: { eos: 3 },
    });
    expect(faithfulness([extractive])).toBeNull();
  });

  it('issue 13.5: an answer of only markers or a copied block header falls back to the extractive answer', async () => {
    // What Qwen2.5-Coder-0.5B wrote for "E-203 伺服過載如何復位？" with two prompt wordings.
    for (const reply of ['[1] [2][3]', '[1] Press-3 伺服故障處理 — E-203 伺服過載']) {
      const r = await ask(reply, 'E-203 怎麼復位？').result;
      expect(r.mode).toBe('extractive');
      expect(r.notice).toMatch(/no answer of its own/);
      expect(r.answer).toContain('復位鍵');
      // The discarded generation's cost is kept, and the eval counts the fallback.
      expect(r.timings.generationMs).toBe(2);
      expect(faithfulness([r])).toMatchObject({ answers: 0, sentences: 0, fellBackToExtractive: 1 });
    }
    // A real sentence that mentions the heading's words is an answer.
    const r = await ask('E-203 伺服過載時，先停機再按復位鍵三秒鐘 [1]。', 'E-203 怎麼復位？').result;
    expect(r.mode).toBe('generative');
  });

  it("issue 13.5: a marker leading a line cites the unmarked sentences after it (the context blocks' layout, copied)", async () => {
    // Qwen2.5-Coder-0.5B on a DRCD question: "[1] 梵文 — 梵文" then the answer sentence, unmarked.
    const r = await ask(
      '[1] Press-3 伺服故障處理 — E-203 伺服過載\nE-203 表示伺服馬達過載，先停機再按復位鍵三秒鐘。',
      'E-203 怎麼復位？',
    ).result;
    expect(r.mode).toBe('generative');
    expect(r.citations.map((c) => [c.n, c.supported])).toEqual([[1, true]]);
    expect(r.sentenceSupport).toMatchObject({ sentences: 2, uncited: 0 });
    // A trailing marker cites only its own sentence: the next one stays uncited.
    const t = await ask('E-203 表示伺服馬達過載 [1]。先停機再按復位鍵三秒鐘。', 'E-203 怎麼復位？').result;
    expect(t.sentenceSupport).toEqual({ sentences: 2, supported: 1, uncited: 1 });
  });
});
