/**
 * Issue 13 (the demo questions a new user asked on resources/samples): extractive answers
 * without any model, over the real sample PDFs, DOCX and Markdown ingested as the demo does.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { ingestSamples } from '../../src-main/core/samples';
import { samplesDir, tempDir } from '../support/paths';

const squash = (s: string): string => s.replace(/\s+/g, '');

describe('issue 13: extractive answers on the sample knowledge base', () => {
  const tmp = tempDir();
  let fb: Fieldbook;

  beforeAll(async () => {
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    await ingestSamples(fb, samplesDir);
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('issue 13.1: "E-203 伺服過載如何復位？" quotes all four steps of §3.2 with the cooling condition, not the log headers', async () => {
    const res = await fb.answers.ask('E-203 伺服過載如何復位？');
    expect(res.mode).toBe('extractive');
    const text = squash(res.answer);
    for (const step of [
      '1. 量測送料伺服馬達表面溫度；超過 80 °C 時，須冷卻至少 15 分鐘後才可復位。',
      '2. 上鎖掛牌後，以手轉動送料輥，確認無卡料或異物。',
      '3. 檢查 CV-2 出料端是否堵塞。CV-2 停止或積料時，Press-3 出料受阻，送料伺服負載上升而觸發 E-203。',
      '4. 排除原因後依 3.1 第 5～8 步復位。若伺服驅動器同時顯示 ALM 21，先處理 ALM 21。',
    ]) {
      expect(text).toContain(squash(step));
    }
    // The steps come in their order, and the log entry's header lines are not the answer.
    expect(text.indexOf('1.量測')).toBeLessThan(text.indexOf('4.排除原因'));
    expect(res.answer).not.toContain('日期時間：2024-04-08');
    expect(res.citations[0]).toMatchObject({ page: 2, docTitle: '沖壓機 Press-3 PLC 故障復位作業程序' });
    expect(res.citations[0]?.headingPath.at(-1)).toBe('3.2 E-203 伺服過載之復位');
    // Where it is from leads the quote.
    expect(res.answer).toContain('3. 復位步驟 › 3.2 E-203 伺服過載之復位 · p.2 [1]');
  });

  it('issue 13.1: "How do I lock out the conveyor before maintenance?" quotes the whole lockout procedure', async () => {
    const res = await fb.answers.ask('How do I lock out the conveyor before maintenance?');
    expect(res.mode).toBe('extractive');
    for (const step of [
      'Prepare: identify every energy source',
      'switch off CV-2 main disconnect Q2 in cabinet +A2; for Press-3, switch off main disconnect Q1',
      'Put your personal red lock and a signed tag on each isolation device.',
      'Release or block stored energy: dump the air',
      'Verify zero energy: press the START button (for the conveyor, the CV-2 START button), read the gauges, and test for absence of voltage. Put the control back to OFF after the try-start.',
    ]) {
      expect(res.answer).toContain(step);
    }
    // Not the responsibilities, nor the rule about an absent person's lock.
    expect(res.answer).not.toContain('The shift leader keeps the lock register');
    expect(res.answer).not.toContain('If the owner has left the site');
    expect(res.citations[0]?.headingPath.at(-1)).toBe('4.1 Applying the lockout');
    expect(res.safety.rulesFound).toBe(true);
  });

  it('issue 13.1: "高壓電作業前要做什麼？" quotes all five required items', async () => {
    const res = await fb.answers.ask('高壓電作業前要做什麼？');
    for (const item of [
      '1. 填寫「電氣作業許可單」，經值班主管及電氣負責人簽核。',
      '2. 召開工具箱會議（TBM），說明作業範圍、停電範圍、危害及緊急應變方式。',
      '3. 確認作業人員具備高壓電氣技術人員資格，並穿戴第 6 節規定之防護具。',
      '4. 確認檢電器在校驗有效期限內，並於已知帶電之電源上測試功能正常。',
      '5. 確認停電範圍及所有可能逆送電之來源（如發電機、電容器組、雙電源）。',
    ]) {
      expect(res.answer).toContain(item);
    }
    expect(res.citations[0]?.headingPath.at(-1)).toBe('4. 高壓電作業前準備');
  });

  it('issue 13.4: confidence separates a right quote from a wrong one, and only the wrong one needs review', async () => {
    const right = await fb.answers.ask('E-203 伺服過載如何復位？');
    const exact = await fb.answers.ask('What is the torque for the gearmotor mounting bolts?');
    // The knowledge base has nothing on touch screens: the quoted section only shares a word or two.
    const wrong = await fb.answers.ask('How do I calibrate the HMI touch screen?');
    expect(exact.answer).toContain('Gearmotor mounting bolts | M12 | 79 N·m');
    expect(wrong.answer).not.toMatch(/calibrat/i);
    for (const res of [right, exact]) {
      expect(res.needsReview).toBe(false);
      expect(res.confidence).toBeGreaterThan(wrong.confidence + 0.2);
    }
    expect(wrong.mode).toBe('extractive');
    expect(wrong.needsReview).toBe(true);
    expect(wrong.confidenceSignals?.passage).toBeLessThan(0.5);
  });

  it('issue 13.3: "What is the warranty period of the robot arm?" after the lockout question is a new question, not a follow-up', async () => {
    const first = await fb.answers.ask('How do I lock out the conveyor before maintenance?');
    const second = await fb.answers.ask('What is the warranty period of the robot arm?', {
      conversationId: first.conversationId,
    });
    expect(second.retrievalQuery).toBe('What is the warranty period of the robot arm?');
    expect(second.mode).toBe('not-found');
    expect(second.citations).toEqual([]);
    // The same question in a new conversation gives the same answer.
    expect((await fb.answers.ask('What is the warranty period of the robot arm?')).mode).toBe('not-found');
    // A question that refers back is still joined with the previous one.
    const third = await fb.answers.ask('And how do I remove it afterwards?', { conversationId: first.conversationId });
    expect(third.retrievalQuery).toBe(
      'What is the warranty period of the robot arm?\nAnd how do I remove it afterwards?',
    );
  });
});
