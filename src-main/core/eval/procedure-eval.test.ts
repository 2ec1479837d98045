import { describe, expect, it } from 'vitest';
import { evenSubsample, scoreProcedureAnswer, summarizeProcedures, type ProcedureQuestion } from './procedure-eval';

// A tiny hand-made set: two questions, answers written by hand, figures worked out on paper.
const RESET: ProcedureQuestion = {
  id: 'reset',
  lang: 'zh-TW',
  question: 'E-203 如何復位？',
  sources: [{ file: 'samples/plc.pdf', heading: '3.2 E-203 伺服過載之復位' }],
  steps: ['量測馬達溫度', '轉動送料輥', ['依 3.1 復位', 'reset per 3.1']],
  safety: ['超過 80 °C 時須冷卻 15 分鐘', '上鎖掛牌'],
};
const LOCK: ProcedureQuestion = {
  id: 'lock',
  lang: 'en',
  question: 'How do I lock out?',
  sources: [{ file: 'samples/loto.docx' }],
  steps: ['Apply your lock', 'Verify zero energy'],
  safety: ['Release stored energy'],
};

describe('issue 13.2: procedure answer metrics', () => {
  it('scores step recall, order, safety recall and citation precision of one answer', () => {
    // Two of three steps (the second by its alternative), out of order; one of two safety conditions;
    // one of two citations in the gold section. Spacing and full-width forms do not matter.
    const s = scoreProcedureAnswer(RESET, {
      text: '1. Reset per 3.1.\n2. 量測馬達溫度；超過 80 °C 時須冷卻 15 分鐘。',
      citations: [
        { sourcePath: '/kb/plc.pdf', headingPath: ['手冊', '3.2 E-203 伺服過載之復位'] },
        { sourcePath: '/kb/plc.pdf', headingPath: ['手冊', '3.1 一般復位程序'] },
      ],
    });
    expect(s).toEqual({
      id: 'reset',
      stepsFound: 2,
      steps: 3,
      inOrder: false,
      safetyFound: 1,
      safety: 2,
      citationPrecision: 0.5,
      missing: ['step: 轉動送料輥', 'safety: 上鎖掛牌'],
    });
  });

  it('averages over questions: recall per question, order over answers with two steps found, safety over all conditions', () => {
    const reset = scoreProcedureAnswer(RESET, {
      text: '1. Reset per 3.1.\n2. 量測馬達溫度；超過 80 °C 時須冷卻 15 分鐘。',
      citations: [{ sourcePath: '/kb/plc.pdf', headingPath: ['3.2 E-203 伺服過載之復位'] }],
    });
    const lock = scoreProcedureAnswer(LOCK, {
      text: 'Apply your lock. Release stored energy. Verify zero energy.',
      citations: [{ sourcePath: '/other/loto.docx', headingPath: [] }],
    });
    expect(lock).toMatchObject({ stepsFound: 2, inOrder: true, safetyFound: 1, citationPrecision: 1 });
    expect(summarizeProcedures([reset, lock])).toEqual({
      questions: 2,
      stepRecall: 0.8333, // (2/3 + 2/2) / 2
      stepsInOrder: 0.5, // reset out of order, lock in order
      safetyRecall: 0.6667, // (1 + 1) / (2 + 1)
      allSafetyPresent: 0.5, // lock has all, reset not
      citationPrecision: 1, // 1 and 1
    });
  });

  it('counts an answer without citations or steps as nothing found, not as an error', () => {
    const s = scoreProcedureAnswer(LOCK, { text: 'The knowledge base does not contain an answer.', citations: [] });
    expect(s).toMatchObject({ stepsFound: 0, inOrder: null, safetyFound: 0, citationPrecision: null });
    expect(summarizeProcedures([s])).toMatchObject({ stepRecall: 0, stepsInOrder: 0, citationPrecision: 0 });
  });

  it('--limit asks an evenly spaced subsample in the set order, so every document and language keeps a share', () => {
    const items = Array.from({ length: 45 }, (_, i) => i);
    expect(evenSubsample(items, 15)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42]);
    expect(evenSubsample(items, 4)).toEqual([0, 11, 22, 33]);
    expect(evenSubsample(items, 50)).toHaveLength(45);
  });
});
