/**
 * Highlighted snippets: find where the (normalised) query terms occur in the
 * original text — so 复位 highlights 復位 — and cut the densest window around them.
 */
import { normalizeForMatch } from './normalize';

export interface Snippet {
  text: string;
  /** [start, end) offsets of matched terms within `text`. */
  highlights: Array<[number, number]>;
}

/** Normalise char by char, keeping a map from normalised offsets back to original offsets. */
function normalizedWithMap(text: string): { norm: string; map: number[] } {
  const whole = normalizeForMatch(text);
  // Usual case: folding kept every UTF-16 unit in place, so offsets map one to one.
  if (whole.length === text.length) return { norm: whole, map: Array.from({ length: text.length + 1 }, (_, i) => i) };
  let norm = '';
  const map: number[] = [];
  let offset = 0;
  for (const ch of text) {
    const n = normalizeForMatch(ch);
    for (let i = 0; i < n.length; i++) map.push(offset);
    norm += n;
    offset += ch.length;
  }
  map.push(offset);
  return { norm, map };
}

export function findMatches(text: string, terms: string[]): Array<[number, number]> {
  const { norm, map } = normalizedWithMap(text);
  const ranges: Array<[number, number]> = [];
  for (const term of terms) {
    if (!term) continue;
    const latin = /^[a-z0-9]+$/.test(term);
    let from = 0;
    for (;;) {
      const at = norm.indexOf(term, from);
      if (at < 0) break;
      from = at + term.length;
      // Latin terms match at word starts only (so "reset" does not light up inside "preset").
      if (latin && at > 0 && /[a-z0-9]/.test(norm[at - 1] as string)) continue;
      let end = at + term.length;
      if (latin) while (end < norm.length && /[a-z0-9]/.test(norm[end] as string)) end++; // stemmed forms
      ranges.push([map[at] as number, map[end] as number]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export function makeSnippet(text: string, terms: string[], width = 220): Snippet {
  const matches = findMatches(text, terms);
  if (text.length <= width) return { text, highlights: matches };
  // Window start that covers the most matches.
  let bestStart = 0;
  let bestCount = -1;
  for (const [s] of matches) {
    const start = Math.max(0, s - Math.floor(width / 4));
    const count = matches.filter(([a, b]) => a >= start && b <= start + width).length;
    if (count > bestCount) {
      bestCount = count;
      bestStart = start;
    }
  }
  const start = Math.min(bestStart, Math.max(0, text.length - width));
  const end = Math.min(text.length, start + width);
  const prefix = start > 0 ? '…' : '';
  const suffix = end < text.length ? '…' : '';
  const highlights = matches
    .filter(([a, b]) => a >= start && b <= end)
    .map(([a, b]): [number, number] => [a - start + prefix.length, b - start + prefix.length]);
  return { text: prefix + text.slice(start, end) + suffix, highlights };
}
