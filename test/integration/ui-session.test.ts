/**
 * What the desktop UI needs from the API for issue 15: the session's role followed on every
 * call (a role dropped for inactivity is announced as `idle`), and a reopened conversation
 * brings back the safety rules that were shown with its answers. Real SQLite, real ingest,
 * the same `invoke` both transports use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldbookEvent, Outputs } from '../../src-preload/contract';
import { createApi, type Api } from '../../src-main/api/handlers';
import { createAccessSession, setPassphrase, type AccessSession } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { tempDir } from '../support/paths';

const LOTO = `# Lockout/tagout rule LS-01

## Before maintenance
Before any maintenance on Press-3, switch off the main disconnect, apply your personal lock and tag, and verify zero energy by pressing the start button.
`;
const PRESS = `# Press-3 maintenance

## Die change
To change the die on Press-3, lock out the press, loosen the four clamps and slide the die out on the rollers.
`;

describe('issue 15: the API keeps the UI in step', () => {
  const tmp = tempDir();
  let fb: Fieldbook;
  let api: Api;
  let clock = Date.parse('2026-03-01T08:00:00Z');
  let session: AccessSession;
  const events: FieldbookEvent[] = [];

  beforeAll(async () => {
    const docs = path.join(tmp.dir, 'docs');
    fs.mkdirSync(path.join(docs, 'safety'), { recursive: true });
    fs.writeFileSync(path.join(docs, 'press.md'), PRESS);
    fs.writeFileSync(path.join(docs, 'safety', 'loto.md'), LOTO);
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    await fb.ingest.ingest([path.join(docs, 'press.md')]);
    await fb.ingest.ingest([path.join(docs, 'safety')], { isSafety: true });
    setPassphrase(fb.db, 'admin', 'admin-pass-1', new Date());
    setPassphrase(fb.db, 'reviewer', 'review-pass-1', new Date());
    session = createAccessSession({ db: fb.db, actor: 'tech', idleMs: 60_000, now: () => new Date(clock) });
    api = createApi(fb, { transport: 'http' });
    api.events.on('event', (e) => events.push(e));
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  const call = (method: string, input: unknown = {}) => api.invoke(method, input, session);
  const sessionEvents = () => events.filter((e) => e.type === 'session');

  it('issue 15.2: a role dropped for inactivity is announced as idle with the new role, a dropRole as a change', async () => {
    await call('status');
    const up = await call('elevate', { role: 'admin', passphrase: 'admin-pass-1' });
    expect(up.ok).toBe(true);
    expect(sessionEvents().at(-1)).toMatchObject({ session: { role: 'admin' }, reason: 'changed' });

    clock += 61_000; // idle longer than the timeout
    const denied = await call('auditList');
    expect(denied.ok).toBe(false);
    if (!denied.ok) expect(denied.error.code).toBe('ACCESS_DENIED');
    expect(sessionEvents().at(-1)).toMatchObject({ session: { role: 'reader' }, reason: 'idle' });

    // Nothing changed: no new event.
    const count = sessionEvents().length;
    await call('status');
    expect(sessionEvents()).toHaveLength(count);

    await call('elevate', { role: 'reviewer', passphrase: 'review-pass-1' });
    await call('dropRole');
    expect(sessionEvents().at(-1)).toMatchObject({ session: { role: 'reader' }, reason: 'changed' });
  });

  it('issue 15.4: a conversation reopened from history brings back the safety rules shown with the answer', async () => {
    const asked = await call('ask', { question: 'How do I lock out Press-3 before maintenance?', requestId: 'r1' });
    expect(asked.ok).toBe(true);
    if (!asked.ok) return;
    const answer = asked.result as Outputs['ask'];
    expect(answer.safetyRules.map((r) => r.docTitle)).toEqual(['Lockout/tagout rule LS-01']);

    const reopened = await call('getConversation', { id: answer.conversationId });
    expect(reopened.ok).toBe(true);
    if (!reopened.ok) return;
    const [record] = reopened.result as Outputs['getConversation'];
    expect(record?.safety.rules?.map((r) => [r.docTitle, r.chunkId])).toEqual(
      answer.safetyRules.map((r) => [r.docTitle, r.chunkId]),
    );
  });
});
