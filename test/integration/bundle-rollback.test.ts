/**
 * Rollback of USB updates in the running app (src-main/core/sync/rollback.ts), with real
 * SQLite files, real signed bundles and a real (tiny) embedding model: apply v1 then v2, work
 * with the app (conversations, feedback, corrections, settings, keys, a local document), roll
 * back to v1 through the API — the knowledge equals v1's, everything else survives, the audit
 * chain verifies, the undone bundle can be applied again; readers and reviewers cannot roll
 * back; the CLI rolls back while the app is open; a process killed inside the rollback
 * transaction leaves the previous state intact.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src-main/api/handlers';
import { createAccessSession, createApiKey, type AccessSession } from '../../src-main/core/access/roles';
import { verifyAudit } from '../../src-main/core/audit/audit-log';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { migrate, openMemoryStore, type Db } from '../../src-main/core/store/db';
import { MIGRATIONS } from '../../src-main/core/store/migrations';
import { deleteDocumentRows, writeDocument } from '../../src-main/core/store/documents';
import { getMeta, knn, knnExact, setMeta } from '../../src-main/core/store/vectors';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { type BundleManifest } from '../../src-main/core/sync/bundle-manifest';
import { rollbackKnowledge, type RollbackResult, type SnapshotList } from '../../src-main/core/sync/rollback';
import type { Outputs } from '../../src-preload/contract';
import { repoRoot, tempDir } from '../support/paths';
import { writeTinyEmbedder } from '../support/tiny-embedder';
import { writeTinyGguf } from '../support/tiny-gguf';

const cli = (home: string, args: string[], env: Record<string, string> = {}): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), ...args, '--home', home], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const V1_DOCS: Record<string, string> = {
  'valves.md': '# Valve V-7\n\nError code E-301 means low pressure: check the valve and the oil filter.',
  'pumps.md': '# Hydraulic pump\n\nHydraulic pump maintenance: replace the oil filter and check the pressure.',
  'conveyor.md': '# Conveyor belt\n\nConveyor belt tension: check the belt and adjust the take-up bolts.',
};
const V2_VALVES =
  '# Valve V-7\n\nError code E-302 means high pressure: stop the pump, open the valve slowly, then reset.';
const V2_SERVO =
  '# Servo overload\n\nServo overload alarm: stop the press, check the motor temperature, reset the drive.';
const QUERIES = ['E-301', 'valve pressure', 'oil filter', 'conveyor belt tension', 'servo overload reset'];

describe('rollback of a USB update in the running app', () => {
  const tmp = tempDir();
  const masterHome = path.join(tmp.dir, 'master');
  const masterDocs = path.join(tmp.dir, 'master-docs');
  const home = path.join(tmp.dir, 'target');
  const models = path.join(tmp.dir, 'models');
  const bundle1 = path.join(tmp.dir, 'usb', 'kb-1');
  const bundle2 = path.join(tmp.dir, 'usb', 'kb-2');
  const keys = generateSigningKeys();
  const library = path.join(home, 'library') + path.sep;
  /** How library documents' paths are stored: relative to the data folder (issue 14.21). */
  const LIB = 'library/';
  let master: Fieldbook;
  let fb: Fieldbook;
  let api: Api;
  let user: AccessSession;
  let m1: BundleManifest;
  let m2: BundleManifest;

  const call = async <T>(method: string, input: unknown, s: AccessSession = user): Promise<T> => {
    const env = await api.invoke(method, input, s);
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
    return env.result as T;
  };
  const openTarget = (): Fieldbook => {
    const f = openFieldbook({ home, embeddingModelRoots: [models], llmModelRoots: [] });
    api = createApi(f, { transport: 'http' });
    user = createAccessSession({ db: f.db, actor: 'tech1', idleMs: 60 * 60_000, now: () => new Date() });
    return f;
  };
  const importBundle = async (dir: string): Promise<Outputs['bundleApply']> => {
    const staged = await call<Outputs['bundleStage']>('bundleStage', { source: dir });
    expect(staged.alreadyApplied).toBe(false);
    await call('bundleDecide', { bundleId: staged.bundleId, keys: 'all', decision: 'approved' });
    return call<Outputs['bundleApply']>('bundleApply', { bundleId: staged.bundleId });
  };
  const libraryDocs = (db: Db): Array<Record<string, unknown>> =>
    db
      .prepare(
        'SELECT id, source_path AS sourcePath, sha256, title, version, sensitivity FROM documents WHERE substr(source_path, 1, ?) = ? ORDER BY id',
      )
      .all(LIB.length, LIB) as Array<Record<string, unknown>>;
  const libraryChunks = (db: Db): Array<Record<string, unknown>> =>
    db
      .prepare(
        `SELECT c.id, c.doc_id AS docId, c.ord, c.text, c.heading_path AS headingPath, c.embedded FROM chunks c
         JOIN documents d ON d.id = c.doc_id WHERE substr(d.source_path, 1, ?) = ? ORDER BY c.id`,
      )
      .all(LIB.length, LIB) as Array<Record<string, unknown>>;
  const searchState = async (f: Fieldbook): Promise<Record<string, { keyword: number[]; vector: number[] }>> => {
    const out: Record<string, { keyword: number[]; vector: number[] }> = {};
    for (const q of QUERIES) {
      const keyword = await f.search.search(q, { mode: 'keyword', k: 10 });
      const vector = await f.search.search(q, { mode: 'vector', k: 20 });
      expect(vector.mode).toBe('vector');
      out[q] = {
        keyword: keyword.hits.map((h) => h.chunkId),
        // Vector search always returns neighbours: compare the library's, in order.
        vector: vector.hits.filter((h) => h.sourcePath.startsWith(LIB)).map((h) => h.chunkId),
      };
    }
    return out;
  };
  const count = (db: Db, table: string): number => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;

  let v1Docs: Array<Record<string, unknown>>;
  let v1Chunks: Array<Record<string, unknown>>;
  let v1Search: Record<string, { keyword: number[]; vector: number[] }>;
  let v1Answer: Outputs['ask'];
  let v1ValvesSha: string;

  beforeAll(async () => {
    writeTinyEmbedder(models, { name: 'tiny-emb', seed: 3 });
    fs.mkdirSync(masterDocs, { recursive: true });
    for (const [name, text] of Object.entries(V1_DOCS)) fs.writeFileSync(path.join(masterDocs, name), text);
    master = openFieldbook({ home: masterHome, embeddingModelRoots: [], llmModelRoots: [] });
    await master.ingest.ingest([masterDocs], { sensitivity: 'internal' });
    m1 = exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: bundle1, now: new Date() });
    // Version 2 on the master: one document changed, one removed, one new.
    fs.writeFileSync(path.join(masterDocs, 'valves.md'), V2_VALVES);
    fs.writeFileSync(path.join(masterDocs, 'servo.md'), V2_SERVO);
    await master.ingest.ingest([masterDocs], { sensitivity: 'internal' });
    const pumps = master.db
      .prepare('SELECT id FROM documents WHERE source_path LIKE ?')
      .pluck()
      .get('%pumps.md') as number;
    master.ingest.removeDocument(pumps);
    m2 = exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: bundle2, now: new Date() });

    fb = openTarget();
    trustKey(fb.db, keys.publicKeyPem, 'master workstation', new Date());
    expect((await fb.useEmbeddingModel('tiny-emb')).active).toBe('tiny-emb');
  });
  afterAll(async () => {
    await fb.close();
    await master.close();
    tmp.cleanup();
  });

  it('applies v1 then v2 through the API, keeping the files v2 overwrites', async () => {
    expect(m1.documents).toHaveLength(3);
    expect(await importBundle(bundle1)).toMatchObject({ version: 1, applied: 3 });
    v1Docs = libraryDocs(fb.db);
    v1Chunks = libraryChunks(fb.db);
    v1Search = await searchState(fb);
    expect(v1Search['E-301']?.keyword.length).toBeGreaterThan(0);
    expect(v1Chunks.every((c) => c.embedded === 1)).toBe(true);
    v1Answer = await call<Outputs['ask']>('ask', { question: 'What does E-301 mean?', requestId: 'q1' });
    expect(v1Answer.citations[0]?.sourcePath).toMatch(/valves\.md$/);
    v1ValvesSha = sha256(
      path.join(home, v1Docs.find((d) => String(d.sourcePath).endsWith('valves.md'))?.sourcePath as string),
    );

    const r2 = await importBundle(bundle2);
    expect(r2).toMatchObject({ version: 2, applied: 2, removed: 1 });
    const v2 = libraryDocs(fb.db)
      .map((d) => path.basename(String(d.sourcePath)))
      .sort();
    expect(v2).toEqual(['conveyor.md', 'servo.md', 'valves.md']);
    // The v1 content of the overwritten library file is kept by hash for a rollback.
    expect(fs.existsSync(path.join(home, 'snapshots', 'files', v1ValvesSha))).toBe(true);
    expect(sha256(path.join(library, m2.sourceKb, 'valves.md'))).not.toBe(v1ValvesSha);
  });

  let v2Answer: Outputs['ask'];
  let before: Record<string, number>;

  it('work after the update: conversation, feedback, correction, settings, passphrases, key, local document', async () => {
    v2Answer = await call<Outputs['ask']>('ask', { question: 'servo overload reset', requestId: 'q2' });
    expect(v2Answer.citations.some((c) => c.sourcePath.endsWith('servo.md'))).toBe(true);
    await call('sendFeedback', { answerId: v2Answer.id, rating: 'down', comment: 'too short' });
    await call('correctAnswer', { answerId: v2Answer.id, correction: 'Stop the press, let the motor cool, reset.' });
    await call('updateSettings', { search: { topK: 7 } });
    const local = path.join(tmp.dir, 'local', 'canteen.md');
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.writeFileSync(local, '# Canteen\n\nCanteen opening hours: noodles on Friday, rice on Monday.');
    await call('ingest', { paths: [local] });
    createApiKey(fb.db, 'kiosk', 'reader', new Date());
    trustKey(fb.db, generateSigningKeys().publicKeyPem, 'second workstation', new Date());
    await call('setPassphrase', { role: 'admin', passphrase: 'admin passphrase 1' });
    await call('elevate', { role: 'admin', passphrase: 'admin passphrase 1' });
    await call('setPassphrase', { role: 'reviewer', passphrase: 'reviewer passphrase 1' });
    await call('dropRole', {});
    before = Object.fromEntries(
      [
        'conversations',
        'answers',
        'feedback',
        'settings',
        'role_passphrases',
        'api_keys',
        'trusted_keys',
        'dataset_exports',
        'ingest_jobs',
      ].map((t) => [t, count(fb.db, t)]),
    );
    expect(before.feedback).toBe(2);
  });

  it('only an administrator can roll back; reviewers can list versions', async () => {
    const reader = createAccessSession({ db: fb.db, actor: 'tech2', idleMs: 60_000, now: () => new Date() });
    await expect(call('bundleRollback', { to: 1 }, reader)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(call('bundleSnapshots', {}, reader)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    const reviewer = createAccessSession({ db: fb.db, actor: 'lin', idleMs: 60_000, now: () => new Date() });
    await call('elevate', { role: 'reviewer', passphrase: 'reviewer passphrase 1' }, reviewer);
    await expect(call('bundleRollback', { to: 1 }, reviewer)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    const list = await call<SnapshotList>('bundleSnapshots', {}, reviewer);
    expect(list.current).toBe(2);
    expect(list.snapshots.map((s) => s.version)).toEqual([1, 0]);
    const v1 = list.snapshots[0];
    expect(v1?.undoes.map((b) => [b.bundleId, b.version, b.signer])).toEqual([
      [m2.bundleId, m2.version, 'master workstation'],
    ]);
    expect(v1?.changes).toEqual({ remove: 2, restore: 2 }); // valves v2 + servo out, valves v1 + pumps back
    expect(v1?.problem).toBeNull();
    expect(list.snapshots[1]?.undoes.map((b) => b.bundleId)).toEqual([m1.bundleId, m2.bundleId]);
    expect(verifyAudit(fb.db).ok).toBe(true);
  });

  it('restores exactly v1 in the open app and keeps everything else', async () => {
    const snapshot = path.join(home, 'snapshots', 'v1.db');
    const snapshotSha = sha256(snapshot);
    await call('elevate', { role: 'admin', passphrase: 'admin passphrase 1' });
    const r = await call<RollbackResult>('bundleRollback', { to: 1 });
    expect(r).toMatchObject({
      from: 2,
      version: 1,
      documents: { removed: 2, restored: 2 },
      vectorSpaceChanged: false,
      chunksToEmbed: 0,
      modelApprovalsReverted: 0,
      files: { restored: 1, missing: [] },
      snapshotsRemoved: [],
    });
    expect(r.undone.map((b) => b.bundleId)).toEqual([m2.bundleId]);
    expect(sha256(snapshot)).toBe(snapshotSha); // the snapshot is read, never written

    // Knowledge: documents (same ids), chunks (same ids and text), search results equal v1's.
    expect(libraryDocs(fb.db)).toEqual(v1Docs);
    expect(libraryChunks(fb.db)).toEqual(v1Chunks);
    expect(await searchState(fb)).toEqual(v1Search);
    expect(getMeta(fb.db, 'kb.version')).toBe('1');
    expect(getMeta(fb.db, `kb.applied.${m1.sourceKb}`)).toBe(String(m1.version));
    // The library file is v1's again.
    expect(sha256(path.join(library, m1.sourceKb, 'valves.md'))).toBe(v1ValvesSha);

    // The vector index is whole and consistent.
    const total = count(fb.db, 'chunks');
    expect(count(fb.db, 'chunk_vectors')).toBe(total);
    expect(count(fb.db, 'chunk_vec_i8')).toBe(total);
    expect(fb.db.prepare('SELECT COUNT(*) FROM chunks WHERE embedded = 1').pluck().get()).toBe(total);
    const q = await (await fb.embedder())?.embedQuery('oil filter pressure');
    expect(q).toBeDefined();
    expect(knn(fb.db, q as Float32Array, 3).map((n) => n.chunkId)).toEqual(
      knnExact(fb.db, q as Float32Array, 3).map((n) => n.chunkId),
    );
    expect(fb.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(fb.db.pragma('foreign_key_check')).toEqual([]);

    // Everything that is not knowledge survived.
    for (const [table, n] of Object.entries(before)) expect([table, count(fb.db, table)]).toEqual([table, n]);
    const conversation = await call<Outputs['getConversation']>('getConversation', { id: v2Answer.conversationId });
    expect(conversation[0]?.citations).toEqual(v2Answer.citations);
    const feedback = fb.db
      .prepare('SELECT rating, comment, correction FROM feedback WHERE answer_id = ? ORDER BY id')
      .all(v2Answer.id);
    expect(feedback).toEqual([
      { rating: 'down', comment: 'too short', correction: null },
      { rating: 'down', comment: null, correction: 'Stop the press, let the motor cool, reset.' },
    ]);
    expect(fb.settings().search.topK).toBe(7);
    expect((await call<Outputs['session']>('session', {})).passphrases).toEqual({ reviewer: true, admin: true });
    expect((await fb.search.search('canteen noodles', { mode: 'keyword' })).hits[0]?.sourcePath).toMatch(
      /canteen\.md$/,
    );
    // A citation made at v1 opens the same passage again; one to a passage only v2 had says so.
    const c1 = v1Answer.citations[0];
    const opened = await call<Outputs['openCitation']>('openCitation', { chunkId: c1?.chunkId });
    expect(opened.text).toBe(v1Chunks.find((c) => c.id === c1?.chunkId)?.text);
    const servo = v2Answer.citations.find((c) => c.sourcePath.endsWith('servo.md'));
    await expect(call('openCitation', { chunkId: servo?.chunkId })).rejects.toMatchObject({
      code: 'DOCUMENT_NOT_FOUND',
    });

    // History and audit.
    const history = await call<Outputs['bundleHistory']>('bundleHistory', {});
    expect(Object.fromEntries(history.map((h) => [h.bundleId, h.status]))).toEqual({
      [m1.bundleId]: 'applied',
      [m2.bundleId]: 'rolled-back',
    });
    expect(verifyAudit(fb.db).ok).toBe(true);
    const entry = fb.db
      .prepare("SELECT actor, role, target, detail FROM audit_log WHERE action = 'bundle.rollback' ORDER BY id DESC")
      .get() as { actor: string; role: string; target: string; detail: string };
    expect(entry).toMatchObject({ actor: 'tech1', role: 'admin', target: 'v1' });
    expect(JSON.parse(entry.detail)).toMatchObject({ from: 2, version: 1 });
    expect((await call<SnapshotList>('bundleSnapshots', {})).snapshots.map((s) => s.version)).toEqual([0]);
  });

  it('the rolled-back bundle can be staged and applied again', async () => {
    expect(await importBundle(bundle2)).toMatchObject({ version: 2, applied: 2, removed: 1 });
    const names = libraryDocs(fb.db).map((d) => path.basename(String(d.sourcePath)));
    expect(names.sort()).toEqual(['conveyor.md', 'servo.md', 'valves.md']);
    const history = await call<Outputs['bundleHistory']>('bundleHistory', {});
    expect(history.find((h) => h.bundleId === m2.bundleId)?.status).toBe('applied');
    expect((await fb.search.search('E-302', { mode: 'keyword' })).hits[0]?.sourcePath).toMatch(/valves\.md$/);
  });

  it('the CLI rolls back while the app is open, and removes the later saved versions', () => {
    const r = cli(home, ['bundle', 'rollback', '--to', '0', '--json']);
    expect(r.status, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ from: 2, version: 0, snapshotsRemoved: [1] });
    // The open app sees the committed rollback.
    expect(libraryDocs(fb.db)).toEqual([]);
    expect(count(fb.db, 'answers')).toBe(before.answers);
    expect(
      (fb.db.prepare('SELECT source_path FROM documents').pluck().all() as string[]).map((p) => path.basename(p)),
    ).toEqual(['canteen.md']);
    expect(fs.existsSync(path.join(home, 'snapshots', 'v1.db'))).toBe(false);
    expect(fs.existsSync(path.join(home, 'snapshots', 'v0.db'))).toBe(true);
    expect(verifyAudit(fb.db).ok).toBe(true);
    const list = cli(home, ['bundle', 'rollback', '--list', '--json']);
    expect(JSON.parse(String(list.stdout))).toEqual({ current: 0, snapshots: [] });
  });

  it('a process killed inside the rollback transaction leaves the previous state intact', async () => {
    expect(await importBundle(bundle2)).toMatchObject({ version: 1, applied: 3 });
    const state = libraryChunks(fb.db);
    await fb.close();
    const crashed = cli(home, ['bundle', 'rollback', '--to', '0'], { FIELDBOOK_TEST_CRASH_BEFORE_COMMIT: '1' });
    expect(crashed.signal).toBe('SIGKILL');
    fb = openTarget();
    expect(fb.recoveredFromUncleanExit).toBe(true);
    expect(fb.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(getMeta(fb.db, 'kb.version')).toBe('1');
    expect(libraryChunks(fb.db)).toEqual(state);
    expect(count(fb.db, 'chunk_vec_i8')).toBe(count(fb.db, 'chunks'));
    await call('elevate', { role: 'admin', passphrase: 'admin passphrase 1' });
    const history = await call<Outputs['bundleHistory']>('bundleHistory', {});
    expect(history.find((h) => h.bundleId === m2.bundleId)?.status).toBe('applied');
    expect(fs.existsSync(path.join(home, 'snapshots', 'v0.db'))).toBe(true);
    expect(verifyAudit(fb.db).ok).toBe(true);
    // And the same rollback then succeeds.
    expect(await call<RollbackResult>('bundleRollback', { to: 0 })).toMatchObject({ version: 0 });
    expect(libraryDocs(fb.db)).toEqual([]);
  });

  it('reverts the approvals a model pack brought and rebuilds vectors when the model changed since', async () => {
    writeTinyEmbedder(models, { name: 'tiny-b', seed: 5, dim: 48 });
    const gguf = path.join(tmp.dir, 'pack', 'tiny-pack.gguf');
    fs.mkdirSync(path.dirname(gguf), { recursive: true });
    writeTinyGguf(gguf);
    const bundle3 = path.join(tmp.dir, 'usb', 'kb-3-with-model');
    exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: bundle3, now: new Date(), models: [gguf] });
    const homeB = path.join(tmp.dir, 'target-b');
    const b = openFieldbook({
      home: homeB,
      embeddingModelRoots: [models],
      llmModelRoots: [path.join(homeB, 'models', 'llm')],
    });
    const apiB = createApi(b, { transport: 'http' });
    const admin = createAccessSession({ db: b.db, actor: 'chen', idleMs: 60_000, now: () => new Date() });
    const callB = async <T>(method: string, input: unknown): Promise<T> => {
      const env = await apiB.invoke(method, input, admin);
      if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
      return env.result as T;
    };
    const importB = async (dir: string): Promise<void> => {
      const staged = await callB<Outputs['bundleStage']>('bundleStage', { source: dir });
      await callB('bundleDecide', { bundleId: staged.bundleId, keys: 'all', decision: 'approved' });
      await callB('bundleApply', { bundleId: staged.bundleId });
    };
    try {
      trustKey(b.db, keys.publicKeyPem, 'master workstation', new Date());
      await b.useEmbeddingModel('tiny-emb');
      await importB(bundle1);
      const v1 = libraryChunks(b.db).map((c) => [c.id, c.text]);
      await importB(bundle3);
      const approved = (): string[] =>
        (
          b.db.prepare('SELECT kind, name FROM approved_models ORDER BY kind, name').all() as Array<{
            kind: string;
            name: string;
          }>
        ).map((r) => `${r.kind}:${r.name}`);
      expect(approved()).toEqual(['embedding:tiny-emb', 'llm:tiny-pack.gguf']);
      // The administrator switches the embedding model after the update.
      await b.useEmbeddingModel('tiny-b');
      await b.ingest.embedMissing();
      expect(getMeta(b.db, 'embedding.dim')).toBe('48');

      const r = await callB<RollbackResult>('bundleRollback', { to: 1 });
      const total = count(b.db, 'chunks');
      expect(r).toMatchObject({ version: 1, vectorSpaceChanged: true, modelApprovalsReverted: 1, chunksToEmbed: 0 });
      // The snapshot's vectors (tiny-emb) came back, then the configured model (tiny-b) re-embedded them.
      expect(r.chunksEmbedded).toBe(total);
      expect(getMeta(b.db, 'embedding.model_id')).toMatch(/^tiny-b@/);
      expect(count(b.db, 'chunk_vec_i8')).toBe(total);
      expect(libraryChunks(b.db).map((c) => [c.id, c.text])).toEqual(v1);
      // The pack's approval is gone; the administrator's own approvals stay.
      expect(approved()).toEqual(['embedding:tiny-b', 'embedding:tiny-emb']);
      const res = await b.search.search('oil filter', { mode: 'vector', k: 3 });
      expect(res.mode).toBe('vector');
      expect(res.hits.length).toBeGreaterThan(0);
      expect(verifyAudit(b.db).ok).toBe(true);
    } finally {
      await b.close();
    }
  });
});

