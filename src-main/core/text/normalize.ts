/**
 * Text normalisation for matching: full-width → half-width (NFKC), case folding,
 * and Traditional ↔ Simplified folding (both fold to one form so 復位 matches 复位).
 * Used on both sides — index and query — so they always agree.
 */
import * as OpenCC from 'opencc-js';

type Convert = (text: string) => string;

/**
 * The OpenCC converters, built on first use: building one loads its dictionaries (~120 ms and
 * much garbage), which a process that never meets Chinese text (a parser reading an English
 * manual) should not pay at start.
 */
let converters: { toSimplified: Convert; toTraditional: Convert } | null = null;
function openCc(): { toSimplified: Convert; toTraditional: Convert } {
  converters ??= {
    toSimplified: OpenCC.Converter({ from: 'tw', to: 'cn' }),
    toTraditional: OpenCC.Converter({ from: 'cn', to: 'tw' }),
  };
  return converters;
}
const toSimplified: Convert = (text) => openCc().toSimplified(text);
const toTraditional: Convert = (text) => openCc().toTraditional(text);

/** CJK ideographs (unified + extension A + compatibility) — the characters we bigram. */
const CJK_RE = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;
const CJK_GLOBAL_RE = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/gu;

export function isCjkChar(ch: string): boolean {
  return CJK_RE.test(ch);
}

export function countCjk(text: string): number {
  return text.match(CJK_GLOBAL_RE)?.length ?? 0;
}

/** NFKC + lower case + fold Traditional to Simplified. */
export function normalizeForMatch(text: string): string {
  const nfkc = text.normalize('NFKC').toLowerCase();
  return CJK_RE.test(nfkc) ? toSimplified(nfkc) : nfkc;
}

/** Simplified Chinese characters written as Traditional (Taiwan); other text unchanged. */
export function simplifiedToTraditional(text: string): string {
  return CJK_RE.test(text) ? toTraditional(text) : text;
}

export type LanguageTag = 'zh-TW' | 'zh-Hans' | 'en' | 'mixed' | 'unknown';

/** Rough language of a text: share of CJK vs Latin letters; Traditional vs Simplified by conversion. */
export function detectLanguage(text: string): LanguageTag {
  const sample = text.slice(0, 20_000);
  const cjk = countCjk(sample);
  const latin = sample.match(/[A-Za-z]/g)?.length ?? 0;
  if (cjk === 0 && latin === 0) return 'unknown';
  // A CJK character carries roughly as much as a short Latin word.
  const cjkWeight = cjk * 3;
  if (cjkWeight < latin * 0.2) return 'en';
  const cjkChars = sample.match(CJK_GLOBAL_RE)?.join('') ?? '';
  const simplified = toSimplified(cjkChars);
  const traditional = toTraditional(cjkChars);
  let tradOnly = 0;
  let simpOnly = 0;
  for (let i = 0; i < cjkChars.length; i++) {
    if (simplified[i] !== cjkChars[i]) tradOnly++;
    if (traditional[i] !== cjkChars[i]) simpOnly++;
  }
  const zh: LanguageTag = tradOnly >= simpOnly ? 'zh-TW' : 'zh-Hans';
  if (latin > cjkWeight * 0.6) return 'mixed';
  return zh;
}

/** Is the question written in Chinese (so the answer should be too)? */
export function isChineseText(text: string): boolean {
  const lang = detectLanguage(text);
  return lang === 'zh-TW' || lang === 'zh-Hans';
}
