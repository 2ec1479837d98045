/**
 * Roles, clearance on every read path, the hash-chained audit log (with real tampering of
 * the SQLite file) and API keys on the HTTP bridge.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src-main/api/handlers';
import { startHttpBridge } from '../../src-main/api/http-bridge';
import { createAccessSession, createApiKey, type AccessSession } from '../../src-main/core/access/roles';
import { verifyAudit } from '../../src-main/core/audit/audit-log';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { repoRoot, tempDir } from '../support/paths';

const LEVELS = ['public', 'internal', 'confidential', 'restricted'] as const;

describe('roles, clearance and audit', () => {
  const tmp = tempDir();
  const docs = path.join(tmp.dir, 'docs');
  let fb: Fieldbook;
  let api: Api;
  let clock = Date.parse('2026-11-22T08:00:00Z');
  let user: AccessSession;
  const call = async <T = unknown>(method: string, input: unknown, s: AccessSession = user): Promise<T> => {
    const env = await api.invoke(method, input, s);
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
    return env.result as T;
  };

  beforeAll(async () => {
    fs.mkdirSync(docs);
    for (const level of LEVELS) {
      fs.writeFileSync(
        path.join(docs, `${level}.md`),
        `# Valve ${level}\n\nValve V-7 ${level} procedure: close the valve slowly.`,
      );
    }
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    api = createApi(fb, { transport: 'http' });
    user = createAccessSession({ db: fb.db, actor: 'tech1', idleMs: 10 * 60_000, now: () => new Date(clock) });
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('starts in setup mode (admin) until an admin passphrase is set, then as reader', async () => {
    expect(await call('session', {})).toMatchObject({ role: 'admin', setupMode: true });
    for (const level of LEVELS) {
      await call('ingest', { paths: [path.join(docs, `${level}.md`)], sensitivity: level });
    }
    await call('setPassphrase', { role: 'admin', passphrase: 'admin-pass-123' });
    expect(await call('session', {})).toMatchObject({ role: 'reader', clearance: 'internal', setupMode: false });
  });

  it('refuses changes to a reader and records the refusal reason', async () => {
    await expect(call('ingest', { paths: [docs] })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(call('updateSettings', { chunk: { chunkSize: 100 } })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    await expect(call('elevate', { role: 'admin', passphrase: 'wrong-guess' })).rejects.toMatchObject({
      code: 'PASSPHRASE_WRONG',
    });
    // A reader may still change the language.
    await call('updateSettings', { locale: 'en' });
  });

  it('never shows a reader anything above its clearance: search, ask, citations, files, library', async () => {
    const search = await call<{ hits: Array<{ sensitivity: string; chunkId: number }> }>('search', {
      query: 'valve V-7 procedure',
      k: 10,
    });
    expect(new Set(search.hits.map((h) => h.sensitivity))).toEqual(new Set(['public', 'internal']));
    const answer = await call<{ citations: Array<{ sourcePath: string }> }>('ask', {
      question: 'How do I close valve V-7?',
      requestId: 'r1',
    });
    expect(answer.citations.every((c) => /(public|internal)\.md$/.test(c.sourcePath))).toBe(true);
    const docsSeen = await call<{ documents: Array<{ sensitivity: string; id: number }> }>('listDocuments', {});
    expect(docsSeen.documents.map((d) => d.sensitivity).sort()).toEqual(['internal', 'public']);
    const secret = fb.db
      .prepare(
        "SELECT c.id AS chunk, d.id AS doc FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.sensitivity = 'restricted'",
      )
      .get() as { chunk: number; doc: number };
    await expect(call('openCitation', { chunkId: secret.chunk })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(call('getDocumentFile', { docId: secret.doc })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    // The caller cannot raise its own clearance through the filters.
    await expect(call('search', { query: 'valve', filters: { maxSensitivity: 'restricted' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('elevates with the passphrase, sees more, and drops back to reader after inactivity', async () => {
    expect(await call('elevate', { role: 'admin', passphrase: 'admin-pass-123' })).toMatchObject({
      role: 'admin',
      clearance: 'restricted',
    });
    const all = await call<{ hits: unknown[] }>('search', { query: 'valve V-7 procedure', k: 10 });
    expect(all.hits).toHaveLength(4);
    await call('setPassphrase', { role: 'reviewer', passphrase: 'review-pass-1' });
    clock += 11 * 60_000;
    expect(await call('session', {})).toMatchObject({ role: 'reader' });
    expect(await call('elevate', { role: 'reviewer', passphrase: 'review-pass-1' })).toMatchObject({
      clearance: 'confidential',
    });
    const reviewer = await call<{ hits: Array<{ sensitivity: string }> }>('search', {
      query: 'valve V-7 procedure',
      k: 10,
    });
    expect(reviewer.hits.map((h) => h.sensitivity)).not.toContain('restricted');
    await call('dropRole', {});
  });

  it('keeps an append-only, hash-chained audit log of changes, refusals, elevations and questions', async () => {
    const actions = (fb.db.prepare('SELECT action FROM audit_log ORDER BY id').all() as Array<{ action: string }>).map(
      (r) => r.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'ingest',
        'role.passphrase',
        'role.elevate-failed',
        'role.elevate',
        'access.denied',
        'question',
        'settings.change',
        'role.drop',
      ]),
    );
    expect(verifyAudit(fb.db)).toMatchObject({ ok: true, firstBadId: null });
    expect(() => fb.db.prepare("UPDATE audit_log SET actor = 'someone' WHERE id = 1").run()).toThrow(/append-only/);
    expect(() => fb.db.prepare('DELETE FROM audit_log WHERE id = 1').run()).toThrow(/append-only/);
  });

  it('detects an edited or deleted entry even when the triggers are removed (CLI exit code 1)', () => {
    const file = path.join(fb.home, 'fieldbook.db');
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
    raw.prepare("UPDATE audit_log SET target = 'nothing to see' WHERE id = 2").run();
    raw.close();
    expect(verifyAudit(fb.db)).toMatchObject({ ok: false, firstBadId: 2, reason: 'entry content was changed' });
    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), 'audit', 'verify', '--home', fb.home],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/tampered: entry 2/);
    const raw2 = new Database(file);
    raw2.prepare('DELETE FROM audit_log WHERE id = 3').run();
    raw2.close();
    expect(verifyAudit(fb.db).reason).toBe('entry content was changed');
  });

  it('requires an API key on the HTTP bridge when asked to, and applies the key role', async () => {
    await expect(
      startHttpBridge(api, { host: '0.0.0.0', staticDir: tmp.dir, db: fb.db, session: user }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const readerKey = createApiKey(fb.db, 'kiosk', 'reader', new Date());
    const bridge = await startHttpBridge(api, { staticDir: tmp.dir, db: fb.db, session: user, requireApiKeys: true });
    try {
      const post = (method: string, body: unknown, key?: string): Promise<Response> =>
        fetch(`${bridge.url}/api/${method}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(key ? { 'X-Api-Key': key } : {}) },
          body: JSON.stringify(body),
        });
      expect((await post('status', {})).status).toBe(401);
      expect((await post('status', {}, 'fbk_wrong')).status).toBe(401);
      const ok = (await (await post('search', { query: 'valve V-7' }, readerKey)).json()) as {
        ok: boolean;
        result: { hits: Array<{ sensitivity: string }> };
      };
      expect(ok.ok).toBe(true);
      expect(ok.result.hits.every((h) => h.sensitivity === 'public' || h.sensitivity === 'internal')).toBe(true);
      const denied = (await (await post('ingest', { paths: [docs] }, readerKey)).json()) as {
        ok: boolean;
        error: { code: string };
      };
      expect(denied).toMatchObject({ ok: false, error: { code: 'ACCESS_DENIED' } });
    } finally {
      await bridge.close();
    }
  });
});
