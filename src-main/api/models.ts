/**
 * Models: the embedding and language models' state; switching a model (admin) approves it and embeds what is missing.
 */
import type { ApiContext, HandlerGroup } from './api-context';

export function modelHandlers(ctx: ApiContext): HandlerGroup<'listModels' | 'useModel'> {
  const { fb, emit, audit } = ctx;
  return {
    async listModels() {
      return { embedding: await fb.embeddingStatus(), llm: await fb.llmStatus() };
    },
    async useModel(input, s) {
      s.require('admin', 'Changing models');
      if (input.kind === 'embedding') {
        await fb.useEmbeddingModel(input.name);
        await fb.ingest.embedMissing((progress) => emit({ type: 'ingest-progress', progress }, s));
      } else await fb.useLlmModel(input.name);
      audit(s, 'model.approve', input.name, { kind: input.kind });
      return { embedding: await fb.embeddingStatus(), llm: await fb.llmStatus() };
    },
  };
}
