/**
 * What every feature's handlers share: the core, the host, events, audit entries (with refusal
 * de-duplication), clearance checks on documents, answers and conversations, and the lock that
 * keeps an import, a bundle apply and a rollback from overlapping. `createApiContext` makes one per
 * API; the feature modules (`ask.ts`, `library.ts`, …) receive it and return their methods.
 */
import type { EventEmitter } from 'node:events';
import type { FieldbookEvent, Input, MethodName, Outputs } from '../../src-preload/contract';
import type { AccessSession } from '../core/access/roles';
import { appendAudit, audited, type AuditAction, type AuditInput } from '../core/audit/audit-log';
import { FieldbookError } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import { answerVisible, conversationAnswers, visibleAnswer, type AnswerRecord } from '../core/store/conversations';
import { getDocument, withinClearance, type DocumentRecord, type Sensitivity } from '../core/store/documents';

/** The contract's method table: one handler per method, called with the validated input and the caller's session. */
export type Handlers = { [M in MethodName]: (input: Input<M>, session: AccessSession) => Promise<Outputs[M]> };

/** One feature's part of the method table. */
export type HandlerGroup<M extends MethodName> = Pick<Handlers, M>;

export interface ApiHost {
  transport: 'ipc' | 'http';
  /** Native file dialog (desktop only). */
  chooseFiles?: (opts: { folders: boolean; purpose: 'documents' | 'bundle' }) => Promise<string[]>;
}

export type ApiEvents = EventEmitter<{ event: [FieldbookEvent, AccessSession] }>;

export interface ApiContext {
  fb: Fieldbook;
  host: ApiHost;
  /** Send an event to the session whose call caused it (the HTTP bridge sends it to that caller only). */
  emit(e: FieldbookEvent, s: AccessSession): void;
  /** Append an audit entry (a refusal repeated by the same actor on the same target within a minute once). */
  audit(s: AccessSession, action: AuditAction, target: string | null, detail?: Record<string, unknown>): void;
  /** Run a change and its audit entry in one transaction (the entry commits with the change or not at all). */
  auditedChange<T>(
    s: AccessSession,
    action: AuditAction,
    change: () => T,
    entry: (r: T) => Pick<AuditInput, 'target' | 'detail'>,
  ): T;
  /** Whether a label is within the session's clearance. */
  allowed(s: AccessSession, sensitivity: Sensitivity): boolean;
  /** A document this session may see, or DOCUMENT_NOT_FOUND / ACCESS_DENIED (audited). */
  visibleDocument(s: AccessSession, id: number): DocumentRecord;
  /** An answer the session may rate or correct (ACCESS_DENIED, audited, for one it may not see). */
  feedbackTarget(s: AccessSession, answerId: number): AnswerRecord;
  /** The answers of a conversation, or ACCESS_DENIED (audited) when any of them cites above the clearance. */
  visibleConversation(s: AccessSession, id: number): AnswerRecord[];
  /** Run an import; a bundle apply or rollback is refused while it runs. */
  importing<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Stop the running import; whether there was one. */
  cancelImport(): boolean;
  /** Run a knowledge-base update (apply or rollback) while no other update or import runs. */
  exclusively<T>(busy: 'BUNDLE_BUSY' | 'ROLLBACK_BUSY', run: () => Promise<T>): Promise<T>;
}

export function createApiContext(fb: Fieldbook, host: ApiHost, events: ApiEvents): ApiContext {
  let ingesting: AbortController | null = null;
  /** A bundle apply or rollback in progress (they must not overlap). */
  let updating = false;
  /** When each actor was last refused on each target (audit de-duplication). */
  const lastRefusal = new Map<string, number>();

  const audit: ApiContext['audit'] = (s, action, target, detail = {}) => {
    const now = new Date();
    // A refusal repeated by the same actor on the same target within a minute is recorded once,
    // so a script cannot bury the log in identical refusals.
    if (action === 'access.denied') {
      const key = `${s.actor}\u0000${target ?? ''}`;
      const last = lastRefusal.get(key);
      if (last !== undefined && now.getTime() - last < 60_000) return;
      lastRefusal.set(key, now.getTime());
      if (lastRefusal.size > 10_000) lastRefusal.clear();
    }
    appendAudit(fb.db, { actor: s.actor, role: s.role(), action, target, detail }, now);
  };
  const allowed: ApiContext['allowed'] = (s, sensitivity) => withinClearance(sensitivity, s.clearance());
  /** Whether the session may see an answer: every passage it was made from is within its clearance. */
  const mayRead = (s: AccessSession, a: AnswerRecord): boolean => answerVisible(fb.db, a, s.clearance());

  return {
    fb,
    host,
    emit(e, s) {
      events.emit('event', e, s);
    },
    audit,
    auditedChange: (s, action, change, entry) =>
      audited(fb.db, change, (r) => ({ actor: s.actor, role: s.role(), action, ...entry(r) }), new Date()),
    allowed,
    visibleDocument(s, id) {
      const doc = getDocument(fb.db, id);
      if (!doc) throw new FieldbookError('DOCUMENT_NOT_FOUND', { detail: `id ${id}` });
      if (!allowed(s, doc.sensitivity)) {
        audit(s, 'access.denied', doc.sourcePath, { sensitivity: doc.sensitivity });
        throw new FieldbookError('ACCESS_DENIED', { detail: `the document is labelled ${doc.sensitivity}` });
      }
      return doc;
    },
    feedbackTarget(s, answerId) {
      try {
        return visibleAnswer(fb.db, answerId, s.clearance());
      } catch (err) {
        if (err instanceof FieldbookError && err.code === 'ACCESS_DENIED')
          audit(s, 'access.denied', `answer ${answerId}`);
        throw err;
      }
    },
    visibleConversation(s, id) {
      const answers = conversationAnswers(fb.db, id);
      if (!answers.every((a) => mayRead(s, a))) {
        audit(s, 'access.denied', `conversation ${id}`);
        throw new FieldbookError('ACCESS_DENIED', { detail: 'the conversation cites documents above your clearance' });
      }
      return answers;
    },
    async importing(run) {
      const controller = new AbortController();
      ingesting = controller;
      try {
        return await run(controller.signal);
      } finally {
        if (ingesting === controller) ingesting = null;
      }
    },
    cancelImport() {
      const c = ingesting;
      c?.abort();
      return c !== null;
    },
    async exclusively(busy, run) {
      if (updating || ingesting)
        throw new FieldbookError(busy, { detail: 'another update, a rollback or an import is running' });
      updating = true;
      try {
        return await run();
      } finally {
        updating = false;
      }
    },
  };
}
