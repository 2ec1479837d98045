/**
 * The app's state for the header and the Settings page: counts, search and answer modes, model problems.
 */
import type { AppStatus } from '../../src-preload/contract';
import { storeStats } from '../core/store/documents';
import type { ApiContext, HandlerGroup } from './api-context';

export function statusHandlers(ctx: ApiContext): HandlerGroup<'status'> {
  const { fb, host } = ctx;
  return {
    async status(_input, s) {
      const stats = storeStats(fb.db);
      const embedding = await fb.embeddingStatus();
      const llm = await fb.llmStatus();
      const problems = [embedding.problem, llm.problem].filter((p): p is string => Boolean(p));
      const status: AppStatus = {
        home: fb.home,
        documents: stats.documents,
        chunks: stats.chunks,
        pages: stats.pages,
        failures: stats.failures,
        searchMode: embedding.active ? 'hybrid' : 'keyword',
        answerMode: llm.active && !llm.problem ? 'generative' : 'extractive',
        embeddingModel: embedding.active,
        llmModel: llm.active,
        problems,
        locale: fb.settings().locale,
        transport: host.transport,
        role: s.role(),
      };
      return status;
    },
  };
}
