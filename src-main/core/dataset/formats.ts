/**
 * LoRA training formats: OpenAI-style chat JSONL, ShareGPT, Alpaca and DPO preference
 * pairs — writers and a validator that reports problems by line.
 */

export type DatasetFormat = 'chat' | 'sharegpt' | 'alpaca' | 'dpo';
export const DATASET_FORMATS: DatasetFormat[] = ['chat', 'sharegpt', 'alpaca', 'dpo'];

export interface Provenance {
  source: 'approved-answer' | 'expert-correction' | 'generated' | 'preference';
  chunkIds: number[];
  documents: Array<{ id: number; path: string; version: number }>;
  kbVersion: string;
  answerId?: number;
  page?: number | null;
  /** Corrections and preference pairs: the reviewer who accepted or edited the correction. */
  approvedBy?: string;
  /** …and whether they took it as written or edited it. */
  review?: 'accepted' | 'edited';
}

export interface Example {
  id: string;
  system: string;
  question: string;
  /** Retrieved context, included in the prompt only for RAG-style training. */
  context: string | null;
  answer: string;
  /** For preference pairs: the rejected (wrong) answer. */
  rejected?: string;
  meta: Provenance;
}

function userText(e: Example): string {
  return e.context ? `Context:\n${e.context}\n\nQuestion: ${e.question}` : e.question;
}

export function formatExample(e: Example, format: DatasetFormat): Record<string, unknown> {
  switch (format) {
    case 'chat':
      return {
        messages: [
          { role: 'system', content: e.system },
          { role: 'user', content: userText(e) },
          { role: 'assistant', content: e.answer },
        ],
        meta: { id: e.id, ...e.meta },
      };
    case 'sharegpt':
      return {
        conversations: [
          { from: 'system', value: e.system },
          { from: 'human', value: userText(e) },
          { from: 'gpt', value: e.answer },
        ],
        meta: { id: e.id, ...e.meta },
      };
    case 'alpaca':
      return {
        instruction: e.question,
        input: e.context ?? '',
        output: e.answer,
        system: e.system,
        meta: { id: e.id, ...e.meta },
      };
    case 'dpo':
      return {
        prompt: userText(e),
        chosen: e.answer,
        rejected: e.rejected ?? '',
        system: e.system,
        meta: { id: e.id, ...e.meta },
      };
  }
}

export interface LineError {
  line: number;
  message: string;
}

const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v.trim().length > 0;

function checkLine(obj: unknown, format: DatasetFormat, maxChars: number): string | null {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'not a JSON object';
  const o = obj as Record<string, unknown>;
  const tooLong = (v: unknown): boolean => typeof v === 'string' && v.length > maxChars;
  switch (format) {
    case 'chat': {
      const m = o.messages;
      if (!Array.isArray(m) || m.length < 2) return '"messages" must be an array of at least 2 messages';
      const roles = m.map((x) => (x as { role?: unknown }).role);
      if (roles.some((r) => r !== 'system' && r !== 'user' && r !== 'assistant'))
        return 'roles must be system, user or assistant';
      if (roles[roles.length - 1] !== 'assistant') return 'the last message must be from the assistant';
      if (!roles.includes('user')) return 'a user message is required';
      if (m.some((x) => !nonEmpty((x as { content?: unknown }).content)))
        return 'every message needs non-empty "content"';
      if (m.some((x) => tooLong((x as { content?: unknown }).content)))
        return `a message is longer than ${maxChars} characters`;
      return null;
    }
    case 'sharegpt': {
      const c = o.conversations;
      if (!Array.isArray(c) || c.length < 2) return '"conversations" must be an array of at least 2 turns';
      const froms = c.map((x) => (x as { from?: unknown }).from);
      if (froms.some((f) => f !== 'system' && f !== 'human' && f !== 'gpt'))
        return '"from" must be system, human or gpt';
      if (froms[froms.length - 1] !== 'gpt') return 'the last turn must be from gpt';
      if (c.some((x) => !nonEmpty((x as { value?: unknown }).value))) return 'every turn needs a non-empty "value"';
      if (c.some((x) => tooLong((x as { value?: unknown }).value)))
        return `a turn is longer than ${maxChars} characters`;
      return null;
    }
    case 'alpaca':
      if (!nonEmpty(o.instruction) || !nonEmpty(o.output)) return '"instruction" and "output" must be non-empty';
      if (typeof o.input !== 'string') return '"input" must be a string';
      if ([o.instruction, o.input, o.output].some(tooLong)) return `a field is longer than ${maxChars} characters`;
      return null;
    case 'dpo':
      if (!nonEmpty(o.prompt) || !nonEmpty(o.chosen) || !nonEmpty(o.rejected))
        return '"prompt", "chosen" and "rejected" must be non-empty';
      if (o.chosen === o.rejected) return '"chosen" and "rejected" are identical';
      if ([o.prompt, o.chosen, o.rejected].some(tooLong)) return `a field is longer than ${maxChars} characters`;
      return null;
  }
}

/** Guess the format of a line (for `dataset validate` without --format). */
export function detectFormat(obj: unknown): DatasetFormat | null {
  if (typeof obj !== 'object' || obj === null) return null;
  const o = obj as Record<string, unknown>;
  if ('messages' in o) return 'chat';
  if ('conversations' in o) return 'sharegpt';
  if ('chosen' in o && 'rejected' in o) return 'dpo';
  if ('instruction' in o) return 'alpaca';
  return null;
}

export function validateJsonl(
  text: string,
  format: DatasetFormat | null,
  maxChars = 20_000,
): { format: DatasetFormat | null; lines: number; errors: LineError[] } {
  const errors: LineError[] = [];
  let fmt = format;
  let lines = 0;
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    lines++;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      errors.push({ line: i + 1, message: `not valid JSON: ${(err as Error).message}` });
      return;
    }
    fmt ??= detectFormat(obj);
    if (!fmt) {
      errors.push({
        line: i + 1,
        message: 'unknown format (no messages, conversations, instruction or chosen/rejected)',
      });
      return;
    }
    const problem = checkLine(obj, fmt, maxChars);
    if (problem) errors.push({ line: i + 1, message: problem });
  });
  return { format: fmt, lines, errors };
}
