/**
 * Issue 15.6: a technician's correction is a suggestion. Through the real API over real SQLite it
 * waits in the reviewer queue and stays out of every dataset export (training lines, preference
 * pairs, the eval set) until a reviewer accepts or edits it; the export then records who approved
 * it. A rejected one never enters. Each decision is audited; a reviewer sees and decides only
 * corrections of answers within their clearance; corrections in an older database become pending.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src-main/api/handlers';
import { createAccessSession, type AccessSession, type Role } from '../../src-main/core/access/roles';
import { createAnswerService, type AnswerResult } from '../../src-main/core/answer/answer-service';
import {
  exportDataset,
  type DatasetExportOptions,
  type FeedbackQueueItem,
} from '../../src-main/core/dataset/dataset-export';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { getFeedback } from '../../src-main/core/store/conversations';
import { migrate } from '../../src-main/core/store/db';
import { MIGRATIONS } from '../../src-main/core/store/migrations';
import { scripted } from '../support/scripted-generator';
import { tempDir } from '../support/paths';

describe('corrections wait for a reviewer (issue 15.6)', () => {
  const tmp = tempDir();
  const docs = path.join(tmp.dir, 'docs');
  let fb: Fieldbook;
  let api: Api;
  let tech: AccessSession;
  let reviewer: AccessSession;
  let admin: AccessSession;
  const call = async <T = unknown>(s: AccessSession, method: string, input: unknown): Promise<T> => {
    const env = await api.invoke(method, input, s);
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
    return env.result as T;
  };
  const session = (actor: string, role: Role): AccessSession =>
    createAccessSession({ db: fb.db, actor, idleMs: 60 * 60_000, now: () => new Date(), fixedRole: role });
  let n = 0;
  const ask = async (s: AccessSession, question: string): Promise<AnswerResult> =>
    call<AnswerResult>(s, 'ask', { question, requestId: `q${++n}` });
  /** Everything an export wrote (training splits, eval set), as one string, and the parsed training lines. */
  const exportAll = async (
    name: string,
    patch: Partial<DatasetExportOptions> = {},
  ): Promise<{
    text: string;
    lines: Array<{ messages?: Array<{ content: string }>; meta: Record<string, unknown> }>;
  }> => {
    const outDir = path.join(tmp.dir, name);
    const m = await exportDataset(fb.db, fb.search, {
      outDir,
      format: 'chat',
      sources: ['answers', 'corrections'],
      withContext: false,
      maxSensitivity: 'restricted',
      seed: 42,
      ratios: { train: 0.8, validation: 0.1 },
      minChars: 2,
      maxChars: 16_000,
      generateCount: 0,
      generator: null,
      resetCursor: false,
      evalSet: true,
      now: new Date(),
      ...patch,
    });
    const text = m.files.map((f) => fs.readFileSync(path.join(outDir, f.name), 'utf8')).join('');
    const lines = m.files
      .filter((f) => !f.name.startsWith('eval/'))
      .flatMap((f) => fs.readFileSync(path.join(outDir, f.name), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { messages?: Array<{ content: string }>; meta: Record<string, unknown> });
    return { text, lines };
  };
  const reviews = (): Array<{ actor: string; target: string; detail: Record<string, unknown> }> =>
    (
      fb.db
        .prepare("SELECT actor, target, detail FROM audit_log WHERE action = 'feedback.review' ORDER BY id")
        .all() as Array<{ actor: string; target: string; detail: string }>
    ).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));

  beforeAll(async () => {
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'valve.md'), '# Valve V-7\n\nClose valve V-7 slowly before maintenance.\n');
    fs.writeFileSync(
      path.join(docs, 'pump.md'),
      '# Pump P-2\n\nPump P-2 is primed by opening the vent screw until water flows.\n',
    );
    fs.writeFileSync(path.join(docs, 'recipe.md'), '# Recipe R-9\n\nRecipe R-9 needs additive 40 % at 80 °C.\n');
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    fb.answers = createAnswerService({
      db: fb.db,
      search: fb.search,
      getGenerator: async () => scripted(() => 'Follow the manual [1].'),
      settings: () => fb.settings().answer,
    });
    api = createApi(fb, { transport: 'http' });
    admin = session('admin-ho', 'admin');
    reviewer = session('reviewer-wang', 'reviewer');
    tech = session('tech-lin', 'reader');
    await call(admin, 'ingest', { paths: [path.join(docs, 'valve.md'), path.join(docs, 'pump.md')] });
    await call(admin, 'ingest', { paths: [path.join(docs, 'recipe.md')], sensitivity: 'restricted' });
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  let valve: AnswerResult;
  let valveFeedback: number;

  it("a technician's correction waits in the queue and stays out of every export", async () => {
    valve = await ask(tech, 'How do I close valve V-7?');
    expect(valve.citations.length).toBeGreaterThan(0);
    const { id } = await call<{ id: number }>(tech, 'sendFeedback', {
      answerId: valve.id,
      rating: 'down',
      correction: 'VALVE-SUGGESTION: close V-7 over ten seconds, then lock it.',
    });
    valveFeedback = id;
    expect(getFeedback(fb.db, id)).toMatchObject({ reviewStatus: 'pending', author: 'tech-lin', reviewedBy: null });
    const queue = await call<FeedbackQueueItem[]>(reviewer, 'feedbackQueue', {});
    expect(queue).toEqual([
      expect.objectContaining({
        kind: 'correction',
        feedbackId: id,
        answerId: valve.id,
        correction: 'VALVE-SUGGESTION: close V-7 over ten seconds, then lock it.',
        author: 'tech-lin',
      }),
    ]);
    const chat = await exportAll('pending-chat');
    const dpo = await exportAll('pending-dpo', { format: 'dpo', sources: ['preferences'] });
    for (const out of [chat, dpo]) expect(out.text).not.toContain('VALVE-SUGGESTION');
    expect(chat.lines).toEqual([]);
  });

  it('accepted: it enters the next export as an expert correction approved by the reviewer; audited', async () => {
    // A technician cannot review.
    await expect(
      call(tech, 'reviewCorrection', { feedbackId: valveFeedback, decision: 'accept' }),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(getFeedback(fb.db, valveFeedback)?.reviewStatus).toBe('pending');
    expect(await call(reviewer, 'reviewCorrection', { feedbackId: valveFeedback, decision: 'accept' })).toEqual({
      feedbackId: valveFeedback,
      status: 'accepted',
      reviewedBy: 'reviewer-wang',
    });
    // Decided once.
    await expect(
      call(reviewer, 'reviewCorrection', { feedbackId: valveFeedback, decision: 'reject' }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(await call<FeedbackQueueItem[]>(reviewer, 'feedbackQueue', {})).toEqual([]);
    // The same incremental cursor as the export that ran while it was pending: it is not skipped.
    const { lines, text } = await exportAll('pending-chat-after');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.messages?.[2]?.content).toContain('VALVE-SUGGESTION');
    expect(lines[0]?.meta).toMatchObject({
      source: 'expert-correction',
      approvedBy: 'reviewer-wang',
      review: 'accepted',
      answerId: valve.id,
    });
    expect(text).toContain('"answers":["VALVE-SUGGESTION'); // the eval set takes approved corrections
    expect(reviews()).toEqual([
      {
        actor: 'reviewer-wang',
        target: `answer ${valve.id}`,
        detail: { feedbackId: valveFeedback, decision: 'accepted', suggestedBy: 'tech-lin', sensitivity: 'internal' },
      },
    ]);
  });

  it("edited: the reviewer's text enters, the suggestion as written does not", async () => {
    const pump = await ask(tech, 'How is pump P-2 primed?');
    const { id } = await call<{ id: number }>(tech, 'sendFeedback', {
      answerId: pump.id,
      rating: 'down',
      correction: 'PUMP-SUGGESTION: just run it dry.',
    });
    await expect(call(reviewer, 'reviewCorrection', { feedbackId: id, decision: 'edit' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(
      await call(reviewer, 'reviewCorrection', {
        feedbackId: id,
        decision: 'edit',
        correction: 'PUMP-EDITED: open the vent screw until water flows, then close it.',
      }),
    ).toMatchObject({ status: 'edited' });
    const { lines, text } = await exportAll('edited', { resetCursor: true });
    expect(text).not.toContain('PUMP-SUGGESTION');
    const line = lines.find((l) => l.meta.answerId === pump.id);
    expect(line?.messages?.[2]?.content).toContain('PUMP-EDITED');
    expect(line?.meta).toMatchObject({ source: 'expert-correction', approvedBy: 'reviewer-wang', review: 'edited' });
    const dpo = await exportAll('edited-dpo', { format: 'dpo', sources: ['preferences'], resetCursor: true });
    expect(dpo.text).toContain('PUMP-EDITED');
    expect(dpo.text).not.toContain('PUMP-SUGGESTION');
    expect(reviews().at(-1)?.detail).toMatchObject({ feedbackId: id, decision: 'edited' });
  });

  it('rejected: it never enters, and the answer is back among the "not helpful" ones', async () => {
    const again = await ask(tech, 'What do I do before maintenance on valve V-7?');
    const { id } = await call<{ id: number }>(tech, 'sendFeedback', {
      answerId: again.id,
      rating: 'down',
      correction: 'REJECTED-SUGGESTION: leave the valve open.',
    });
    expect(await call(reviewer, 'reviewCorrection', { feedbackId: id, decision: 'reject' })).toMatchObject({
      status: 'rejected',
    });
    for (const out of [
      await exportAll('rejected', { resetCursor: true }),
      await exportAll('rejected-dpo', { format: 'dpo', sources: ['preferences'], resetCursor: true }),
    ])
      expect(out.text).not.toContain('REJECTED-SUGGESTION');
    const queue = await call<FeedbackQueueItem[]>(reviewer, 'feedbackQueue', {});
    expect(queue.map((q) => [q.kind, q.answerId])).toEqual([['thumbs-down', again.id]]);
    expect(reviews().at(-1)?.detail).toMatchObject({ feedbackId: id, decision: 'rejected' });
  });

  it('a reviewer neither sees nor decides a correction of an answer above their clearance (refusal audited)', async () => {
    const secret = await ask(admin, 'What does recipe R-9 need?');
    expect(secret.citations.map((c) => c.sensitivity)).toContain('restricted');
    const { id } = await call<{ id: number }>(admin, 'sendFeedback', {
      answerId: secret.id,
      rating: 'down',
      correction: 'SECRET-SUGGESTION: 45 % additive.',
    });
    // Even an administrator's correction sent from an answer waits for a review.
    expect(getFeedback(fb.db, id)?.reviewStatus).toBe('pending');
    const seen = await call<FeedbackQueueItem[]>(reviewer, 'feedbackQueue', {});
    expect(JSON.stringify(seen)).not.toContain('SECRET-SUGGESTION');
    await expect(call(reviewer, 'reviewCorrection', { feedbackId: id, decision: 'accept' })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    expect(getFeedback(fb.db, id)?.reviewStatus).toBe('pending');
    const denied = fb.db
      .prepare("SELECT COUNT(*) FROM audit_log WHERE action = 'access.denied' AND actor = ? AND target = ?")
      .pluck()
      .get('reviewer-wang', `answer ${secret.id}`) as number;
    expect(denied).toBe(1);
    const adminQueue = await call<FeedbackQueueItem[]>(admin, 'feedbackQueue', {});
    expect(adminQueue.some((q) => q.feedbackId === id)).toBe(true);
    expect(await call(admin, 'reviewCorrection', { feedbackId: id, decision: 'accept' })).toMatchObject({
      status: 'accepted',
      reviewedBy: 'admin-ho',
    });
    // The audit entry carries the answer's label, so a reviewer's audit list does not show it.
    expect(reviews().at(-1)?.detail).toMatchObject({ feedbackId: id, sensitivity: 'restricted' });
  });

  it("a reviewer's own correction from the queue is approved by them", async () => {
    const q = await ask(tech, 'Is valve V-7 closed slowly?');
    await call(tech, 'sendFeedback', { answerId: q.id, rating: 'down' });
    const { id } = await call<{ id: number }>(reviewer, 'correctAnswer', {
      answerId: q.id,
      correction: 'REVIEWER-WRITTEN: yes, slowly, before maintenance.',
    });
    expect(getFeedback(fb.db, id)).toMatchObject({ reviewStatus: 'accepted', reviewedBy: 'reviewer-wang' });
    const { lines } = await exportAll('reviewer-written', { resetCursor: true });
    expect(lines.find((l) => l.meta.answerId === q.id)?.meta).toMatchObject({
      source: 'expert-correction',
      approvedBy: 'reviewer-wang',
    });
  });
});

describe('migration 16: corrections in an older database become pending', () => {
  it('marks every stored correction pending (none approved) and leaves ratings without one alone', () => {
    const db = new Database(':memory:');
    sqliteVec.load(db);
    db.pragma('foreign_keys = ON');
    const step = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('ADD COLUMN review_status'));
    expect(step).toBeGreaterThan(0);
    migrate(db, MIGRATIONS.slice(0, step));
    db.prepare("INSERT INTO conversations(id, title, created_at, updated_at) VALUES (1, 'q', 'x', 'x')").run();
    db.prepare(
      `INSERT INTO answers(id, conversation_id, question, retrieval_query, answer, mode, language, confidence, needs_review, created_at)
       VALUES (1, 1, 'q', 'q', 'a', 'extractive', 'en', 0.5, 0, 'x')`,
    ).run();
    const fbk = db.prepare(
      'INSERT INTO feedback(answer_id, rating, comment, correction, author, created_at) VALUES (1, ?, NULL, ?, ?, ?)',
    );
    fbk.run('down', 'old technician correction', null, '2025-01-01');
    fbk.run('down', 'old expert correction', 'expert', '2025-01-02');
    fbk.run('up', null, null, '2025-01-03');
    migrate(db);
    expect(
      db.prepare('SELECT correction, review_status, reviewed_by, approved_correction FROM feedback ORDER BY id').all(),
    ).toEqual([
      {
        correction: 'old technician correction',
        review_status: 'pending',
        reviewed_by: null,
        approved_correction: null,
      },
      { correction: 'old expert correction', review_status: 'pending', reviewed_by: null, approved_correction: null },
      { correction: null, review_status: null, reviewed_by: null, approved_correction: null },
    ]);
    db.close();
  });
});
