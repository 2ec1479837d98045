import { describe, expect, it } from 'vitest';
import { chunkBlocks } from '../ingest/chunker';
import type { Block } from '../ingest/types';
import {
  extractiveAnswer,
  joinChunkTexts,
  passageUnits,
  wholeSentences,
  whereLabel,
  type Passage,
  type QuestionTerms,
} from './extractive';

const heading = (text: string, level: number): Block => ({ kind: 'heading', text, level, page: 2, boxes: [] });
const list = (items: string[]): Block => ({
  kind: 'list',
  text: items.map((t, i) => `${i + 1}. ${t}`).join('\n'),
  page: 2,
  boxes: [],
});

// The four steps of MT-A-012 §3.2 as the sample PDF holds them.
const E203_STEPS = [
  '量測送料伺服馬達表面溫度；超過 80 °C 時，須冷卻至少 15 分鐘後才可復位。',
  '上鎖掛牌後，以手轉動送料輥，確認無卡料或異物。',
  '檢查 CV-2 出料端是否堵塞。CV-2 停止或積料時，Press-3 出料受阻，送料伺服負載上升而觸發 E-203。',
  '排除原因後依 3.1 第 5～8 步復位。若伺服驅動器同時顯示 ALM 21，先處理 ALM 21。',
];
const LOTO_STEPS = [
  'Prepare: identify every energy source with the table in section 5 and the LOTO sheet on the machine.',
  'Tell the operators and the Line A shift leader that the machine will be shut down.',
  'Isolate every energy source with its isolation device. To lock out the conveyor, switch off CV-2 main disconnect Q2 in cabinet +A2; for Press-3, switch off main disconnect Q1.',
  'Put your personal red lock and a signed tag on each isolation device.',
  'Release or block stored energy: dump the air, bleed the hydraulic accumulator, and wait 5 minutes for the VFD capacitors to discharge.',
  'Verify zero energy: press the START button (for the conveyor, the CV-2 START button), read the gauges, and test for absence of voltage. Put the control back to OFF after the try-start.',
];

/** Equal weights for every term: enough to test selection without an index. */
function terms(list: string[], procedural = false): QuestionTerms {
  return { terms: list, weights: new Map(list.map((t) => [t, 1])), procedural };
}

describe('issue 13.1: sections are joined from chunks and read back whole', () => {
  it('joins overlapping chunks of a split procedure back into every step, none repeated', () => {
    // A small chunk size forces the chunker to split the list with overlap, one sentence per line.
    const chunks = chunkBlocks([heading('4.1 Applying the lockout', 2), list(LOTO_STEPS)], {
      chunkSize: 60,
      chunkOverlap: 20,
    });
    expect(chunks.length).toBeGreaterThan(2);
    const joined = joinChunkTexts(chunks.map((c) => c.text));
    const units = passageUnits(joined, '4.1 Applying the lockout');
    expect(units[0]).toEqual({ kind: 'heading', text: '4.1 Applying the lockout' });
    expect(units.slice(1).map((u) => u.text)).toEqual(LOTO_STEPS.map((s, i) => `${i + 1}. ${s}`));
    expect(units.slice(1).every((u) => u.kind === 'item')).toBe(true);
  });

  it('joins chunks without overlap with a line break and keeps wrapped lines in one paragraph', () => {
    expect(joinChunkTexts(['1. First step.', '2. Second step.'])).toBe('1. First step.\n2. Second step.');
    const units = passageUnits(
      '本程序說明如何判讀故障代碼、排除原因並執行故障復位，使設備安全恢復\n生產。\n代碼 | 說明\nE-203 | 伺服過載',
    );
    expect(units).toEqual([
      { kind: 'para', text: '本程序說明如何判讀故障代碼、排除原因並執行故障復位，使設備安全恢復生產。' },
      { kind: 'row', text: '代碼 | 說明' },
      { kind: 'row', text: 'E-203 | 伺服過載' },
    ]);
    // Short lines without a stop (table cells read column-wise) are not glued together.
    expect(passageUnits('可能原因\n送料輥卡料').map((u) => u.text)).toEqual(['可能原因', '送料輥卡料']);
  });

  it('splits whole sentences only: never at "；" or ":", never after a list number', () => {
    expect(wholeSentences(`${E203_STEPS[0]}再確認。`)).toEqual([E203_STEPS[0], '再確認。']);
    expect(wholeSentences('1. Verify zero energy: press START. Then read the gauges; test for voltage.')).toEqual([
      '1. Verify zero energy: press START.',
      'Then read the gauges; test for voltage.',
    ]);
  });
});

describe('issue 13.1: the extractive answer quotes the section that answers, whole', () => {
  const procedure: Passage = {
    title: '沖壓機 Press-3 PLC 故障復位作業程序',
    headingPath: ['沖壓機 Press-3 PLC 故障復位作業程序', '3. 復位步驟', '3.2 E-203 伺服過載之復位'],
    pageStart: 2,
    pageEnd: 2,
    text: `3.2 E-203 伺服過載之復位\n${E203_STEPS.map((s, i) => `${i + 1}. ${s}`).join('\n')}`,
    isSafety: false,
    rank: 1,
  };
  const logEntry: Passage = {
    title: '產線A 故障排除紀錄',
    headingPath: ['產線A 故障排除紀錄', '2024-04-08 沖壓機 Press-3 — E-203 伺服過載'],
    pageStart: null,
    pageEnd: null,
    text: '2024-04-08 沖壓機 Press-3 — E-203 伺服過載\n- 日期時間：2024-04-08 14:20（早班）\n- 代碼：E-203\n- 復位：依 MT-A-012 3.2 於 HMI 按「故障復位」。',
    isSafety: false,
    rank: 0,
  };
  const q = terms(['e', '203', '伺服', '服过', '过载', '复位'], true);

  it('prefers the procedure whose heading answers over a log entry that repeats the code, every step and condition included', () => {
    const res = extractiveAnswer(q, [logEntry, procedure], { maxPassages: 1 });
    expect(res.quoted.map((x) => x.passage)).toEqual([procedure]);
    for (const step of E203_STEPS) expect(res.text).toContain(step);
    expect(res.text).toContain('超過 80 °C 時，須冷卻至少 15 分鐘後才可復位');
    // Where it is from, with the citation marker, leads the quote; the heading is not repeated.
    expect(res.text.split('\n')[0]).toBe(
      '沖壓機 Press-3 PLC 故障復位作業程序 › 3. 復位步驟 › 3.2 E-203 伺服過載之復位 · p.2 [1]',
    );
    expect(res.text.match(/3\.2 E-203 伺服過載之復位/g)).toHaveLength(1);
  });

  it('quotes a long prose section as a window of whole sentences around the best match, marked as cut', () => {
    const filler = Array.from({ length: 30 }, (_, i) => `第${i}句說明其他事項與本題無關。`).join('');
    const prose: Passage = {
      title: '手冊',
      headingPath: ['手冊'],
      pageStart: 3,
      pageEnd: 4,
      text: `${filler}變頻器過電流時，先確認皮帶張力；張力過緊會使電流上升。${filler}`,
      isSafety: false,
      rank: 0,
    };
    const res = extractiveAnswer(terms(['变频', '频器', '电流']), [prose], { passageBudget: 60 });
    expect(res.text).toContain('變頻器過電流時，先確認皮帶張力；張力過緊會使電流上升。');
    expect(res.quoted[0]?.cutBefore).toBe(true);
    expect(res.quoted[0]?.cutAfter).toBe(true);
    expect(res.text.split('\n')).toContain('…');
    expect(whereLabel(prose)).toBe('手冊 · p.3–4');
  });
});
