/**
 * Issue 14 items 4–6, each proved against the real API, a real SQLite file and real ingested
 * documents: an answer's visibility follows every passage in its context (not only the cited
 * ones); the audit list, the feedback queue and feedback follow the clearance, and the log
 * keeps restricted text out; dataset export uses the labels stored with the answer, so a
 * removed restricted document cannot slip into an "internal" training set.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src-main/api/handlers';
import { createAccessSession, type AccessSession } from '../../src-main/core/access/roles';
import { createAnswerService, type AnswerResult } from '../../src-main/core/answer/answer-service';
import { appendAudit, type AuditEntry } from '../../src-main/core/audit/audit-log';
import { exportDataset } from '../../src-main/core/dataset/dataset-export';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import type { Generator } from '../../src-main/core/llm/llm-client';
import { answerSensitivity, getAnswer, type AnswerRecord } from '../../src-main/core/store/conversations';
import { migrate } from '../../src-main/core/store/db';
import { MIGRATIONS } from '../../src-main/core/store/migrations';
import { listDocuments } from '../../src-main/core/store/documents';
import { tempDir } from '../support/paths';

const SECRET = 'SECRET-RESTRICTED';

/** A local model stand-in that answers from the prompt, with or without [n] markers. */
function generator(reply: (prompt: string) => string): Generator {
  return {
    name: 'scripted-test-generator',
    contextSize: 4096,
    countTokens: async (t) => Math.ceil(t.length / 2),
    generate: async (req) => ({
      text: reply(req.user),
      tokens: 1,
      timeToFirstTokenMs: 1,
      totalMs: 1,
      stopReason: 'eos',
    }),
    dispose: async () => undefined,
  };
}