describe('rollback when a local document took the ids of a library document', () => {
  it('puts the library document back under new ids and leaves the local one alone', async () => {
    const tmp = tempDir();
    const home = path.join(tmp.dir, 'home');
    const fb = openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [] });
    try {
      const doc = (sourcePath: string, text: string): Parameters<typeof writeDocument>[1] => ({
        sourcePath,
        title: path.basename(sourcePath),
        type: 'md',
        sha256: createHash('sha256').update(text).digest('hex'),
        sizeBytes: Buffer.byteLength(text),
        pages: null,
        language: 'en',
        sensitivity: 'internal',
        isSafety: false,
        tags: { line: 'A' },
        warnings: [],
        chunks: [
          { ord: 0, text, pageStart: null, pageEnd: null, headingPath: ['Intro'], boxes: [], ocrConfidence: null },
        ],
        vectors: null,
      });
      const lib = (name: string): string => path.join(home, 'library', 'kb', name);
      /** The path as stored: relative to the data folder (issue 14.21). */
      const stored = (name: string): string => `library/kb/${name}`;
      const now = new Date();
      fb.db.transaction(() => {
        writeDocument(fb.db, doc(lib('a.md'), 'Gearbox oil level check every week.'), now);
        writeDocument(fb.db, doc(lib('b.md'), 'Hydraulic hose burst: isolate the pump first.'), now);
        setMeta(fb.db, 'kb.version', '1');
      })();
      const b = fb.db.prepare('SELECT id FROM documents WHERE source_path = ?').pluck().get(stored('b.md')) as number;
      const bChunk = fb.db.prepare('SELECT id FROM chunks WHERE doc_id = ?').pluck().get(b) as number;
      fs.mkdirSync(path.join(home, 'snapshots'), { recursive: true });
      await fb.db.backup(path.join(home, 'snapshots', 'v1.db'));
      // "Version 2" removed b.md; then a document added on this PC reuses its ids.
      fb.db.transaction(() => {
        deleteDocumentRows(fb.db, b);
        setMeta(fb.db, 'kb.version', '2');
      })();
      const local = fb.db.transaction(() =>
        writeDocument(fb.db, doc(path.join(tmp.dir, 'mine.md'), 'Canteen menu for the night shift.'), now),
      )();
      expect(local).toBe(b);
      expect(fb.db.prepare('SELECT id FROM chunks WHERE doc_id = ?').pluck().get(local)).toBe(bChunk);

      const r = await rollbackKnowledge(fb.db, home, 1, { now });
      expect(r.documents).toEqual({ removed: 0, restored: 1, unchanged: 1 });
      const restored = fb.db.prepare('SELECT id FROM documents WHERE source_path = ?').pluck().get(stored('b.md'));
      expect(restored).not.toBe(b);
      expect(fb.db.prepare('SELECT source_path FROM documents WHERE id = ?').pluck().get(b)).toBe(
        path.join(tmp.dir, 'mine.md'),
      );
      expect(fb.db.prepare('SELECT key, value FROM document_tags WHERE doc_id = ?').all(restored)).toEqual([
        { key: 'line', value: 'A' },
      ]);
      for (const [q, file] of [
        ['hydraulic hose', 'b.md'],
        ['canteen menu', 'mine.md'],
        ['gearbox oil', 'a.md'],
      ] as const) {
        const hits = (await fb.search.search(q, { mode: 'keyword' })).hits;
        expect(hits.map((h) => path.basename(h.sourcePath))).toEqual([file]);
      }
      expect(fb.db.pragma('foreign_key_check')).toEqual([]);
    } finally {
      await fb.close();
      tmp.cleanup();
    }
  });
});

