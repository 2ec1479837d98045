/**
 * Review findings on USB bundles, each proved with real bundles and real files: an older
 * staged bundle cannot be applied over a newer one, library files cut short after the
 * commit are finished on a retry, hostile manifests (huge, a pipe, keys that share one
 * file, a model pack named "..") are refused, and a reviewer cannot preview a document
 * above their clearance.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src-main/api/handlers';
import { createAccessSession } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { listDocuments } from '../../src-main/core/store/documents';
import { bundleContext } from '../../src-main/core/sync/bundle-context';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { applyBundle, decide, stageBundle, verifyBundle } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { libraryPath } from '../../src-main/core/sync/bundle-manifest';
import { verifyModelFile } from '../../src-main/core/models/approvals';
import { rollbackKnowledge } from '../../src-main/core/sync/rollback';
import { sha256File } from '../../src-main/core/util/hash';
import { resignBundle } from '../support/bundles';
import { writeTinyGguf } from '../support/tiny-gguf';
import { tempDir } from '../support/paths';

describe('USB bundle safety', () => {
  const tmp = tempDir();
  const keys = generateSigningKeys();
  const docs = path.join(tmp.dir, 'docs');
  const usb = path.join(tmp.dir, 'usb');
  let master: Fieldbook;
  let pc: Fieldbook;

  const deps = async (fb: Fieldbook) => ({
    ...bundleContext(fb),
    embedder: await fb.embedder(),
    now: new Date(),
  });
  const exportTo = (name: string): string => {
    const dir = path.join(usb, name);
    exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: dir, now: new Date() });
    return dir;
  };

  beforeAll(async () => {
    fs.mkdirSync(docs, { recursive: true });
    fs.writeFileSync(path.join(docs, 'valve.md'), '# Valve V-3\n\nOLD procedure: open valve 3 slowly.\n');
    fs.writeFileSync(path.join(docs, 'secret.md'), '# Recipe R-9\n\nRestricted recipe: 40 % additive.\n');
    master = openFieldbook({ home: path.join(tmp.dir, 'master'), embeddingModelRoots: [], llmModelRoots: [] });
    await master.ingest.ingest([path.join(docs, 'valve.md')], { sensitivity: 'internal' });
    await master.ingest.ingest([path.join(docs, 'secret.md')], { sensitivity: 'restricted' });
    pc = openFieldbook({ home: path.join(tmp.dir, 'pc'), embeddingModelRoots: [], llmModelRoots: [] });
    trustKey(pc.db, keys.publicKeyPem, 'master', new Date());
  });
  afterAll(async () => {
    await master.close();
    await pc.close();
    tmp.cleanup();
  });

  it('refuses to apply an older staged bundle over a newer one (knowledge never goes backwards)', async () => {
    const v1 = exportTo('v1');
    fs.writeFileSync(path.join(docs, 'valve.md'), '# Valve V-3\n\nNEW procedure: close valve 3 first.\n');
    await master.ingest.ingest([path.join(docs, 'valve.md')], { sensitivity: 'internal' });
    const v2 = exportTo('v2');
    const s1 = await stageBundle(pc.db, pc.home, v1, new Date());
    const s2 = await stageBundle(pc.db, pc.home, v2, new Date());
    decide(pc.db, s1.bundleId, 'all', 'approved', 'Lin', null);
    decide(pc.db, s2.bundleId, 'all', 'approved', 'Lin', null);
    expect(await applyBundle(s2.bundleId, await deps(pc))).toMatchObject({ version: 1, applied: 2 });
    await expect(applyBundle(s1.bundleId, await deps(pc))).rejects.toMatchObject({ code: 'BUNDLE_OLD_VERSION' });
    const valve = listDocuments(pc.db).find((d) => d.sourcePath.endsWith('valve.md'));
    expect(fs.readFileSync(valve?.sourcePath ?? '', 'utf8')).toContain('NEW procedure');
  });

  it('finishes library files on a retry when copying them failed after the commit', async () => {
    fs.writeFileSync(path.join(docs, 'valve.md'), '# Valve V-3\n\nNEWER procedure: lock valve 3.\n');
    await master.ingest.ingest([path.join(docs, 'valve.md')], { sensitivity: 'internal' });
    const staged = await stageBundle(pc.db, pc.home, exportTo('v3'), new Date());
    decide(pc.db, staged.bundleId, 'all', 'approved', 'Lin', null);
    const manifest = JSON.parse(fs.readFileSync(path.join(usb, 'v3', 'manifest.json'), 'utf8')) as {
      sourceKb: string;
    };
    const target = libraryPath(pc.home, manifest.sourceKb, 'valve.md');
    fs.mkdirSync(`${target}.incoming`); // a folder where the copy goes: the copy fails after the commit
    await expect(applyBundle(staged.bundleId, await deps(pc))).rejects.toThrow();
    expect(fs.readFileSync(target, 'utf8')).not.toContain('NEWER'); // the database is ahead of the file
    fs.rmdirSync(`${target}.incoming`);
    expect(await applyBundle(staged.bundleId, await deps(pc))).toMatchObject({ applied: 0 });
    expect(fs.readFileSync(target, 'utf8')).toContain('NEWER procedure');
    expect(fs.existsSync(path.join(pc.home, 'staging', staged.bundleId))).toBe(false);
  });

  it('refuses hostile manifests: huge, a named pipe, two keys for one file, a model pack named ".."', async () => {
    const base = exportTo('base');
    const variant = (name: string): string => {
      const dir = path.join(usb, name);
      fs.cpSync(base, dir, { recursive: true });
      return dir;
    };
    const huge = variant('huge');
    fs.writeFileSync(path.join(huge, 'manifest.json'), Buffer.alloc(33 * 1024 * 1024, 0x20));
    await expect(verifyBundle(pc.db, huge)).rejects.toMatchObject({ code: 'BUNDLE_UNSAFE' });

    const pipe = variant('pipe');
    fs.rmSync(path.join(pipe, 'manifest.json'));
    expect(spawnSync('mkfifo', [path.join(pipe, 'manifest.json')]).status).toBe(0);
    await expect(verifyBundle(pc.db, pipe)).rejects.toMatchObject({ code: 'BUNDLE_UNSAFE' });

    const clash = variant('clash');
    resignBundle(clash, keys.privateKeyPem, (m) => {
      const [a] = m.documents;
      if (a) m.documents.push({ ...a, key: a.key.toUpperCase() });
    });
    await expect(verifyBundle(pc.db, clash)).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
      detail: expect.stringMatching(/share one file/),
    });

    const dots = variant('dots');
    resignBundle(dots, keys.privateKeyPem, (m) => {
      m.models = [
        { kind: 'embedding', name: '..', files: [{ file: 'models/x', target: 'x', sha256: 'a'.repeat(64), size: 1 }] },
      ];
    });
    // A name that would leave the models folder is unsafe, like any path field of the manifest.
    await expect(verifyBundle(pc.db, dots)).rejects.toMatchObject({ code: 'BUNDLE_UNSAFE' });
  });

  it('a model pack that replaces an installed model: rollback puts the old file back, still approved', async () => {
    const home = path.join(tmp.dir, 'pc-models');
    const fb = openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [path.join(home, 'models', 'llm')] });
    try {
      trustKey(fb.db, keys.publicKeyPem, 'master', new Date());
      const gguf = path.join(tmp.dir, 'packs', 'helper.gguf');
      fs.mkdirSync(path.dirname(gguf), { recursive: true });
      const install = async (seed: number, name: string): Promise<string> => {
        writeTinyGguf(gguf, { seed, name: `helper-${seed}` });
        const dir = path.join(usb, name);
        exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: dir, now: new Date(), models: [gguf] });
        const staged = await stageBundle(fb.db, fb.home, dir, new Date());
        decide(fb.db, staged.bundleId, 'all', 'approved', 'Chen', null);
        await applyBundle(staged.bundleId, await deps(fb));
        return sha256File(path.join(home, 'models', 'llm', 'helper.gguf'));
      };
      const first = await install(1, 'pack-1');
      const second = await install(2, 'pack-2');
      expect(second).not.toBe(first);
      const installed = path.join(home, 'models', 'llm', 'helper.gguf');
      const r = await rollbackKnowledge(fb.db, home, 1, { now: new Date() });
      expect(r.modelFiles).toEqual({ restored: 1, missing: [] });
      expect(await sha256File(installed)).toBe(first);
      expect(await verifyModelFile(fb.db, 'llm', 'helper.gguf', installed)).toBe(first);
    } finally {
      await fb.close();
    }
  });

  it('a reviewer cannot preview a document above their clearance; the refusal is audited', async () => {
    fs.writeFileSync(path.join(docs, 'secret.md'), '# Recipe R-9\n\nRestricted recipe: 45 % additive.\n');
    await master.ingest.ingest([path.join(docs, 'secret.md')], { sensitivity: 'restricted' });
    const staged = await stageBundle(pc.db, pc.home, exportTo('v-secret'), new Date());
    const api = createApi(pc, { transport: 'http' });
    const user = createAccessSession({ db: pc.db, actor: 'rev', idleMs: 60_000, now: () => new Date() });
    const call = async (method: string, input: unknown): Promise<unknown> => {
      const env = await api.invoke(method, input, user);
      if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
      return env.result;
    };
    await call('setPassphrase', { role: 'admin', passphrase: 'admin-pass-123' });
    await call('elevate', { role: 'admin', passphrase: 'admin-pass-123' });
    await call('setPassphrase', { role: 'reviewer', passphrase: 'review-pass-123' });
    await call('elevate', { role: 'reviewer', passphrase: 'review-pass-123' });
    await expect(call('bundlePreview', { bundleId: staged.bundleId, key: 'secret.md' })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    const denied = pc.db.prepare("SELECT target FROM audit_log WHERE action = 'access.denied'").all();
    expect(denied).toEqual([{ target: `${staged.bundleId}:secret.md` }]);
  });
});