describe('clearance leaks (issue 14.4–14.6)', () => {
  const tmp = tempDir();
  const docs = path.join(tmp.dir, 'docs');
  let fb: Fieldbook;
  let api: Api;
  let admin: AccessSession;
  let reviewer: AccessSession;
  let reader: AccessSession;
  /** With markers: "[1]"; without: plain text (the model forgot to cite). */
  let withMarkers = false;
  const call = async <T = unknown>(s: AccessSession, method: string, input: unknown): Promise<T> => {
    const env = await api.invoke(method, input, s);
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
    return env.result as T;
  };
  const session = (actor: string): AccessSession =>
    createAccessSession({ db: fb.db, actor, idleMs: 60 * 60_000, now: () => new Date() });
  const rawAudit = (): string => JSON.stringify(fb.db.prepare('SELECT target, detail FROM audit_log').all());

  beforeAll(async () => {
    fs.mkdirSync(docs);
    fs.writeFileSync(
      path.join(docs, 'recipe.md'),
      `# Recipe R-9\n\n${SECRET}: recipe R-9 needs additive 40 % at 80 °C before pressing.\n`,
    );
    fs.writeFileSync(
      path.join(docs, 'formula.md'),
      `# Formula K-4\n\n${SECRET}: formula K-4 mixing ratio is 3 to 1 with hardener HX.\n`,
    );
    fs.writeFileSync(path.join(docs, 'valve.md'), '# Valve V-7\n\nClose valve V-7 slowly before maintenance.\n');
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    // The generative path with a scripted model behind the real Generator interface.
    fb.answers = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () =>
        generator((prompt) => {
          const fact = prompt.includes('R-9')
            ? 'Recipe R-9 needs additive 40 % at 80 °C'
            : prompt.includes('K-4')
              ? 'Formula K-4 mixes 3 to 1 with hardener HX'
              : 'Close valve V-7 slowly';
          return withMarkers ? `${fact} [1].` : `${fact}.`;
        }),
      settings: () => fb.settings().answer,
    });
    api = createApi(fb, { transport: 'http' });
    admin = session('admin');
    await call(admin, 'ingest', {
      paths: [path.join(docs, 'recipe.md'), path.join(docs, 'formula.md')],
      sensitivity: 'restricted',
    });
    await call(admin, 'ingest', { paths: [path.join(docs, 'valve.md')], sensitivity: 'internal' });
    await call(admin, 'setPassphrase', { role: 'admin', passphrase: 'admin-pass-123' });
    await call(admin, 'elevate', { role: 'admin', passphrase: 'admin-pass-123' });
    await call(admin, 'setPassphrase', { role: 'reviewer', passphrase: 'review-pass-123' });
    reviewer = session('reviewer');
    await call(reviewer, 'elevate', { role: 'reviewer', passphrase: 'review-pass-123' });
    reader = session('reader');
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  let secretAnswer: AnswerResult;

  it('issue 14.4: an answer without [n] markers is hidden from a reader when a restricted passage was in its context', async () => {
    withMarkers = false;
    secretAnswer = await call<AnswerResult>(admin, 'ask', {
      question: 'What additive does recipe R-9 need?',
      requestId: 'q1',
    });
    expect(secretAnswer.mode).toBe('generative');
    expect(secretAnswer.citations).toEqual([]); // the model cited nothing…
    // …but the restricted passage was in its context, stored with its label.
    expect(secretAnswer.context).toEqual(
      expect.arrayContaining([expect.objectContaining({ sensitivity: 'restricted' })]),
    );
    const stored = getAnswer(fb.db, secretAnswer.id) as AnswerRecord;
    expect(stored.context?.map((p) => p.sensitivity)).toContain('restricted');
    expect(answerSensitivity(fb.db, stored)).toBe('restricted');

    const readerList = await call<Array<{ id: number }>>(reader, 'listConversations', {});
    expect(readerList.map((c) => c.id)).not.toContain(secretAnswer.conversationId);
    await expect(call(reader, 'getConversation', { id: secretAnswer.conversationId })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    await expect(call(reviewer, 'getConversation', { id: secretAnswer.conversationId })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    const adminView = await call<AnswerRecord[]>(admin, 'getConversation', { id: secretAnswer.conversationId });
    expect(adminView[0]?.answer).toContain('40 %');
    // A reader's own question about public matters stays visible to the reader.
    const mine = await call<AnswerResult>(reader, 'ask', { question: 'How do I close valve V-7?', requestId: 'q2' });
    expect((await call<Array<{ id: number }>>(reader, 'listConversations', {})).map((c) => c.id)).toContain(
      mine.conversationId,
    );
  });

  it('issue 14.5: the audit log keeps restricted text out, and a reviewer lists only entries within the clearance', async () => {
    // The entry for the restricted answer records ids and labels, not the question, answer or titles.
    const entry = fb.db
      .prepare(
        "SELECT target, detail FROM audit_log WHERE action = 'question' AND json_extract(detail, '$.answerId') = ?",
      )
      .get(secretAnswer.id) as { target: string; detail: string };
    expect(entry.target).toBe(`answer ${secretAnswer.id}`);
    const detail = JSON.parse(entry.detail) as Record<string, unknown>;
    expect(detail).toMatchObject({ sensitivity: 'restricted', answerId: secretAnswer.id });
    expect(detail.summary).toBeUndefined();
    expect(detail.passages).toEqual(expect.arrayContaining([expect.objectContaining({ sensitivity: 'restricted' })]));
    expect(rawAudit()).not.toMatch(/40 %|additive|R-9/);

    // An entry written the old way (text, no label) is still hidden from a reviewer: its answer decides.
    appendAudit(
      fb.db,
      {
        actor: 'admin',
        role: 'admin',
        action: 'question',
        target: 'What additive does recipe R-9 need?',
        detail: { answerId: secretAnswer.id, summary: 'Recipe R-9 needs additive 40 %', sources: ['Recipe R-9'] },
      },
      new Date(),
    );
    const seenByReviewer = await call<AuditEntry[]>(reviewer, 'auditList', { limit: 500 });
    expect(JSON.stringify(seenByReviewer)).not.toMatch(/R-9|40 %|recipe\.md|formula\.md/);
    expect(seenByReviewer.some((e) => e.action === 'question' && e.detail.answerId === secretAnswer.id)).toBe(false);
    // The reviewer still sees entries within the clearance (the valve question, logins).
    expect(seenByReviewer.some((e) => e.action === 'question' && /valve V-7/.test(e.target ?? ''))).toBe(true);
    const seenByAdmin = await call<AuditEntry[]>(admin, 'auditList', { limit: 500 });
    expect(seenByAdmin.filter((e) => e.detail.answerId === secretAnswer.id)).toHaveLength(2);
    expect(seenByAdmin.some((e) => e.action === 'ingest' && /recipe\.md/.test(e.target ?? ''))).toBe(true);
  });

  it('issue 14.5: the feedback queue follows the clearance, and nobody rates or corrects an answer they cannot see', async () => {
    const feedbackRows = (): number => fb.db.prepare('SELECT COUNT(*) FROM feedback').pluck().get() as number;
    await call(admin, 'sendFeedback', { answerId: secretAnswer.id, rating: 'down', comment: 'wrong temperature' });
    const before = feedbackRows();
    await expect(
      call(reader, 'sendFeedback', { answerId: secretAnswer.id, rating: 'up', comment: 'probing' }),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(
      call(reviewer, 'correctAnswer', { answerId: secretAnswer.id, correction: 'guess' }),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(feedbackRows()).toBe(before);
    const reviewerQueue = await call<Array<{ answerId: number }>>(reviewer, 'feedbackQueue', {});
    expect(reviewerQueue.map((q) => q.answerId)).not.toContain(secretAnswer.id);
    const adminQueue = await call<Array<{ answerId: number }>>(admin, 'feedbackQueue', {});
    expect(adminQueue.map((q) => q.answerId)).toContain(secretAnswer.id);
    // The refusal is audited, without text.
    const denied = fb.db
      .prepare("SELECT detail FROM audit_log WHERE action = 'access.denied' AND target = ?")
      .pluck()
      .all(`answer ${secretAnswer.id}`) as string[];
    expect(denied.length).toBeGreaterThanOrEqual(1);
  });

  it('issue 14.6: dataset export at "internal" leaves out an answer whose restricted document was removed', async () => {
    withMarkers = true;
    const formula = await call<AnswerResult>(admin, 'ask', {
      question: 'What is the K-4 mixing ratio?',
      requestId: 'q3',
    });
    expect(formula.citations.map((c) => c.sensitivity)).toContain('restricted');
    const valve = await call<AnswerResult>(admin, 'ask', { question: 'How do I close valve V-7?', requestId: 'q4' });
    expect(valve.citations.length).toBeGreaterThan(0);
    await call(admin, 'sendFeedback', { answerId: formula.id, rating: 'up' });
    await call(admin, 'sendFeedback', { answerId: valve.id, rating: 'up' });
    const formulaDoc = listDocuments(fb.db).find((d) => d.sourcePath.endsWith('formula.md'));
    await call(admin, 'removeDocument', { id: formulaDoc?.id });
    expect(listDocuments(fb.db).some((d) => d.sourcePath.endsWith('formula.md'))).toBe(false);

    const outDir = path.join(tmp.dir, 'dataset');
    const manifest = await exportDataset(fb.db, fb.search, {
      outDir,
      format: 'chat',
      sources: ['answers', 'corrections'],
      withContext: true,
      maxSensitivity: 'internal',
      seed: 42,
      ratios: { train: 0.8, validation: 0.1 },
      minChars: 2,
      maxChars: 16_000,
      generateCount: 0,
      generator: null,
      resetCursor: true,
      evalSet: false,
      now: new Date(),
    });
    const written = ['train', 'validation', 'test']
      .map((s) => fs.readFileSync(path.join(outDir, `${s}.jsonl`), 'utf8'))
      .join('');
    expect(written).toContain('valve V-7');
    expect(written).not.toMatch(/K-4|hardener|R-9|additive/);
    expect(manifest.counts.total).toBe(1);
    expect(manifest.dropped.sensitivity).toBeGreaterThanOrEqual(1);
  });

  it('issue 14.4/14.6: older answers get their citations as context on migration; unknown labels and contexts count as restricted', () => {
    const db = new Database(':memory:');
    sqliteVec.load(db);
    db.pragma('foreign_keys = ON');
    const step = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('ADD COLUMN context'));
    expect(step).toBeGreaterThan(0);
    migrate(db, MIGRATIONS.slice(0, step));
    const now = new Date().toISOString();
    db.prepare(
      `INSERT INTO documents(id, source_path, title, type, sha256, size_bytes, language, sensitivity, created_at, updated_at, indexed_at)
       VALUES (1, '/kb/public.md', 'Public', 'md', 'x', 1, 'en', 'public', ?, ?, ?)`,
    ).run(now, now, now);
    db.prepare("INSERT INTO conversations(id, title, created_at, updated_at) VALUES (1, 't', ?, ?)").run(now, now);
    const cite = (docId: number, sourcePath: string): string =>
      JSON.stringify([{ n: 1, chunkId: 9, docId, docTitle: 'x', docVersion: 1, sourcePath, page: null }]);
    const insert = db.prepare(
      `INSERT INTO answers(id, conversation_id, question, retrieval_query, answer, mode, language, citations, confidence, needs_review, created_at)
       VALUES (?, 1, 'q', 'q', 'a', ?, 'en', ?, 0.5, 0, ?)`,
    );
    insert.run(1, 'generative', cite(1, '/kb/public.md'), now); // cites a document still there, no label recorded
    insert.run(2, 'generative', cite(7, '/kb/removed.md'), now); // cites a removed document, no label recorded
    insert.run(3, 'generative', '[]', now); // cited nothing: its context is unknown
    insert.run(4, 'not-found', '[]', now); // had no context
    migrate(db);
    const label = (id: number): string => {
      const r = db.prepare('SELECT citations, context FROM answers WHERE id = ?').get(id) as {
        citations: string;
        context: string | null;
      };
      return answerSensitivity(db, {
        citations: JSON.parse(r.citations) as AnswerRecord['citations'],
        context: r.context === null ? null : (JSON.parse(r.context) as AnswerRecord['context']),
        safety: { topics: [], rulesFound: false },
      });
    };
    expect([label(1), label(2), label(3), label(4)]).toEqual(['public', 'restricted', 'restricted', 'public']);
    // A citation whose label was recorded nowhere is unknown, even when its document is public now.
    const unlabelled = JSON.parse(cite(1, '/kb/public.md')) as AnswerRecord['citations'];
    const safety = { topics: [], rulesFound: false };
    expect(answerSensitivity(db, { citations: unlabelled, context: [], safety })).toBe('restricted');
    db.close();
  });
});
