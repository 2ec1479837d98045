/**
 * Security review findings, each proved against the real API and HTTP bridge: a reviewer
 * cannot relabel or replace a document above their clearance by adding its file again;
 * conversations citing restricted documents are hidden from lower clearances; streamed
 * events reach only the caller that caused them; a malformed URL is answered, not fatal;
 * wrong passphrases lock elevation; browsing folders needs the reviewer role.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src-main/api/handlers';
import { startHttpBridge, type HttpBridge } from '../../src-main/api/http-bridge';
import { createAccessSession, createApiKey, type AccessSession } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { listDocuments } from '../../src-main/core/store/documents';
import { tempDir } from '../support/paths';

describe('access hardening', () => {
  const tmp = tempDir();
  const docs = path.join(tmp.dir, 'docs');
  let fb: Fieldbook;
  let api: Api;
  let admin: AccessSession;
  let reviewer: AccessSession;
  let reader: AccessSession;
  const call = async <T = unknown>(s: AccessSession, method: string, input: unknown): Promise<T> => {
    const env = await api.invoke(method, input, s);
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code, detail: env.error.detail });
    return env.result as T;
  };
  const session = (actor: string): AccessSession =>
    createAccessSession({ db: fb.db, actor, idleMs: 60 * 60_000, now: () => new Date() });

  beforeAll(async () => {
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'restricted.md'), '# Recipe R-9\n\nSECRET-RESTRICTED: additive 40 % at 80 °C.\n');
    fs.writeFileSync(path.join(docs, 'public.md'), '# Valve V-7\n\nClose valve V-7 slowly before maintenance.\n');
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    api = createApi(fb, { transport: 'http' });
    admin = session('admin');
    await call(admin, 'ingest', { paths: [path.join(docs, 'restricted.md')], sensitivity: 'restricted' });
    await call(admin, 'ingest', { paths: [path.join(docs, 'public.md')], sensitivity: 'public' });
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

  it('a reviewer cannot relabel or replace a document above their clearance by adding its file again', async () => {
    await expect(
      call(reviewer, 'ingest', { paths: [path.join(docs, 'restricted.md')], sensitivity: 'restricted' }),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    const report = await call<{ files: Array<{ file: string; outcome: string; error?: { code: string } }> }>(
      reviewer,
      'ingest',
      { paths: [docs], sensitivity: 'public' },
    );
    const restricted = report.files.find((f) => f.file.endsWith('restricted.md'));
    expect(restricted).toMatchObject({ outcome: 'failed', error: { code: 'ACCESS_DENIED' } });
    expect(listDocuments(fb.db).find((d) => d.sourcePath.endsWith('restricted.md'))?.sensitivity).toBe('restricted');
    const res = await call<{ hits: unknown[] }>(reader, 'search', { query: 'SECRET-RESTRICTED additive', k: 5 });
    expect(JSON.stringify(res.hits)).not.toContain('SECRET-RESTRICTED');
  });

  it('hides a conversation that cites a restricted document from lower clearances (list, open, follow-up)', async () => {
    const answer = await call<{ conversationId: number; citations: Array<{ sourcePath: string }> }>(admin, 'ask', {
      question: 'What is the additive ratio of recipe R-9?',
      requestId: 'q-admin',
    });
    expect(answer.citations.some((c) => c.sourcePath.endsWith('restricted.md'))).toBe(true);
    const adminList = await call<Array<{ id: number }>>(admin, 'listConversations', {});
    expect(adminList.map((c) => c.id)).toContain(answer.conversationId);
    const readerList = await call<Array<{ id: number }>>(reader, 'listConversations', {});
    expect(readerList.map((c) => c.id)).not.toContain(answer.conversationId);
    await expect(call(reader, 'getConversation', { id: answer.conversationId })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    await expect(
      call(reader, 'ask', {
        question: 'and the temperature?',
        requestId: 'q-r',
        conversationId: answer.conversationId,
      }),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  });

  it('locks elevation after five wrong passphrases in a row', async () => {
    const guesser = session('guesser');
    for (let i = 0; i < 5; i++)
      await expect(call(guesser, 'elevate', { role: 'admin', passphrase: `guess-${i}` })).rejects.toMatchObject({
        code: 'PASSPHRASE_WRONG',
      });
    // Even the right passphrase waits now.
    await expect(call(guesser, 'elevate', { role: 'admin', passphrase: 'admin-pass-123' })).rejects.toMatchObject({
      code: 'ELEVATION_LOCKED',
      detail: expect.stringMatching(/try again in \d+ s/),
    });
    expect(await call<{ role: string }>(guesser, 'session', {})).toMatchObject({ role: 'reader' });
  });

  it('records a repeated refusal once a minute per actor and target, not once per request', async () => {
    const restricted = listDocuments(fb.db).find((d) => d.sourcePath.endsWith('restricted.md'));
    const count = (): number =>
      fb.db
        .prepare("SELECT COUNT(*) FROM audit_log WHERE action = 'access.denied' AND actor = 'reader' AND target = ?")
        .pluck()
        .get(restricted?.sourcePath) as number;
    const before = count();
    for (let i = 0; i < 20; i++)
      await expect(call(reader, 'getDocumentFile', { docId: restricted?.id })).rejects.toMatchObject({
        code: 'ACCESS_DENIED',
      });
    expect(count() - before).toBe(1);
  });

  it('browsing folders needs the reviewer role', async () => {
    await expect(call(reader, 'browse', {})).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(await call<{ entries: unknown[] }>(reviewer, 'browse', { path: docs })).toMatchObject({
      entries: expect.arrayContaining([expect.objectContaining({ name: 'public.md' })]),
    });
  });

  describe('over the HTTP bridge with API keys', () => {
    let bridge: HttpBridge;
    const raw = (p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const u = new URL(bridge.url);
        const req = http.request({ host: u.hostname, port: u.port, path: p, headers }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    beforeAll(async () => {
      bridge = await startHttpBridge(api, { staticDir: tmp.dir, db: fb.db, session: reader, requireApiKeys: true });
    });
    afterAll(async () => bridge.close());

    it('answers a malformed URL with 400 and keeps serving', async () => {
      expect((await raw('/%E0%A4%A')).status).toBe(400);
      expect((await raw('/api/%E0%A4%A')).status).toBe(401); // no key: refused before anything else
      expect((await raw('/index.html')).status).toBeLessThan(500);
    });

    it('sends streamed answer tokens only to the caller that asked', async () => {
      const readerKey = createApiKey(fb.db, 'kiosk', 'reader', new Date());
      const adminKey = createApiKey(fb.db, 'ops', 'admin', new Date());
      const u = new URL(bridge.url);
      const listen = (key: string): { received: string[]; stop: () => void } => {
        const received: string[] = [];
        const stream = http.request({
          host: u.hostname,
          port: u.port,
          path: '/api/events',
          headers: { 'X-Api-Key': key },
        });
        stream.on('response', (res) => res.on('data', (c: Buffer) => received.push(c.toString())));
        stream.on('error', () => undefined);
        stream.end();
        return { received, stop: () => stream.destroy() };
      };
      const readerStream = listen(readerKey);
      const adminStream = listen(adminKey);
      await new Promise((r) => setTimeout(r, 200));
      const ask = await fetch(`${bridge.url}/api/ask`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Api-Key': adminKey },
        body: JSON.stringify({ question: 'What is the additive ratio of recipe R-9?', requestId: 'q-ops' }),
      });
      expect(((await ask.json()) as { ok: boolean }).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
      readerStream.stop();
      adminStream.stop();
      expect(readerStream.received.join('')).toContain(': connected');
      expect(readerStream.received.join('')).not.toContain('q-ops');
      expect(adminStream.received.join('')).toContain('q-ops'); // the asker does get its tokens
    });
  });
});
