/** Messages between the answer service and the LLM process. */

export interface LlmLoadOptions {
  modelPath: string;
  contextSize: number;
  threads: number;
  systemPrompt: string;
}

export type LlmRequest =
  | ({ type: 'load' } & LlmLoadOptions)
  | { type: 'generate'; id: number; user: string; maxTokens: number; timeoutMs: number }
  | { type: 'cancel'; id: number }
  | { type: 'count'; id: number; text: string }
  | { type: 'unload' };

export type StopReason = 'eos' | 'maxTokens' | 'timeout' | 'cancelled';

export type LlmResponse =
  | { type: 'loaded'; contextSize: number; loadMs: number }
  | { type: 'load-error'; message: string }
  | { type: 'token'; id: number; text: string }
  | {
      type: 'done';
      id: number;
      text: string;
      tokens: number;
      timeToFirstTokenMs: number | null;
      stopReason: StopReason;
    }
  | { type: 'failed'; id: number; message: string }
  | { type: 'count'; id: number; tokens: number };
