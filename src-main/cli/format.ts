/** Terminal output helpers for the CLI. */
import type { ErrorReport } from '../core/errors';
import type { SearchHit } from '../core/search/search-service';

export interface Output {
  out(line: string): void;
  err(line: string): void;
  color: boolean;
}

export function bold(o: Output, s: string): string {
  return o.color ? `\x1b[1m${s}\x1b[0m` : s;
}

export function dim(o: Output, s: string): string {
  return o.color ? `\x1b[2m${s}\x1b[0m` : s;
}

export function highlight(o: Output, text: string, ranges: Array<[number, number]>): string {
  let out = '';
  let at = 0;
  for (const [a, b] of ranges) {
    out += text.slice(at, a) + (o.color ? `\x1b[1;33m${text.slice(a, b)}\x1b[0m` : `[${text.slice(a, b)}]`);
    at = b;
  }
  return (out + text.slice(at)).replace(/\s*\n\s*/g, ' ');
}

export function pageLabel(start: number | null, end: number | null): string {
  if (start === null) return '';
  return end !== null && end !== start ? `p.${start}–${end}` : `p.${start}`;
}

export function formatHit(o: Output, hit: SearchHit): string[] {
  const where = [pageLabel(hit.pageStart, hit.pageEnd), hit.headingPath.join(' › ')].filter(Boolean).join(' · ');
  const scores = [
    hit.scores.keyword !== undefined ? `kw ${hit.scores.keyword.toFixed(2)}` : '',
    hit.scores.vector !== undefined ? `vec ${hit.scores.vector.toFixed(3)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return [
    `${bold(o, `${hit.rank}. ${hit.docTitle}`)}${where ? `  ${where}` : ''}${hit.exactCodeMatch ? '  [code match]' : ''}`,
    `   ${highlight(o, hit.snippet, hit.highlights)}`,
    `   ${dim(o, `${hit.sourcePath}${scores ? `  (${scores})` : ''}`)}`,
  ];
}

export function formatError(o: Output, e: ErrorReport): string {
  const file = e.file ? `${e.file}: ` : '';
  const detail = e.detail ? ` (${e.detail})` : '';
  return `${file}${e.message}${detail}\n   → ${e.hint}`;
}
