import { describe, expect, it } from 'vitest';
import { modelDeclined } from './answer-eval';

describe('issue 13.5: a generated answer that declines counts on unanswerable questions', () => {
  it('recognises the system prompt rule 3 answer in English and Chinese, not a normal answer', () => {
    expect(modelDeclined('The knowledge base does not contain the warranty period of the robot arm.')).toBe(true);
    expect(modelDeclined("The context doesn't mention it.")).toBe(true);
    expect(modelDeclined('知識庫中找不到相關資料。')).toBe(true);
    expect(modelDeclined('上下文沒有提到這個問題。')).toBe(true);
    expect(modelDeclined('Check the motor cable for damage, then reset the drive [1].')).toBe(false);
    expect(modelDeclined('先停機，再按復位鍵三秒鐘 [1]。')).toBe(false);
  });
});
