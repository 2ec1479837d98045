/**
 * Feedback → LoRA datasets: every format validates, PII is redacted (zh-TW and English),
 * duplicates and over-clearance sources are dropped, splits are deterministic, the cursor
 * exports only what is new, generated pairs keep their source chunk and page, thumbs-down
 * corrections become an eval set `fieldbook eval` can read, and the manifest hashes match.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerService } from '../../src-main/core/answer/answer-service';
import { DEFAULT_SETTINGS } from '../../src-main/core/config';
import { exportDataset, feedbackQueue, type DatasetExportOptions } from '../../src-main/core/dataset/dataset-export';
import { validateJsonl } from '../../src-main/core/dataset/formats';
import { redactPii, emptyCounts, splitOf } from '../../src-main/core/dataset/hygiene';
import { EvalQueryLine, readJsonl } from '../../src-main/core/eval/eval-kb';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import type { Generator } from '../../src-main/core/llm/llm-client';
import { reviewCorrection, saveFeedback } from '../../src-main/core/store/conversations';
import { tempDir } from '../support/paths';

const gen = (reply: (user: string) => string): Generator => ({
  name: 'scripted-test-generator',
  contextSize: 4096,
  countTokens: async (t) => Math.ceil(t.length / 2),
  generate: async (req) => {
    const text = reply(req.user);
    return { text, tokens: 1, timeToFirstTokenMs: 1, totalMs: 1, stopReason: 'eos' };
  },
  dispose: async () => undefined,
});

describe('feedback and dataset export', () => {
  const tmp = tempDir();
  let fb: Fieldbook;
  const ids: Record<string, number> = {};
  const base = (out: string, patch: Partial<DatasetExportOptions> = {}): DatasetExportOptions => ({
    outDir: path.join(tmp.dir, out),
    format: 'chat',
    sources: ['answers', 'corrections'],
    withContext: true,
    maxSensitivity: 'internal',
    seed: 42,
    ratios: { train: 0.8, validation: 0.1 },
    minChars: 2,
    maxChars: 16_000,
    generateCount: 0,
    generator: null,
    resetCursor: false,
    evalSet: false,
    now: new Date('2026-11-22T10:00:00Z'),
    ...patch,
  });

  beforeAll(async () => {
    const docs = path.join(tmp.dir, 'docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(
      path.join(docs, 'press.md'),
      '# Press-3 E-203\n\nE-203 伺服過載：先停機，確認模具與送料機構沒有卡料，量測伺服馬達表面溫度，降溫後再按下控制面板上的藍色復位鍵三秒鐘。若十分鐘內重複發生三次以上，不得再復位，應通知領班與設備工程師。聯絡人 王小明 0912-345-678。',
    );
    fs.writeFileSync(
      path.join(docs, 'conveyor.md'),
      '# Conveyor F0001\n\nF0001 is an inverter overcurrent trip. Check the motor cable, then reset the drive from the keypad.',
    );
    fs.writeFileSync(
      path.join(docs, 'secret.md'),
      '# Recipe R-9\n\nRecipe R-9 press force is 420 kN for the confidential housing part.',
    );
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    await fb.ingest.ingest([path.join(docs, 'press.md'), path.join(docs, 'conveyor.md')], { sensitivity: 'internal' });
    await fb.ingest.ingest([path.join(docs, 'secret.md')], { sensitivity: 'confidential' });
    const answers = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () =>
        gen((u) => (u.includes('R-9') ? 'Use 420 kN [1].' : 'Stop the press and press reset for three seconds [1].')),
      settings: () => DEFAULT_SETTINGS.answer,
    });
    const ask = async (key: string, q: string): Promise<void> => {
      ids[key] = (await answers.ask(q)).id;
    };
    await ask('e203', 'E-203 伺服過載怎麼復位？ 我的信箱 tech.lin@plant.example.com');
    await ask('e203dup', 'E-203 伺服過載怎麼復位？ 我的信箱 tech.lin@plant.example.com');
    await ask('f0001', 'What does the F0001 inverter overcurrent trip mean?');
    await ask('secret', 'What press force does recipe R-9 use?');
    const now = new Date();
    saveFeedback(fb.db, { answerId: ids.e203 as number, rating: 'up', clearance: 'restricted' }, now);
    saveFeedback(fb.db, { answerId: ids.e203dup as number, rating: 'up', clearance: 'restricted' }, now);
    saveFeedback(
      fb.db,
      { answerId: ids.f0001 as number, rating: 'down', clearance: 'restricted', comment: 'missing the cable check' },
      now,
    );
    saveFeedback(fb.db, { answerId: ids.secret as number, rating: 'up', clearance: 'restricted' }, now);
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('lists thumbs-down answers, then the suggested correction until a reviewer accepts it', () => {
    expect(feedbackQueue(fb.db, 'restricted').map((q) => [q.kind, q.answerId])).toEqual([['thumbs-down', ids.f0001]]);
    const feedbackId = saveFeedback(
      fb.db,
      {
        answerId: ids.f0001 as number,
        rating: 'down',
        clearance: 'restricted',
        correction:
          'F0001 是變頻器過電流：先檢查馬達電纜，再從面板復位。身分證 A123456789 工號 12345，回報 EMP-10023 的電腦 10.20.30.40',
        author: 'expert',
      },
      new Date(),
    );
    expect(feedbackQueue(fb.db, 'restricted').map((q) => [q.kind, q.answerId, q.author])).toEqual([
      ['correction', ids.f0001, 'expert'],
    ]);
    reviewCorrection(
      fb.db,
      { feedbackId, decision: 'accept', reviewer: 'Reviewer Chen', clearance: 'restricted' },
      new Date(),
    );
    expect(feedbackQueue(fb.db, 'restricted')).toEqual([]);
  });

  it('exports clean chat JSONL: redacted, deduplicated, within clearance, with provenance and a matching manifest', async () => {
    const m = await exportDataset(fb.db, fb.search, base('chat'));
    expect(m.counts.total).toBe(2); // e203 (its duplicate dropped) + the f0001 correction; the confidential one excluded
    expect(m.dropped).toMatchObject({ duplicates: 1, sensitivity: 1 });
    expect(m.redactions.email).toBeGreaterThanOrEqual(1);
    expect(m.redactions.nationalId).toBe(1);
    expect(m.redactions.employeeId).toBeGreaterThanOrEqual(2);
    expect(m.redactions.ip).toBe(1);
    expect(m.redactions.phone).toBeGreaterThanOrEqual(1);
    const all = m.files.map((f) => fs.readFileSync(path.join(tmp.dir, 'chat', f.name), 'utf8')).join('');
    for (const pii of [
      'tech.lin@plant.example.com',
      'EMP-10023',
      '10.20.30.40',
      'A123456789',
      '0912-345-678',
      '工號 12345',
      '420 kN',
    ]) {
      expect(all).not.toContain(pii);
    }
    for (const f of m.files) {
      const text = fs.readFileSync(path.join(tmp.dir, 'chat', f.name), 'utf8');
      expect(createHash('sha256').update(text).digest('hex')).toBe(f.sha256);
      expect(validateJsonl(text, 'chat').errors).toEqual([]);
    }
    const line = JSON.parse(all.split('\n').find((l) => l.includes('F0001')) ?? '{}') as {
      messages: Array<{ role: string; content: string }>;
      meta: { source: string; chunkIds: number[]; kbVersion: string; approvedBy: string; review: string };
    };
    expect(line.messages.map((x) => x.role)).toEqual(['system', 'user', 'assistant']);
    expect(line.messages[1]?.content).toMatch(/^Context:/);
    expect(line.meta).toMatchObject({ source: 'expert-correction', approvedBy: 'Reviewer Chen', review: 'accepted' });
    expect(line.meta.chunkIds.length).toBeGreaterThan(0);
    expect(line.meta.kbVersion).toBe(m.kbVersion);
  });

  it('exports only what is new on the next run, and everything again after a cursor reset', async () => {
    const again = await exportDataset(fb.db, fb.search, base('chat-2'));
    expect(again.counts.total).toBe(0);
    const feedbackId = saveFeedback(
      fb.db,
      {
        answerId: ids.e203dup as number,
        rating: 'down',
        clearance: 'restricted',
        correction: '先停機並上鎖掛牌，清除卡料後再按復位鍵三秒。',
      },
      new Date(),
    );
    // Waiting for review: not in this export — and the export's cursor moving past it must not lose it.
    expect((await exportDataset(fb.db, fb.search, base('chat-3-pending'))).counts.total).toBe(0);
    reviewCorrection(
      fb.db,
      { feedbackId, decision: 'accept', reviewer: 'Reviewer Chen', clearance: 'restricted' },
      new Date(),
    );
    const next = await exportDataset(fb.db, fb.search, base('chat-3'));
    expect(next.counts.total).toBe(1);
    const reset = await exportDataset(fb.db, fb.search, base('chat-4', { resetCursor: true }));
    expect(reset.counts.total).toBe(3);
  });

  it('splits deterministically by seed', async () => {
    expect(splitOf('ans-1', 42, { train: 0.5, validation: 0.25 })).toBe(
      splitOf('ans-1', 42, { train: 0.5, validation: 0.25 }),
    );
    const a = await exportDataset(fb.db, fb.search, base('seed-a', { resetCursor: true, seed: 7 }));
    const b = await exportDataset(fb.db, fb.search, base('seed-b', { resetCursor: true, seed: 7 }));
    expect(a.files.map((f) => f.sha256)).toEqual(b.files.map((f) => f.sha256));
  });

  it('writes ShareGPT, Alpaca and DPO files that validate; DPO pairs the correction against the original answer', async () => {
    for (const format of ['sharegpt', 'alpaca'] as const) {
      const m = await exportDataset(fb.db, fb.search, base(format, { format, resetCursor: true, withContext: false }));
      const text =
        fs.readFileSync(path.join(tmp.dir, format, 'train.jsonl'), 'utf8') +
        fs.readFileSync(path.join(tmp.dir, format, 'test.jsonl'), 'utf8') +
        fs.readFileSync(path.join(tmp.dir, format, 'validation.jsonl'), 'utf8');
      expect(validateJsonl(text, format)).toMatchObject({ lines: m.counts.total, errors: [] });
    }
    const dpo = await exportDataset(
      fb.db,
      fb.search,
      base('dpo', { format: 'dpo', sources: ['preferences'], resetCursor: true }),
    );
    expect(dpo.counts.total).toBe(2);
    const lines = dpo.files.flatMap((f) =>
      fs
        .readFileSync(path.join(tmp.dir, 'dpo', f.name), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
    const pair = JSON.parse(lines.find((l) => l.includes('變頻器過電流')) ?? '{}') as {
      chosen: string;
      rejected: string;
    };
    expect(pair.chosen).toContain('變頻器過電流');
    expect(pair.rejected).toContain('[1]');
    await expect(
      exportDataset(fb.db, fb.search, base('bad', { format: 'dpo', sources: ['answers'] })),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('generates question–answer pairs from chunks with the LLM, keeping chunk and page', async () => {
    const generator = gen((u) =>
      u.includes('F0001') ? '{"question": "What is F0001?", "answer": "An inverter overcurrent trip."}' : 'not json',
    );
    const m = await exportDataset(
      fb.db,
      fb.search,
      base('gen', { sources: ['generated'], generateCount: 10, generator, resetCursor: true }),
    );
    expect(m.counts.total).toBe(1);
    expect(m.dropped.generationFailed).toBeGreaterThanOrEqual(1);
    expect(m.generatorModel).toBe('scripted-test-generator');
    const line =
      m.files.flatMap((f) =>
        fs
          .readFileSync(path.join(tmp.dir, 'gen', f.name), 'utf8')
          .split('\n')
          .filter(Boolean),
      )[0] ?? '{}';
    const parsed = JSON.parse(line) as { meta: { source: string; chunkIds: number[] } };
    expect(parsed.meta.source).toBe('generated');
    expect(parsed.meta.chunkIds).toHaveLength(1);
  });

  it('exports corrected thumbs-down questions as an eval set that fieldbook eval reads', async () => {
    const m = await exportDataset(fb.db, fb.search, base('evalset', { evalSet: true, resetCursor: true }));
    const queries = readJsonl(path.join(tmp.dir, 'evalset', 'eval', 'queries.jsonl'), EvalQueryLine);
    expect(queries.length).toBe(2);
    const corpusIds = new Set(
      fs
        .readFileSync(path.join(tmp.dir, 'evalset', 'eval', 'corpus.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id),
    );
    for (const q of queries) for (const g of q.gold_ids) expect(corpusIds.has(g)).toBe(true);
    expect(m.files.map((f) => f.name)).toContain('eval/queries.jsonl');
  });

  it('reports invalid training lines by line number', () => {
    const text = [
      JSON.stringify({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'a' },
        ],
      }),
      '{not json',
      JSON.stringify({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'bot', content: 'a' },
        ],
      }),
      JSON.stringify({
        messages: [
          { role: 'user', content: '' },
          { role: 'assistant', content: 'a' },
        ],
      }),
    ].join('\n');
    const r = validateJsonl(text, null);
    expect(r.format).toBe('chat');
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4]);
  });

  it('redacts zh-TW and English PII patterns and counts them', () => {
    const counts = emptyCounts();
    const out = redactPii(
      '請聯絡 02-2345-6789 或 +886 912 345 678，email a.b@c.tw，員工編號 A12345，IP 192.168.1.10，ID F223456789',
      counts,
    );
    expect(out).toBe('請聯絡 [PHONE] 或 [PHONE]，email [EMAIL]，[EMPLOYEE_ID]，IP [IP]，ID [NATIONAL_ID]');
    expect(counts).toEqual({ email: 1, phone: 2, nationalId: 1, employeeId: 1, ip: 1 });
  });
});
