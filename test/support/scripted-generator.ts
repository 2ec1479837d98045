/** A deterministic Generator for answer tests: replies with `reply(prompt)`, streamed in 3-character pieces. */
import { sizeOf } from '../../src-main/core/ingest/chunker';
import type { GenerateRequest, Generator } from '../../src-main/core/llm/llm-client';
import type { StopReason } from '../../src-main/core/llm/llm-protocol';

export interface Scripted extends Generator {
  prompts: string[];
  /** What happened, in order: 'generate' when generation started, then each streamed piece. */
  events: string[];
}

export function scripted(
  reply: (user: string) => string,
  opts: { contextSize?: number; stopReason?: StopReason } = {},
): Scripted {
  const prompts: string[] = [];
  const events: string[] = [];
  return {
    name: 'scripted-test-generator',
    contextSize: opts.contextSize ?? 4096,
    prompts,
    events,
    countTokens: async (text) => Math.ceil(sizeOf(text)),
    async generate(req: GenerateRequest) {
      prompts.push(req.user);
      events.push('generate');
      const text = reply(req.user);
      for (let i = 0; i < text.length; i += 3) req.onToken?.(text.slice(i, i + 3));
      const stopReason = opts.stopReason ?? 'eos';
      return { text, tokens: Math.ceil(text.length / 3), timeToFirstTokenMs: 1, totalMs: 2, stopReason };
    },
    dispose: async () => undefined,
  };
}
