/**
 * The answer prompt: fixed rules in the system prompt (evaluated once and reused by the
 * LLM process), numbered context blocks with document title and page in the user turn.
 */
import type { RankedChunk } from '../search/search-service';

export const SYSTEM_PROMPT = [
  'You are Fieldbook, an assistant for plant maintenance technicians.',
  'Rules:',
  '1. Answer only from the numbered context blocks in the question. Never use outside knowledge.',
  '2. Cite every claim with its block number in square brackets, e.g. [1] or [2][3].',
  '3. If the context does not contain the answer, say plainly that the knowledge base does not contain it. Do not guess.',
  '4. Answer in the language of the question: Traditional Chinese (繁體中文) for Chinese questions, English for English questions.',
  '5. Put safety warnings first. Keep it short: a few sentences or numbered steps.',
].join('\n');

export interface ContextBlock {
  n: number;
  chunkId: number;
  docId: number;
  title: string;
  page: number | null;
  headingPath: string[];
  text: string;
  isSafety: boolean;
}

export function toBlocks(ranked: RankedChunk[]): ContextBlock[] {
  return ranked.map((r, i) => ({
    n: i + 1,
    chunkId: r.chunk.id,
    docId: r.doc.id,
    title: r.doc.title,
    page: r.chunk.pageStart,
    headingPath: r.chunk.headingPath,
    text: r.chunk.text,
    isSafety: r.doc.is_safety === 1,
  }));
}

export function renderBlock(b: ContextBlock): string {
  const where = [b.page !== null ? `p.${b.page}` : '', b.headingPath.join(' › ')].filter(Boolean).join(' · ');
  return `[${b.n}] ${b.isSafety ? '(SAFETY RULE) ' : ''}${b.title}${where ? ` — ${where}` : ''}\n${b.text}`;
}

export function buildUserPrompt(question: string, blocks: ContextBlock[], chinese: boolean): string {
  // A concrete marker, not a placeholder: a small model copied "[編號]" literally (Qwen2.5-0.5B).
  const language = chinese
    ? '請用繁體中文回答，並在每句句末用方括號寫出所依據的區塊號碼，例如 [1] 或 [2][3]。'
    : 'Answer in English and end each sentence with the number of the block it comes from, e.g. [1] or [2][3].';
  return `Context:\n\n${blocks.map(renderBlock).join('\n\n')}\n\nQuestion: ${question}\n${language}`;
}

/**
 * Keep the highest-ranked blocks whose rendered text fits the token budget; the
 * lowest-ranked are dropped first. Blocks are renumbered 1..n in rank order.
 */
export async function fitBlocks(
  blocks: ContextBlock[],
  budgetTokens: number,
  countTokens: (text: string) => Promise<number>,
): Promise<{ kept: ContextBlock[]; dropped: number; tokens: number }> {
  const kept: ContextBlock[] = [];
  let tokens = 0;
  for (const b of blocks) {
    const t = await countTokens(renderBlock(b));
    if (tokens + t > budgetTokens && kept.length > 0) continue;
    if (t > budgetTokens && kept.length === 0) {
      // A single oversized block: keep its beginning rather than nothing.
      const ratio = budgetTokens / t;
      kept.push({ ...b, text: b.text.slice(0, Math.max(50, Math.floor(b.text.length * ratio * 0.9))) });
      tokens = budgetTokens;
      continue;
    }
    kept.push(b);
    tokens += t;
  }
  return { kept: kept.map((b, i) => ({ ...b, n: i + 1 })), dropped: blocks.length - kept.length, tokens };
}
