/**
 * Ask: search, questions with streamed answers (and cancel), conversations, ratings, and the cited
 * passage and file for the citation viewer — all within the session's clearance.
 */
import { questionAudit } from '../core/audit/audit-labels';
import { FieldbookError } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import { viewerImage } from '../core/ingest/image-file';
import type { DocType } from '../core/domain';
import { answerSensitivity, listConversations, saveFeedback } from '../core/store/conversations';
import { toChunkRecord } from '../core/store/documents';
import { readFileNoFollow } from '../core/util/safe-file';
import type { ApiContext, HandlerGroup } from './api-context';

const MAX_FILE_BYTES = 150 * 1024 * 1024;

const FILE_MIME: Record<Exclude<DocType, 'image'>, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  txt: 'text/plain',
  md: 'text/markdown',
};

export function askHandlers(
  ctx: ApiContext,
): HandlerGroup<
  | 'search'
  | 'ask'
  | 'cancelAsk'
  | 'listConversations'
  | 'getConversation'
  | 'sendFeedback'
  | 'openCitation'
  | 'getDocumentFile'
> {
  const { fb, emit, audit, auditedChange, visibleDocument, feedbackTarget, visibleConversation } = ctx;
  const asking = new Map<string, AbortController>();
  return {
    async search(input, s) {
      // Clearance is applied here, never taken from the caller.
      const opts: Parameters<Fieldbook['search']['search']>[1] = {
        filters: { ...input.filters, maxSensitivity: s.clearance() },
      };
      if (input.k !== undefined) opts.k = input.k;
      if (input.mode) opts.mode = input.mode;
      return fb.search.search(input.query, opts);
    },
    async ask(input, s) {
      const controller = new AbortController();
      asking.set(input.requestId, controller);
      try {
        const opts: Parameters<Fieldbook['answers']['ask']>[1] = {
          signal: controller.signal,
          onToken: (text) => emit({ type: 'answer-token', requestId: input.requestId, text }, s),
          onPassages: (passages) => emit({ type: 'answer-passages', requestId: input.requestId, passages }, s),
          filters: { ...input.filters, maxSensitivity: s.clearance() },
        };
        if (input.conversationId !== undefined) {
          visibleConversation(s, input.conversationId); // a follow-up reuses the earlier questions
          opts.conversationId = input.conversationId;
        }
        const res = await fb.answers.ask(input.question, opts);
        if (fb.settings().answer.auditQuestions) {
          const entry = questionAudit(fb.db, input.question, res);
          audit(s, 'question', entry.target, entry.detail);
        }
        return res;
      } finally {
        asking.delete(input.requestId);
      }
    },
    async cancelAsk(input) {
      const c = asking.get(input.requestId);
      c?.abort();
      return { cancelled: c !== undefined };
    },
    async listConversations(_input, s) {
      // A conversation drawing on anything above the session's clearance is not listed (its title is a question).
      return listConversations(fb.db, s.clearance());
    },
    async getConversation(input, s) {
      return visibleConversation(s, input.id);
    },
    async sendFeedback(input, s) {
      const answer = feedbackTarget(s, input.answerId);
      const f: Parameters<typeof saveFeedback>[1] = {
        answerId: input.answerId,
        rating: input.rating,
        clearance: s.clearance(),
        // Whoever sent it, a correction waits in the reviewer queue (see reviewCorrection).
        author: s.actor,
      };
      if (input.comment) f.comment = input.comment;
      if (input.correction) f.correction = input.correction;
      const id = auditedChange(
        s,
        'feedback',
        () => saveFeedback(fb.db, f, new Date()),
        () => ({
          target: `answer ${input.answerId}`,
          detail: {
            rating: input.rating,
            corrected: Boolean(input.correction),
            sensitivity: answerSensitivity(fb.db, answer),
          },
        }),
      );
      return { id };
    },
    async openCitation(input, s) {
      const row = fb.db.prepare('SELECT * FROM chunks WHERE id = ?').get(input.chunkId) as
        Parameters<typeof toChunkRecord>[0] | undefined;
      if (!row) throw new FieldbookError('DOCUMENT_NOT_FOUND', { detail: `chunk ${input.chunkId}` });
      const chunk = toChunkRecord(row);
      const doc = visibleDocument(s, chunk.docId);
      let documentText: string | null = null;
      let highlight: [number, number] | null = null;
      if (doc.type !== 'pdf' && doc.type !== 'image') {
        // Without pages: show the passage with its neighbours so it reads in context.
        const around = fb.db
          .prepare('SELECT ord, text FROM chunks WHERE doc_id = ? AND ord BETWEEN ? AND ? ORDER BY ord')
          .all(doc.id, chunk.ord - 1, chunk.ord + 1) as Array<{ ord: number; text: string }>;
        let text = '';
        for (const a of around) {
          if (text) text += '\n\n';
          if (a.ord === chunk.ord) highlight = [text.length, text.length + a.text.length];
          text += a.text;
        }
        documentText = text;
      }
      return {
        chunkId: chunk.id,
        docId: doc.id,
        title: doc.title,
        type: doc.type,
        sourcePath: doc.sourcePath,
        page: chunk.pageStart,
        pages: doc.pages,
        boxes: chunk.boxes,

        text: chunk.text,
        documentText,
        highlight,
      };
    },
    async getDocumentFile(input, s) {
      const doc = visibleDocument(s, input.docId);
      // Only the file of an indexed document the session may see is ever read (by id, never by a path),
      // without following links, and only while its content is the content that was indexed.
      const data = await readFileNoFollow(doc.sourcePath, { maxBytes: MAX_FILE_BYTES, sha256: doc.sha256 });
      if (doc.type === 'image') {
        const page = await viewerImage(data, doc.sourcePath, input.page ?? 1);
        return {
          type: doc.type,
          mime: page.mime,
          base64: page.data.toString('base64'),
          pageSize: { w: page.width, h: page.height },
        };
      }
      return { type: doc.type, mime: FILE_MIME[doc.type], base64: data.toString('base64'), pageSize: null };
    },
  };
}
