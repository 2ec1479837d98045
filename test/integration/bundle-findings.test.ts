/**
 * Review findings on USB bundles (issue 14), each reproduced with real exported bundles,
 * real signatures, real SQLite files and real model files: a signed bundle writing outside
 * the library through `sourceKb`, an older bundle overwriting the active model before being
 * refused, a second publisher taking over another's knowledge base, a reviewer deciding on
 * restricted documents, and a manifest with a file in a subfolder.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src-main/api/handlers';
import { createAccessSession, type AccessSession } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { verifyModelFile } from '../../src-main/core/models/approvals';
import { listDocuments } from '../../src-main/core/store/documents';
import { bundleContext } from '../../src-main/core/sync/bundle-context';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { applyBundle, decide, stageBundle, type ApplyDeps } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { kbIdentity, libraryPath, type BundleManifest } from '../../src-main/core/sync/bundle-manifest';
import { sha256File } from '../../src-main/core/util/hash';
import { resignBundle } from '../support/bundles';
import { tempDir } from '../support/paths';
import { writeTinyGguf } from '../support/tiny-gguf';

describe('USB bundle review findings (issue 14)', () => {
  const tmp = tempDir();
  const keysA = generateSigningKeys();
  const keysB = generateSigningKeys();
  const docs = path.join(tmp.dir, 'docs');
  const usb = path.join(tmp.dir, 'usb');
  let masterA: Fieldbook;
  let masterB: Fieldbook;
  const open: Fieldbook[] = [];

  const pcAt = (name: string): Fieldbook => {
    const home = path.join(tmp.dir, 'pcs', name, 'data');
    const fb = openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [path.join(home, 'models', 'llm')] });
    trustKey(fb.db, keysA.publicKeyPem, 'publisher A', new Date());
    trustKey(fb.db, keysB.publicKeyPem, 'publisher B', new Date());
    open.push(fb);
    return fb;
  };
  const deps = (fb: Fieldbook, extra: Partial<ApplyDeps> = {}): ApplyDeps => ({
    ...bundleContext(fb),
    embedder: null,
    now: new Date(),
    ...extra,
  });
  const exportFrom = (master: Fieldbook, pem: string, name: string, models?: string[]): string => {
    const dir = path.join(usb, name);
    exportBundle(master.db, { privateKeyPem: pem, outDir: dir, now: new Date(), ...(models ? { models } : {}) });
    return dir;
  };
  /** A copy of a bundle, edited and signed again by a trusted key (a validly signed hostile bundle). */
  const hostile = (from: string, name: string, pem: string, edit: (m: BundleManifest) => void): string => {
    const dir = path.join(usb, name);
    fs.cpSync(from, dir, { recursive: true });
    resignBundle(dir, pem, (m) => {
      m.bundleId = randomUUID();
      edit(m);
    });
    return dir;
  };
  const stageAndApply = async (fb: Fieldbook, dir: string): Promise<void> => {
    const staged = await stageBundle(fb.db, fb.home, dir, new Date());
    decide(fb.db, staged.bundleId, 'all', 'approved', 'Lin', null);
    await applyBundle(staged.bundleId, deps(fb));
  };

  beforeAll(async () => {
    fs.mkdirSync(docs, { recursive: true });
    fs.writeFileSync(path.join(docs, 'valve.md'), '# Valve V-3\n\nClose valve 3 before opening the pump housing.\n');
    fs.writeFileSync(path.join(docs, 'secret.md'), '# Recipe R-9\n\nRestricted recipe: 40 % additive.\n');
    fs.writeFileSync(path.join(docs, 'b-notes.md'), '# Line B notes\n\nPublisher B writes about line B only.\n');
    masterA = openFieldbook({ home: path.join(tmp.dir, 'master-a'), embeddingModelRoots: [], llmModelRoots: [] });
    masterB = openFieldbook({ home: path.join(tmp.dir, 'master-b'), embeddingModelRoots: [], llmModelRoots: [] });
    await masterA.ingest.ingest([path.join(docs, 'valve.md')], { sensitivity: 'internal' });
    await masterA.ingest.ingest([path.join(docs, 'secret.md')], { sensitivity: 'restricted' });
    await masterB.ingest.ingest([path.join(docs, 'b-notes.md')], { sensitivity: 'internal' });
  });
  afterAll(async () => {
    for (const fb of [masterA, masterB, ...open]) await fb.close();
    tmp.cleanup();
  });

  it('issue 14.1: a signed bundle cannot write outside the library through sourceKb or a document key', async () => {
    const pc = pcAt('traversal');
    const base = exportFrom(masterA, keysA.privateKeyPem, 'a-base');
    // The reviewer's proof of concept: shown as a new document "Pump P-7 quick guide", applied to ~/.bashrc.
    const bashrc = path.resolve(pc.home, 'library', '../../..', '.bashrc');
    const poc = hostile(base, 'poc-bashrc', keysA.privateKeyPem, (m) => {
      m.sourceKb = '../../..';
      const doc = m.documents[0] as BundleManifest['documents'][number];
      doc.key = '.bashrc';
      doc.title = 'Pump P-7 quick guide';
    });
    await expect(stageBundle(pc.db, pc.home, poc, new Date())).rejects.toMatchObject({
      code: 'BUNDLE_UNSAFE',
      detail: expect.stringMatching(/sourceKb/),
    });
    const kb = kbIdentity(masterA.db).id;
    const variants: Array<[string, (m: BundleManifest) => void]> = [
      ['an absolute sourceKb', (m) => (m.sourceKb = '/etc')],
      ['a sourceKb with a separator', (m) => (m.sourceKb = `${kb}/.`)],
      ['a Windows-style sourceKb', (m) => (m.sourceKb = `..\\..\\${kb}`)],
      ['a document key ".."', (m) => ((m.documents[0] as { key: string }).key = '..')],
      ['a removed key "."', (m) => (m.removed = ['.'])],
      ['a document file outside files/', (m) => ((m.documents[0] as { file: string }).file = 'manifest.json')],
    ];
    for (const [label, edit] of variants) {
      const dir = hostile(base, `bad-${label.replace(/\W+/g, '-')}`, keysA.privateKeyPem, edit);
      const err = await stageBundle(pc.db, pc.home, dir, new Date()).catch((e: unknown) => e);
      expect(err, label).toMatchObject({ code: 'BUNDLE_UNSAFE' });
    }
    expect(fs.existsSync(bashrc)).toBe(false);
    expect(pc.db.prepare('SELECT COUNT(*) AS n FROM bundle_imports').get()).toEqual({ n: 0 });
    expect(fs.existsSync(path.join(pc.home, 'staging')) ? fs.readdirSync(path.join(pc.home, 'staging')) : []).toEqual(
      [],
    );
    // Every library target is checked after resolution, whoever calls it.
    expect(() => libraryPath(pc.home, '../../..', '.bashrc')).toThrow(
      expect.objectContaining({ code: 'BUNDLE_UNSAFE' }),
    );
    expect(() => libraryPath(pc.home, kb, '..')).toThrow(expect.objectContaining({ code: 'BUNDLE_UNSAFE' }));
    expect(libraryPath(pc.home, kb.toUpperCase(), 'a/b.md')).toBe(path.join(pc.home, 'library', kb, 'a_b.md'));
  });

  it('issue 14.13: a knowledge base can only be updated by the key that first published it (sourceKb normalised)', async () => {
    const pc = pcAt('publishers');
    const kbA = kbIdentity(masterA.db).id;
    const fromA = exportFrom(masterA, keysA.privateKeyPem, 'a-for-publishers');
    const fromB = exportFrom(masterB, keysB.privateKeyPem, 'b-own');
    // Staged before A's knowledge base exists here: B's takeover attempt is caught at apply.
    const early = hostile(fromB, 'b-early-takeover', keysB.privateKeyPem, (m) => {
      m.sourceKb = kbA;
      m.version = 1_000;
    });
    const earlyStaged = await stageBundle(pc.db, pc.home, early, new Date());
    decide(pc.db, earlyStaged.bundleId, 'all', 'approved', 'Lin', null);
    await stageAndApply(pc, fromA);
    const libraryA = listDocuments(pc.db).map((d) => [d.sourcePath, d.sha256]);
    expect(libraryA).toHaveLength(2);
    await expect(applyBundle(earlyStaged.bundleId, deps(pc))).rejects.toMatchObject({
      code: 'BUNDLE_WRONG_PUBLISHER',
    });
    // Staged afterwards: refused at once, under any spelling of A's id.
    for (const [name, sourceKb] of [
      ['b-takeover', kbA],
      ['b-takeover-upper', kbA.toUpperCase()],
      ['b-takeover-spaces', ` ${kbA} `],
    ] as const) {
      const dir = hostile(fromB, name, keysB.privateKeyPem, (m) => {
        m.sourceKb = sourceKb;
        m.version = 1_001;
        m.documents = [];
      });
      await expect(stageBundle(pc.db, pc.home, dir, new Date()), name).rejects.toMatchObject({
        code: 'BUNDLE_WRONG_PUBLISHER',
      });
    }
    await expect(
      stageBundle(
        pc.db,
        pc.home,
        hostile(fromB, 'b-takeover-dot', keysB.privateKeyPem, (m) => (m.sourceKb = `${kbA}/.`)),
        new Date(),
      ),
    ).rejects.toMatchObject({ code: 'BUNDLE_UNSAFE' });
    expect(listDocuments(pc.db).map((d) => [d.sourcePath, d.sha256])).toEqual(libraryA);
    // B's own knowledge base is fine, in its own folder.
    await stageAndApply(pc, fromB);
    const kbB = kbIdentity(masterB.db).id;
    expect(listDocuments(pc.db).filter((d) => d.sourcePath.includes(kbB))).toHaveLength(1);
    expect(listDocuments(pc.db)).toHaveLength(3);
  });

  it('issue 14.12: an apply refused as older, or failing in its transaction, leaves the active model and the snapshots as they were', async () => {
    const pc = pcAt('models');
    const gguf = path.join(tmp.dir, 'packs', 'helper.gguf');
    fs.mkdirSync(path.dirname(gguf), { recursive: true });
    const pack = (seed: number, name: string): string => {
      writeTinyGguf(gguf, { seed, name: `helper-${seed}` });
      return exportFrom(masterA, keysA.privateKeyPem, name, [gguf]);
    };
    const older = pack(1, 'pack-older');
    const newer = pack(2, 'pack-newer');
    const installed = path.join(pc.home, 'models', 'llm', 'helper.gguf');
    const s1 = await stageBundle(pc.db, pc.home, older, new Date());
    const s2 = await stageBundle(pc.db, pc.home, newer, new Date());
    decide(pc.db, s1.bundleId, 'all', 'approved', 'Lin', null);
    decide(pc.db, s2.bundleId, 'all', 'approved', 'Lin', null);
    await applyBundle(s2.bundleId, deps(pc));
    const active = await sha256File(installed);
    expect(await verifyModelFile(pc.db, 'llm', 'helper.gguf', installed)).toBe(active);
    // Saved versions (the content-addressed store of kept files, snapshots/files, may grow).
    const snapshots = (): string[] =>
      fs
        .readdirSync(path.join(pc.home, 'snapshots'))
        .filter((n) => n !== 'files')
        .sort();
    const before = snapshots();
    const version = kbIdentity(pc.db).version;

    await expect(applyBundle(s1.bundleId, deps(pc))).rejects.toMatchObject({ code: 'BUNDLE_OLD_VERSION' });
    expect(await sha256File(installed)).toBe(active);
    expect(await verifyModelFile(pc.db, 'llm', 'helper.gguf', installed)).toBe(active);
    expect(snapshots()).toEqual(before);

    // A failure inside the transaction (after the snapshot was taken) changes nothing either.
    const third = await stageBundle(pc.db, pc.home, pack(3, 'pack-third'), new Date());
    decide(pc.db, third.bundleId, 'all', 'approved', 'Lin', null);
    const failing = deps(pc, {
      beforeCommit: () => {
        throw new Error('disk went away');
      },
    });
    await expect(applyBundle(third.bundleId, failing)).rejects.toThrow('disk went away');
    expect(await sha256File(installed)).toBe(active);
    expect(await verifyModelFile(pc.db, 'llm', 'helper.gguf', installed)).toBe(active);
    expect(snapshots()).toEqual(before);
    expect(kbIdentity(pc.db).version).toBe(version);
    // The same bundle then applies normally: the new model is installed and approved.
    expect(await applyBundle(third.bundleId, deps(pc))).toMatchObject({ models: 1, version: version + 1 });
    const now = await sha256File(installed);
    expect(now).not.toBe(active);
    expect(await verifyModelFile(pc.db, 'llm', 'helper.gguf', installed)).toBe(now);
  });

  it('issue 14.15: a reviewer cannot see, approve or apply changes above their clearance (the rule of updateDocument)', async () => {
    const pc = pcAt('clearance');
    const api = createApi(pc, { transport: 'http' });
    const session = (actor: string): AccessSession =>
      createAccessSession({ db: pc.db, actor, idleMs: 600_000, now: () => new Date() });
    const call = async (s: AccessSession, method: string, input: unknown): Promise<unknown> => {
      const env = await api.invoke(method, input, s);
      if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
      return env.result;
    };
    const admin = session('admin-wu');
    const reviewer = session('reviewer-lin');
    await call(admin, 'setPassphrase', { role: 'admin', passphrase: 'admin-pass-123' });
    await call(admin, 'elevate', { role: 'admin', passphrase: 'admin-pass-123' });
    await call(admin, 'setPassphrase', { role: 'reviewer', passphrase: 'review-pass-123' });
    await call(reviewer, 'elevate', { role: 'reviewer', passphrase: 'review-pass-123' });
    const source = exportFrom(masterA, keysA.privateKeyPem, 'a-clearance');

    const staged = (await call(reviewer, 'bundleStage', { source })) as {
      bundleId: string;
      items: Array<{ key: string; title: string; withheld?: true }>;
    };
    const bundleId = staged.bundleId;
    const review = (await call(reviewer, 'bundleReview', { bundleId })) as typeof staged.items;
    for (const listed of [staged.items, review]) {
      expect(listed.map((i) => i.title).sort()).toEqual(['(restricted)', 'Valve V-3']);
      expect(JSON.stringify(listed)).not.toMatch(/Recipe|secret/);
    }
    await expect(
      call(reviewer, 'bundleDecide', { bundleId, keys: ['secret.md'], decision: 'approved' }),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(await call(reviewer, 'bundleDecide', { bundleId, keys: 'all', decision: 'approved' })).toEqual({
      changed: 1,
    });
    // The restricted change is still pending: nothing can be applied yet.
    await expect(call(reviewer, 'bundleApply', { bundleId })).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    // An administrator approves it; the reviewer still may not apply a change they may not see.
    expect(await call(admin, 'bundleDecide', { bundleId, keys: ['secret.md'], decision: 'approved' })).toEqual({
      changed: 1,
    });
    await expect(call(reviewer, 'bundleApply', { bundleId })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(kbIdentity(pc.db).version).toBe(0);
    expect(listDocuments(pc.db)).toHaveLength(0);
    expect(await call(admin, 'bundleApply', { bundleId })).toMatchObject({ version: 1, applied: 2 });
    const audit = pc.db.prepare('SELECT actor, action, target FROM audit_log ORDER BY id').all() as Array<{
      actor: string;
      action: string;
      target: string;
    }>;
    expect(audit.filter((a) => a.action === 'access.denied' && a.target === bundleId).map((a) => a.actor)).toContain(
      'reviewer-lin',
    );
    expect(audit.filter((a) => a.action === 'bundle.apply')).toEqual([
      { actor: 'admin-wu', action: 'bundle.apply', target: bundleId },
    ]);
  });

  it('issue 14.19: a manifest with a file in a subfolder is refused with a clear error and leaves no staging folder', async () => {
    const pc = pcAt('subfolder');
    const base = exportFrom(masterA, keysA.privateKeyPem, 'a-subfolder');
    const dir = hostile(base, 'subfolder', keysA.privateKeyPem, (m) => {
      const doc = m.documents[0] as { file: string };
      const moved = doc.file.replace('files/', 'files/sub/');
      fs.mkdirSync(path.join(usb, 'subfolder', 'files', 'sub'), { recursive: true });
      fs.renameSync(path.join(usb, 'subfolder', doc.file), path.join(usb, 'subfolder', moved));
      doc.file = moved;
    });
    const err = await stageBundle(pc.db, pc.home, dir, new Date()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BUNDLE_UNSAFE', detail: expect.stringMatching(/directly inside files\//) });
    const staging = path.join(pc.home, 'staging');
    expect(fs.existsSync(staging) ? fs.readdirSync(staging) : []).toEqual([]);
    // Leftovers of a staging or unpack cut short by a crash are removed when the data folder is
    // opened; the same work of a process still running (the app, while the CLI opens) is kept.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const leftovers = [`${randomUUID()}.partial-${dead}-${randomUUID()}`, `unpack-${dead}-${randomUUID()}`];
    const running = [`${randomUUID()}.partial-${process.pid}-${randomUUID()}`, `unpack-${process.pid}-${randomUUID()}`];
    for (const name of [...leftovers, ...running]) fs.mkdirSync(path.join(staging, name, 'files'), { recursive: true });
    const reopened = openFieldbook({ home: pc.home, embeddingModelRoots: [], llmModelRoots: [] });
    await reopened.close();
    expect(fs.readdirSync(staging).sort()).toEqual(running.sort());
  });
});