describe('rollback safety in the schema', () => {
  it('no table but knowledge references documents or chunks, so deleting them cannot cascade into conversations or feedback', () => {
    const db = openMemoryStore();
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'")
      .pluck()
      .all() as string[];
    const referencing = tables
      .flatMap((t) =>
        (db.prepare('SELECT "table" AS parent FROM pragma_foreign_key_list(?)').all(t) as Array<{ parent: string }>)
          .filter((fk) => fk.parent === 'documents' || fk.parent === 'chunks')
          .map(() => t),
      )
      .sort();
    expect(referencing).toEqual(['chunk_vectors', 'chunks', 'document_tags']);
    db.close();
  });

  it("the migration allowing 'rolled-back' keeps every bundle import and item", () => {
    const step = MIGRATIONS.findIndex((m) => typeof m !== 'string' && m.table === 'bundle_imports');
    expect(step).toBeGreaterThan(0);
    const db = new Database(':memory:');
    sqliteVec.load(db);
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS.slice(0, step));
    const insert = db.prepare(
      "INSERT INTO bundle_imports(bundle_id, source_kb, version, signer, manifest, status, staged_at) VALUES (?, 'kb', 1, 's', '{}', ?, 't')",
    );
    insert.run('b1', 'applied');
    expect(() => insert.run('b2', 'rolled-back')).toThrow(/CHECK/);
    db.prepare(
      "INSERT INTO bundle_items(bundle_id, key, kind, title, decision) VALUES ('b1', 'a.md', 'new', 'A', 'approved'), ('b1', 'model:llm/x', 'model', 'X', 'approved')",
    ).run();
    migrate(db, MIGRATIONS.slice(0, step + 1));
    expect(db.prepare('SELECT COUNT(*) FROM bundle_items').pluck().get()).toBe(2);
    db.prepare("UPDATE bundle_imports SET status = 'rolled-back'").run();
    expect(() => insert.run('b3', 'lost')).toThrow(/CHECK/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });
});
