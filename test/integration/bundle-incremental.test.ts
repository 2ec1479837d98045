/**
 * Incremental bundles (only what changed since an exported version, removals listed, the
 * base version checked), the reviewer's preview with a passage-level diff, and bundles
 * that carry chunks and vectors (reused only with exactly the same embedding model).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { listDocuments, setDocumentLabels } from '../../src-main/core/store/documents';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { applyBundle, decide, stageBundle, type ApplyDeps } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { kbIdentity } from '../../src-main/core/sync/bundle-manifest';
import { previewItem } from '../../src-main/core/sync/bundle-preview';
import { repoRoot, samplesDir, tempDir } from '../support/paths';
import { writeTinyEmbedder } from '../support/tiny-embedder';

const LOG = 'troubleshooting-log.md';

describe('incremental bundles, review preview and carried vectors', () => {
  const tmp = tempDir();
  const keys = generateSigningKeys();
  const docs = path.join(tmp.dir, 'docs');
  const usb = path.join(tmp.dir, 'usb');
  const modelRoot = path.join(tmp.dir, 'models');
  let master: Fieldbook;
  let target: Fieldbook;

  const open = async (name: string, embedding: string): Promise<Fieldbook> => {
    const fb = openFieldbook({ home: path.join(tmp.dir, name), embeddingModelRoots: [modelRoot], llmModelRoots: [] });
    expect((await fb.useEmbeddingModel(embedding)).active).toBe(embedding);
    return fb;
  };
  const deps = async (fb: Fieldbook): Promise<ApplyDeps> => ({
    db: fb.db,
    home: fb.home,
    parser: fb.parsers(),
    limits: fb.settings().limits,
    chunking: fb.settings().chunk,
    embedder: await fb.embedder(),
    now: new Date(),
  });
  const previewDeps = (fb: Fieldbook) => ({
    db: fb.db,
    home: fb.home,
    parser: fb.parsers(),
    limits: fb.settings().limits,
    chunking: fb.settings().chunk,
  });
  const stageAndApply = async (fb: Fieldbook, source: string) => {
    const staged = await stageBundle(fb.db, fb.home, source, new Date());
    decide(fb.db, staged.bundleId, 'all', 'approved', 'Reviewer Lin', null);
    return { staged, applied: await applyBundle(staged.bundleId, await deps(fb)) };
  };

  beforeAll(async () => {
    writeTinyEmbedder(modelRoot, { name: 'emb-a', seed: 7 });
    writeTinyEmbedder(modelRoot, { name: 'emb-b', seed: 99 });
    fs.mkdirSync(docs, { recursive: true });
    for (const f of [LOG, 'lockout-tagout_en.docx', 'plc-fault-reset_zh-TW.pdf'])
      fs.copyFileSync(path.join(samplesDir, f), path.join(docs, f));
    master = await open('master', 'emb-a');
    await master.ingest.ingest([docs], { sensitivity: 'internal' });
    target = await open('target', 'emb-a');
    trustKey(target.db, keys.publicKeyPem, 'master workstation', new Date());
  });
  afterAll(async () => {
    await master.close();
    await target.close();
    tmp.cleanup();
  });

  it('a full bundle with its index: the target reuses the vectors of the same model instead of embedding', async () => {
    const m = exportBundle(master.db, {
      privateKeyPem: keys.privateKeyPem,
      outDir: path.join(usb, 'v1'),
      now: new Date(),
      withIndex: true,
    });
    expect(m.baseVersion).toBe(0);
    expect(m.embedding?.modelId).toMatch(/^emb-a@/);
    expect(m.documents.every((d) => d.index)).toBe(true);
    const { applied } = await stageAndApply(target, path.join(usb, 'v1'));
    expect(applied).toMatchObject({ version: 1, applied: 3, vectorsEmbedded: 0 });
    expect(applied.vectorsReused).toBeGreaterThan(3);
    const hits = await target.search.search('E-203', { k: 3, mode: 'vector' });
    expect(hits.hits.length).toBeGreaterThan(0);
    expect((await target.search.search('E-203', { k: 1 })).hits[0]?.docTitle).toMatch(/Troubleshooting/i);
  });

  it('a PC with another embedding model embeds the carried chunks itself', async () => {
    const other = await open('other-model', 'emb-b');
    try {
      trustKey(other.db, keys.publicKeyPem, 'master workstation', new Date());
      const { applied } = await stageAndApply(other, path.join(usb, 'v1'));
      expect(applied.vectorsReused).toBe(0);
      expect(applied.vectorsEmbedded).toBeGreaterThan(3);
    } finally {
      await other.close();
    }
  });

  it('an incremental bundle carries only the changes; the reviewer sees what changed, then it applies', async () => {
    // On the master: one document edited, one removed, one added, one relabelled.
    const logFile = path.join(docs, LOG);
    fs.writeFileSync(
      logFile,
      fs.readFileSync(logFile, 'utf8') +
        '\n\n## E-999 Coolant pump dry run\n\nStop the pump and refill the coolant tank.\n',
    );
    fs.rmSync(path.join(docs, 'lockout-tagout_en.docx'));
    fs.copyFileSync(
      path.join(samplesDir, 'electrical-safety_zh-TW.docx'),
      path.join(docs, 'electrical-safety_zh-TW.docx'),
    );
    await master.ingest.ingest([docs], { sensitivity: 'internal', removeMissing: true });
    const pdf = listDocuments(master.db).find((d) => d.sourcePath.endsWith('.pdf'));
    setDocumentLabels(master.db, pdf?.id ?? 0, { sensitivity: 'confidential' }, new Date());

    const m = exportBundle(master.db, {
      privateKeyPem: keys.privateKeyPem,
      outDir: path.join(usb, 'v2'),
      now: new Date(),
      since: 1,
    });
    expect(m).toMatchObject({ baseVersion: 1, version: 2, removed: ['lockout-tagout_en.docx'] });
    expect(m.documents.map((d) => d.key).sort()).toEqual([
      'electrical-safety_zh-TW.docx',
      'plc-fault-reset_zh-TW.pdf',
      LOG,
    ]);

    const staged = await stageBundle(target.db, target.home, path.join(usb, 'v2'), new Date());
    expect(staged.info).toMatchObject({ baseVersion: 1, version: 2 });
    expect(staged.items.map((i) => `${i.kind}:${i.key}`).sort()).toEqual([
      'changed:plc-fault-reset_zh-TW.pdf',
      `changed:${LOG}`,
      'new:electrical-safety_zh-TW.docx',
      'removed:lockout-tagout_en.docx',
    ]);

    const edited = await previewItem(previewDeps(target), staged.bundleId, LOG);
    expect(edited.diff).toMatchObject({ added: 2, removed: 0 });
    expect(edited.diff?.addedSamples.join('\n')).toContain('Stop the pump and refill the coolant tank.');
    expect(edited.diff?.unchanged).toBeGreaterThan(5);
    const relabelled = await previewItem(previewDeps(target), staged.bundleId, 'plc-fault-reset_zh-TW.pdf');
    expect(relabelled.diff).toMatchObject({ added: 0, removed: 0 });
    expect([relabelled.labelsBefore?.sensitivity, relabelled.labelsAfter?.sensitivity]).toEqual([
      'internal',
      'confidential',
    ]);
    expect(relabelled.excerpt[0]?.page).toBe(1);
    const added = await previewItem(previewDeps(target), staged.bundleId, 'electrical-safety_zh-TW.docx');
    expect(added.excerpt.map((e) => e.text).join('')).toMatch(/電|安全/);
    const removed = await previewItem(previewDeps(target), staged.bundleId, 'lockout-tagout_en.docx');
    expect(removed.excerpt.map((e) => e.text).join(' ')).toMatch(/lockout/i);

    decide(target.db, staged.bundleId, 'all', 'approved', 'Reviewer Lin', 'checked the diff');
    const applied = await applyBundle(staged.bundleId, await deps(target));
    expect(applied).toMatchObject({ version: 2, applied: 3, removed: 1 });
    const titles = listDocuments(target.db).map((d) => path.basename(d.sourcePath));
    expect(titles.sort()).toEqual(['electrical-safety_zh-TW.docx', 'plc-fault-reset_zh-TW.pdf', LOG]);
    expect(listDocuments(target.db).find((d) => d.sourcePath.endsWith('.pdf'))?.sensitivity).toBe('confidential');
    expect((await target.search.search('E-999 coolant pump', { k: 1 })).hits[0]?.text).toContain('refill the coolant');
  });

  it('refuses an incremental bundle whose base version this PC does not have', async () => {
    // Made since version 1, but the target is at version 2 now.
    exportBundle(master.db, {
      privateKeyPem: keys.privateKeyPem,
      outDir: path.join(usb, 'stale'),
      now: new Date(),
      since: 1,
    });
    await expect(stageBundle(target.db, target.home, path.join(usb, 'stale'), new Date())).rejects.toMatchObject({
      code: 'BUNDLE_BASE_MISMATCH',
    });
    expect(kbIdentity(target.db).version).toBe(2);
  });

  it('refuses to export since a version that was never exported', () => {
    expect(() =>
      exportBundle(master.db, {
        privateKeyPem: keys.privateKeyPem,
        outDir: path.join(usb, 'x'),
        now: new Date(),
        since: 42,
      }),
    ).toThrow(/no bundle of version 42/);
  });

  it('CLI: exports an incremental one-file bundle since the last export', async () => {
    const keyFile = path.join(tmp.dir, 'signing.key.pem');
    fs.writeFileSync(keyFile, keys.privateKeyPem);
    const logFile = path.join(docs, LOG);
    fs.writeFileSync(logFile, fs.readFileSync(logFile, 'utf8').replace('refill the coolant tank', 'refill the tank'));
    await master.ingest.ingest([docs], {});
    await master.close();
    const cli = (home: string, args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), ...args, '--home', home, '--json'],
        { cwd: repoRoot, encoding: 'utf8' },
      );
    const out = path.join(usb, 'v-next.fbbundle');
    const exported = cli(path.join(tmp.dir, 'master'), [
      'bundle',
      'export',
      '--key',
      keyFile,
      '--out',
      out,
      '--since',
      'last',
    ]);
    expect(exported.stderr).toBe('');
    expect(JSON.parse(exported.stdout)).toMatchObject({ baseVersion: 3, version: 4, out });
    expect(fs.statSync(out).isFile()).toBe(true);
    master = await open('master', 'emb-a');
  });
});
