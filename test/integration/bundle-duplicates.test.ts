/**
 * Issue 15.8: a USB bundle carrying a document whose content (SHA-256) is already in the library
 * under another path, with real bundles, real SQLite and real files. The review lists it as
 * "already in the library from <path>" (kind `duplicate`, with the existing document's origin),
 * never as new; kept as it is by default, so nothing is added twice; approved, the bundle takes the
 * existing document over (same id and passages, the bundle's path, labels and file), and a rollback
 * brings it back to its local path. The library says where each document came from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src-main/api/handlers';
import { createAccessSession, type AccessSession } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { documentChunks, getDocument, listDocuments } from '../../src-main/core/store/documents';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { applyBundle, decide, reviewItems, stageBundle } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { type BundleManifest } from '../../src-main/core/sync/bundle-manifest';
import { rollbackKnowledge } from '../../src-main/core/sync/rollback';
import type { Outputs } from '../../src-preload/contract';
import { samplesDir, tempDir } from '../support/paths';

describe('a bundle document already in the library (issue 15.8)', () => {
  const tmp = tempDir();
  const keys = generateSigningKeys();
  const bundleDir = path.join(tmp.dir, 'usb', 'bundle-1');
  const localDir = path.join(tmp.dir, 'local-manuals');
  const localLog = path.join(localDir, 'troubleshooting-log.md');
  const localLockout = path.join(localDir, 'lockout-tagout_en.docx');
  let manifest: BundleManifest;

  const open = (name: string): Fieldbook =>
    openFieldbook({ home: path.join(tmp.dir, name), embeddingModelRoots: [], llmModelRoots: [] });
  const deps = (fb: Fieldbook) => ({
    db: fb.db,
    home: fb.home,
    parser: fb.parsers(),
    limits: fb.settings().limits,
    chunking: fb.settings().chunk,
    embedder: null,
    now: new Date(),
  });
  /** A PC with the same two files added locally before any bundle came. */
  const targetWithLocalCopies = async (name: string, lockoutLabel: 'internal' | 'restricted'): Promise<Fieldbook> => {
    const fb = open(name);
    trustKey(fb.db, keys.publicKeyPem, 'master workstation', new Date());
    await fb.ingest.ingest([localLog], { sensitivity: 'internal' });
    await fb.ingest.ingest([localLockout], { sensitivity: lockoutLabel });
    return fb;
  };

  beforeAll(async () => {
    fs.mkdirSync(localDir);
    fs.copyFileSync(path.join(samplesDir, 'troubleshooting-log.md'), localLog);
    fs.copyFileSync(path.join(samplesDir, 'lockout-tagout_en.docx'), localLockout);
    const master = open('master');
    try {
      await master.ingest.ingest(
        [
          path.join(samplesDir, 'troubleshooting-log.md'),
          path.join(samplesDir, 'lockout-tagout_en.docx'),
          path.join(samplesDir, 'conveyor-maintenance_en.pdf'),
        ],
        { sensitivity: 'internal', tags: { line: 'A' } },
      );
      manifest = exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: bundleDir, now: new Date() });
    } finally {
      await master.close();
    }
  });
  afterAll(() => tmp.cleanup());

  it('the review shows it as already in the library from its local path; by default nothing is added twice', async () => {
    const fb = await targetWithLocalCopies('keep', 'internal');
    try {
      const before = listDocuments(fb.db);
      const staged = await stageBundle(fb.db, fb.home, bundleDir, new Date());
      const byKey = new Map(staged.items.map((i) => [i.key, i]));
      expect(byKey.get('troubleshooting-log.md')).toMatchObject({
        kind: 'duplicate',
        decision: 'pending',
        sameAs: { path: localLog, origin: { kind: 'local' } },
      });
      expect(byKey.get('lockout-tagout_en.docx')).toMatchObject({ kind: 'duplicate', sameAs: { path: localLockout } });
      expect(byKey.get('conveyor-maintenance_en.pdf')).toMatchObject({ kind: 'new' });
      expect(byKey.get('conveyor-maintenance_en.pdf')?.sameAs).toBeUndefined();
      // Nothing is decided for the reviewer: apply waits.
      await expect(applyBundle(staged.bundleId, deps(fb))).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
      // Keep the existing copies (reject), take the new manual.
      decide(fb.db, staged.bundleId, ['troubleshooting-log.md', 'lockout-tagout_en.docx'], 'rejected', 'Lin', null);
      decide(fb.db, staged.bundleId, ['conveyor-maintenance_en.pdf'], 'approved', 'Lin', null);
      const r = await applyBundle(staged.bundleId, deps(fb));
      expect(r).toMatchObject({ applied: 1, takenOver: 0 });
      const after = listDocuments(fb.db);
      expect(after).toHaveLength(3); // 2 local + 1 new — not 5
      const log = manifest.documents.find((d) => d.key === 'troubleshooting-log.md');
      expect(after.filter((d) => d.sha256 === log?.sha256)).toHaveLength(1);
      const kept = before.find((d) => d.sourcePath === localLog);
      expect(getDocument(fb.db, kept?.id ?? 0)).toMatchObject({ sourcePath: localLog, version: 1 });
      expect(fs.existsSync(path.join(fb.home, 'library', manifest.sourceKb, 'troubleshooting-log.md'))).toBe(false);

      // The library (API) says where each came from.
      const api = createApi(fb, { transport: 'http' });
      const s = createAccessSession({ db: fb.db, actor: 'lin', idleMs: 60_000, now: () => new Date() });
      const env = await api.invoke('listDocuments', {}, s);
      if (!env.ok) throw new Error(env.error.message);
      const docs = (env.result as Outputs['listDocuments']).documents;
      expect(docs.find((d) => d.sourcePath === localLog)?.origin).toEqual({ kind: 'local' });
      expect(docs.find((d) => d.sourcePath.endsWith('conveyor-maintenance_en.pdf'))?.origin).toEqual({
        kind: 'bundle',
        kb: manifest.sourceKb,
        bundleId: manifest.bundleId,
        version: manifest.version,
        signer: 'master workstation',
        appliedAt: expect.any(String) as unknown as string,
      });
    } finally {
      await fb.close();
    }
  });

  it('a reviewer whose clearance is below the existing copy sees the change withheld, without its path', async () => {
    const fb = await targetWithLocalCopies('clearance', 'restricted');
    try {
      const staged = await stageBundle(fb.db, fb.home, bundleDir, new Date(), 'confidential');
      const withheld = staged.items.filter((i) => i.withheld);
      expect(withheld).toHaveLength(1);
      expect(withheld[0]).toMatchObject({ kind: 'duplicate', sensitivity: 'restricted' });
      expect(JSON.stringify(staged.items)).not.toContain(localLockout);
      // An administrator sees which document it is.
      expect(
        reviewItems(fb.db, staged.bundleId, 'restricted').find((i) => i.sameAs?.path === localLockout),
      ).toBeTruthy();
    } finally {
      await fb.close();
    }
  });

  it('approved, the bundle takes the document over: one copy, same passages, the bundle’s path, labels and file; rollback puts it back', async () => {
    const fb = await targetWithLocalCopies('take-over', 'internal');
    let api: ReturnType<typeof createApi> | null = null;
    let s: AccessSession | null = null;
    try {
      const local = listDocuments(fb.db).find((d) => d.sourcePath === localLog);
      if (!local) throw new Error('no local copy');
      const chunkIds = documentChunks(fb.db, local.id).map((c) => c.id);
      const staged = await stageBundle(fb.db, fb.home, bundleDir, new Date());
      decide(fb.db, staged.bundleId, 'all', 'approved', 'Lin', 'the publisher maintains these');
      const r = await applyBundle(staged.bundleId, deps(fb));
      expect(r).toMatchObject({ version: 1, applied: 3, takenOver: 2 });
      const docs = listDocuments(fb.db);
      expect(docs).toHaveLength(3);
      const libraryFile = path.join(fb.home, 'library', manifest.sourceKb, 'troubleshooting-log.md');
      const taken = getDocument(fb.db, local.id);
      expect(taken).toMatchObject({ sourcePath: libraryFile, version: 2, tags: { line: 'A' }, sha256: local.sha256 });
      expect(documentChunks(fb.db, local.id).map((c) => c.id)).toEqual(chunkIds); // citations stay valid
      expect(fs.readFileSync(libraryFile)).toEqual(fs.readFileSync(localLog));
      const hit = (await fb.search.search('E-203', { k: 1 })).hits[0];
      expect(hit?.docId).toBe(local.id);
      expect(hit?.sourcePath).toBe(`library/${manifest.sourceKb}/troubleshooting-log.md`);

      api = createApi(fb, { transport: 'http' });
      s = createAccessSession({ db: fb.db, actor: 'lin', idleMs: 60_000, now: () => new Date() });
      const env = await api.invoke('listDocuments', {}, s);
      if (!env.ok) throw new Error(env.error.message);
      const listed = (env.result as Outputs['listDocuments']).documents;
      expect(listed.find((d) => d.id === local.id)?.origin).toMatchObject({
        kind: 'bundle',
        kb: manifest.sourceKb,
        version: manifest.version,
      });

      // The same bundle's content again is unchanged now, not a duplicate of itself.
      const again = await stageBundle(fb.db, fb.home, bundleDir, new Date());
      expect(again.alreadyApplied).toBe(true);

      // Rolling the update back puts the local document back where it was (same id, one copy).
      const back = await rollbackKnowledge(fb.db, fb.home, 0, { now: new Date() });
      expect(back.documents.restored).toBe(2);
      const restored = listDocuments(fb.db);
      expect(restored.map((d) => d.sourcePath).sort()).toEqual([localLockout, localLog].sort());
      expect(getDocument(fb.db, local.id)).toMatchObject({ sourcePath: localLog, version: 1 });
      expect(documentChunks(fb.db, local.id).map((c) => c.id)).toEqual(chunkIds);
    } finally {
      await fb.close();
    }
  });
});
