/** Terminal output helpers for the CLI. */
import type { AnswerResult } from '../core/answer/answer-service';
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

/**
 * What happened and what to do, naming the file. `detail: false` for parser failures, whose
 * detail is internal text (pdf.js, xmldom, exit codes): it stays in --json only.
 */
export function formatError(o: Output, e: ErrorReport, opts: { detail?: boolean } = {}): string {
  const file = e.file ? `${e.file}: ` : '';
  const detail = e.detail && opts.detail !== false ? ` (${e.detail})` : '';
  return `${file}${e.message}${detail}\n   → ${e.hint}`;
}

/** Citations, safety rules and status lines printed under an answer. */
export function printAnswerDetails(o: Output, res: AnswerResult): void {
  o.out('');
  if (res.needsReview) o.out(bold(o, `⚠ Needs manual review (confidence ${res.confidence.toFixed(2)})`));
  for (const c of res.citations) {
    const path = c.headingPath.filter((h) => h !== c.docTitle).join(' › ');
    const where = [pageLabel(c.page, c.page), path].filter(Boolean).join(' · ');
    o.out(
      `[${c.n}] ${c.docTitle}${where ? `  ${where}` : ''}${c.supported ? '' : '  (unsupported — check the source)'}`,
    );
    o.out(dim(o, `    ${c.sourcePath}`));
  }
  if (res.safetyRules.length) {
    o.out(bold(o, 'Safety rules:'));
    for (const r of res.safetyRules)
      o.out(`  ${r.docTitle}  ${pageLabel(r.page, r.page)} ${r.headingPath.join(' › ')}`);
  }
  if (res.invalidCitations.length) {
    o.out(dim(o, `Dropped citation markers that pointed at nothing: ${res.invalidCitations.join(', ')}`));
  }
  const ttft = res.timings.timeToFirstTokenMs;
  const parts = [
    `mode: ${res.mode}${res.model ? ` (${res.model})` : ''}`,
    `confidence ${res.confidence.toFixed(2)}`,
    `conversation ${res.conversationId}`,
    ttft !== undefined && ttft !== null ? `first token ${ttft} ms` : '',
    res.notice ?? '',
  ];
  o.out(dim(o, parts.filter(Boolean).join(' · ')));
}
