import { describe, expect, it } from 'vitest';
import { chunkBlocks, joinText, sizeOf, splitLong, splitSentences } from './chunker';
import type { Block } from './types';

const p = (text: string, page: number | null = 1): Block => ({ kind: 'paragraph', text, page, boxes: [] });
const h = (text: string, level: number): Block => ({ kind: 'heading', text, level, page: 1, boxes: [] });

describe('sizeOf / joinText', () => {
  it('counts a CJK character as one token and Latin characters as a quarter', () => {
    expect(sizeOf('復位')).toBe(2);
    expect(sizeOf('abcd')).toBe(1);
  });
  it('joins CJK without a space and Latin with one', () => {
    expect(joinText('復位', '步驟')).toBe('復位步驟');
    expect(joinText('reset', 'the drive')).toBe('reset the drive');
  });
});

describe('splitSentences', () => {
  it('splits at CJK sentence ends 。！？； and Latin full stops', () => {
    expect(splitSentences('先停機。再上鎖！確認了嗎？是；OK. Next step.')).toEqual([
      '先停機。',
      '再上鎖！',
      '確認了嗎？',
      '是；',
      'OK.',
      'Next step.',
    ]);
  });
});

describe('splitLong', () => {
  it('never cuts inside a Latin word', () => {
    const sentence = 'hydraulic pressure accumulator discharge verification procedure '.repeat(10).trim();
    const pieces = splitLong(sentence, 20);
    expect(pieces.length).toBeGreaterThan(1);
    const words = new Set(sentence.split(' '));
    for (const piece of pieces) for (const w of piece.split(' ')) expect(words.has(w)).toBe(true);
  });
});

describe('chunkBlocks', () => {
  it('follows headings: each chunk carries its heading path and never crosses a heading', () => {
    const chunks = chunkBlocks(
      [h('PLC 手冊', 1), h('復位步驟', 2), p('按下復位鍵。'), h('注意事項', 2), p('作業前先上鎖掛牌。')],
      { chunkSize: 200, chunkOverlap: 20 },
    );
    expect(chunks.map((c) => c.headingPath)).toEqual([
      ['PLC 手冊', '復位步驟'],
      ['PLC 手冊', '注意事項'],
    ]);
    expect(chunks[0]?.text).toBe('復位步驟\n按下復位鍵。');
    expect(chunks[1]?.text).toContain('上鎖掛牌');
  });

  it('keeps chunks within the size and carries overlap into the next chunk', () => {
    const sentences = Array.from({ length: 30 }, (_, i) => `第${i + 1}步驟完成後檢查壓力表讀數。`);
    const chunks = chunkBlocks([p(sentences.join(''))], { chunkSize: 60, chunkOverlap: 20 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(sizeOf(c.text)).toBeLessThanOrEqual(60);
    // The last sentence of one chunk opens the next.
    const lastOfFirst = splitSentences(chunks[0]?.text ?? '').at(-1) ?? '';
    expect(chunks[1]?.text.startsWith(lastOfFirst)).toBe(true);
    // Nothing is lost.
    const all = chunks.map((c) => c.text).join('');
    for (const s of sentences) expect(all).toContain(s);
  });

  it('records the page range of a chunk that spans pages', () => {
    const chunks = chunkBlocks([p('Page one text.', 3), p('Page two text.', 4)], { chunkSize: 200, chunkOverlap: 0 });
    expect(chunks).toHaveLength(1);
    expect([chunks[0]?.pageStart, chunks[0]?.pageEnd]).toEqual([3, 4]);
  });

  it('keeps table rows whole when a table is split', () => {
    const rows = Array.from({ length: 40 }, (_, i) => `Bolt M${i + 6} | ${10 + i} Nm | check weekly`);
    const chunks = chunkBlocks([{ kind: 'table', text: rows.join('\n'), page: 2, boxes: [] }], {
      chunkSize: 40,
      chunkOverlap: 0,
    });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) for (const line of c.text.split('\n')) expect(rows).toContain(line);
  });
});

describe('splitSentences regression: list numbers', () => {
  it('keeps "1." with its step instead of splitting it off', () => {
    expect(splitSentences('1. 按下復位鍵。2. 確認燈號。')).toEqual(['1. 按下復位鍵。', '2. 確認燈號。']);
    expect(splitSentences('1. Press reset. 2. Wait.')).toEqual(['1. Press reset.', '2. Wait.']);
  });
});
