import { describe, expect, it } from 'vitest';
import { detectLanguage, normalizeForMatch } from './normalize';
import { buildKeywordQuery, DEFAULT_TERM_PRUNING, extractCodes, indexText, pruneCommonTerms } from './terms';

describe('normalizeForMatch', () => {
  it('folds full-width to half-width, case, and Traditional to Simplified', () => {
    expect(normalizeForMatch('ＥＲＲ－２０３')).toBe('err-203');
    expect(normalizeForMatch('復位步驟')).toBe(normalizeForMatch('复位步骤'));
  });
});

describe('detectLanguage', () => {
  it('tells Traditional from Simplified Chinese and English', () => {
    expect(detectLanguage('伺服馬達過載時，請先確認負載後再按復位鍵。')).toBe('zh-TW');
    expect(detectLanguage('伺服马达过载时，请先确认负载后再按复位键。')).toBe('zh-Hans');
    expect(detectLanguage('Press the reset button after checking the servo load.')).toBe('en');
  });
});

describe('indexText', () => {
  it('writes CJK runs as overlapping bigrams and keeps Latin words', () => {
    expect(indexText('復位步驟 reset')).toBe('复位 位步 步骤 reset');
  });
  it('keeps a lone CJK character as a unigram', () => {
    expect(indexText('閥 valve')).toBe('阀 valve');
  });
});

describe('extractCodes', () => {
  it('finds error codes and part numbers in any spelling', () => {
    const codes = extractCodes('Fault E-203 and F0001 on CPU 6ES7 214-1AG40-0XB0, see ALM 21.');
    expect(codes).toEqual(expect.arrayContaining(['E203', 'F0001', '6ES72141AG400XB0', 'ALM21']));
  });
  it('does not treat plain numbers or words as codes', () => {
    expect(extractCodes('Tighten 4 bolts to 25 Nm in 2024.')).toEqual([]);
  });
  it('matches full-width input', () => {
    expect(extractCodes('故障Ｅ－２０３')).toEqual(['E203']);
  });
});

describe('buildKeywordQuery', () => {
  it('turns a two-character Chinese query into one exact term', () => {
    const q = buildKeywordQuery('復位');
    expect(q.terms).toEqual(['复位']);
    expect(q.match).toBe('body : ("复位")');
  });
  it('drops English stopwords and Chinese question words but keeps codes', () => {
    const q = buildKeywordQuery('How do I reset E-203?');
    expect(q.terms).toEqual(['reset', 'e', '203']);
    expect(q.codes).toEqual(['E203']);
    expect(q.match).toContain('codes : ("E203")');
    expect(buildKeywordQuery('如何復位').terms).toEqual(['何复', '复位']);
  });
  it('returns no expression for a query with nothing searchable', () => {
    expect(buildKeywordQuery('?? !!').match).toBeNull();
  });
  it('escapes double quotes so user text cannot break the FTS expression', () => {
    expect(buildKeywordQuery('a"b').match).toBe('body : ("b")');
  });
});

describe('issue 17: pruneCommonTerms', () => {
  const idf = new Map([
    ['的是', 0.3],
    ['可以', 0.9],
    ['复位', 6.2],
    ['伺服', 5.1],
    ['pump', 2.0],
  ]);

  it('leaves out terms in a large share of the chunks and keeps the informative ones in order', () => {
    expect(pruneCommonTerms(['的是', '伺服', '可以', '复位', 'pump'], idf)).toEqual(['伺服', '复位']);
  });

  it('keeps the rarest two when every term is common, and unseen terms always', () => {
    expect(pruneCommonTerms(['的是', '可以', 'pump'], idf)).toEqual(['可以', 'pump']);
    expect(pruneCommonTerms(['的是', 'zzz'], idf, { ...DEFAULT_TERM_PRUNING, minIdf: 3, minKeep: 0 })).toEqual(['zzz']);
  });

  it('keeps at most maxTerms, the rarest', () => {
    expect(
      pruneCommonTerms(['pump', '伺服', '复位'], idf, { ...DEFAULT_TERM_PRUNING, minIdf: 0, maxTerms: 2 }),
    ).toEqual(['伺服', '复位']);
  });

  it('keeps the rarest terms within the budget of matching chunks, and at least minKeep', () => {
    const matches = new Map([
      ['复位', 900],
      ['伺服', 3000],
      ['pump', 30_000],
      ['可以', 80_000],
    ]);
    const limits = { ...DEFAULT_TERM_PRUNING, minIdf: 0, maxMatches: 10_000 };
    expect(pruneCommonTerms(['pump', '伺服', '可以', '复位'], idf, limits, matches)).toEqual(['伺服', '复位']);
    expect(pruneCommonTerms(['pump', '伺服', '可以', '复位'], idf, { ...limits, maxMatches: 40_000 }, matches)).toEqual(
      ['pump', '伺服', '复位'],
    );
    // Both rarest terms are kept even when they alone are over the budget.
    expect(pruneCommonTerms(['pump', '可以'], idf, limits, matches)).toEqual(['pump', '可以']);
  });

  it('narrows only the index query: highlight terms stay complete', () => {
    const seen = new Map([...idf, ['服可', 1.1], ['以复', 1.2]]);
    const q = buildKeywordQuery('伺服可以复位', (terms) => pruneCommonTerms(terms, seen));
    expect(q.match).toBe('body : ("伺服" OR "复位")');
    expect(q.terms).toEqual(['伺服', '服可', '以复', '复位']);
  });
});
