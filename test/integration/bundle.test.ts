/**
 * USB bundles between two separate data directories: signed export, verification (every
 * tampering case), quarantine staging, review, atomic apply (a real process killed
 * mid-apply leaves the old version intact), idempotent re-import and rollback.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src-main/core/audit/audit-log';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { listDocuments } from '../../src-main/core/store/documents';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { applyBundle, decide, stageBundle, verifyBundle } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { kbIdentity, type BundleManifest } from '../../src-main/core/sync/bundle-manifest';
import { resignBundle } from '../support/bundles';
import { repoRoot, samplesDir, tempDir } from '../support/paths';
import { writeTinyEmbedder } from '../support/tiny-embedder';
import { writeTinyGguf } from '../support/tiny-gguf';

const cli = (home: string, args: string[], env: Record<string, string> = {}): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), ...args, '--home', home], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

describe('USB bundles', () => {
  const tmp = tempDir();
  const masterHome = path.join(tmp.dir, 'master');
  const targetHome = path.join(tmp.dir, 'target');
  const bundle1 = path.join(tmp.dir, 'usb', 'bundle-1');
  const keys = generateSigningKeys();
  let master: Fieldbook;
  let manifest1: BundleManifest;

  const copyBundle = (name: string): string => {
    const dir = path.join(tmp.dir, name);
    fs.cpSync(bundle1, dir, { recursive: true });
    return dir;
  };
  const resign = (dir: string, edit: (m: BundleManifest) => void): void => resignBundle(dir, keys.privateKeyPem, edit);
  const withTarget = async <T>(fn: (fb: Fieldbook) => Promise<T>): Promise<T> => {
    const fb = openFieldbook({ home: targetHome, embeddingModelRoots: [], llmModelRoots: [] });
    try {
      return await fn(fb);
    } finally {
      await fb.close();
    }
  };
  const applyDeps = (fb: Fieldbook) => ({
    db: fb.db,
    home: fb.home,
    parser: fb.parsers(),
    limits: fb.settings().limits,
    chunking: fb.settings().chunk,
    embedder: null,
    now: new Date(),
  });

  beforeAll(async () => {
    master = openFieldbook({ home: masterHome, embeddingModelRoots: [], llmModelRoots: [] });
    await master.ingest.ingest(
      [path.join(samplesDir, 'troubleshooting-log.md'), path.join(samplesDir, 'lockout-tagout_en.docx')],
      { sensitivity: 'internal' },
    );
    manifest1 = exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: bundle1, now: new Date() });
    await withTarget(async (fb) => {
      trustKey(fb.db, keys.publicKeyPem, 'master workstation', new Date());
    });
  });
  afterAll(async () => {
    await master.close();
    tmp.cleanup();
  });

  it('round trip: verify, stage into quarantine, review, apply as a new version', async () => {
    expect(manifest1.documents).toHaveLength(2);
    await withTarget(async (fb) => {
      expect((await verifyBundle(fb.db, bundle1)).signerName).toBe('master workstation');
      const staged = await stageBundle(fb.db, fb.home, bundle1, new Date());
      expect(staged.items.map((i) => [i.kind, i.decision])).toEqual([
        ['new', 'pending'],
        ['new', 'pending'],
      ]);
      expect(listDocuments(fb.db)).toHaveLength(0); // quarantine never touches the live KB
      await expect(applyBundle(staged.bundleId, applyDeps(fb))).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
      expect(decide(fb.db, staged.bundleId, 'all', 'approved', 'Reviewer Lin', 'checked')).toBe(2);
      const r = await applyBundle(staged.bundleId, applyDeps(fb));
      expect(r).toMatchObject({ version: 1, applied: 2, removed: 0 });
      expect(kbIdentity(fb.db).version).toBe(1);
      const res = await fb.search.search('E-203', { k: 1 });
      expect(res.hits[0]?.sourcePath).toContain(path.join('library', manifest1.sourceKb));
      expect(res.hits[0]?.sensitivity).toBe('internal');
    });
  });

  it('importing the same bundle again changes nothing', async () => {
    await withTarget(async (fb) => {
      const again = await stageBundle(fb.db, fb.home, bundle1, new Date());
      expect(again.alreadyApplied).toBe(true);
      expect(await applyBundle(again.bundleId, applyDeps(fb))).toMatchObject({ applied: 0 });
      expect(listDocuments(fb.db)).toHaveLength(2);
    });
  });

  it.each([
    [
      'a file whose bytes changed',
      'BUNDLE_HASH_MISMATCH',
      (dir: string) => {
        const f = path.join(dir, manifest1.documents[0]?.file ?? '');
        const b = fs.readFileSync(f);
        b[10] = (b[10] ?? 0) ^ 1;
        fs.writeFileSync(f, b);
      },
    ],
    [
      'an edited manifest',
      'BUNDLE_BAD_SIGNATURE',
      (dir: string) => {
        const p = path.join(dir, 'manifest.json');
        fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace('"internal"', '"public"'));
      },
    ],
    ['no signature', 'BUNDLE_BAD_SIGNATURE', (dir: string) => fs.rmSync(path.join(dir, 'manifest.sig'))],
    [
      'a missing file (truncated copy)',
      'BUNDLE_INVALID',
      (dir: string) => fs.rmSync(path.join(dir, manifest1.documents[1]?.file ?? '')),
    ],
    [
      'a truncated manifest',
      'BUNDLE_INVALID',
      (dir: string) => {
        const p = path.join(dir, 'manifest.json');
        fs.writeFileSync(p, fs.readFileSync(p, 'utf8').slice(0, 100));
      },
    ],
    [
      'path traversal in an entry (validly signed)',
      'BUNDLE_UNSAFE',
      (dir: string) =>
        resign(dir, (m) => {
          (m.documents[0] as { file: string }).file = '../../etc/passwd';
        }),
    ],
    [
      'an absolute path (validly signed)',
      'BUNDLE_UNSAFE',
      (dir: string) =>
        resign(dir, (m) => {
          (m.documents[0] as { file: string }).file = '/etc/passwd';
        }),
    ],
    [
      'a symlink instead of a file',
      'BUNDLE_UNSAFE',
      (dir: string) => {
        const f = path.join(dir, manifest1.documents[0]?.file ?? '');
        fs.rmSync(f);
        fs.symlinkSync('/etc/hostname', f);
      },
    ],
  ] as const)('rejects %s (%s)', async (_label, code, damage) => {
    const dir = copyBundle(`bad-${code}-${Math.random().toString(36).slice(2)}`);
    damage(dir);
    await withTarget(async (fb) => {
      await expect(stageBundle(fb.db, fb.home, dir, new Date())).rejects.toMatchObject({ code });
    });
  });

  it('carries model packs: verified, reviewed, installed and approved by hash', async () => {
    const models = path.join(tmp.dir, 'models-src');
    fs.mkdirSync(models, { recursive: true });
    writeTinyGguf(path.join(models, 'tiny-pack.gguf'));
    const emb = writeTinyEmbedder(models, { name: 'tiny-emb-pack' });
    const packDir = path.join(tmp.dir, 'usb', 'model-pack');
    const m = exportBundle(master.db, {
      privateKeyPem: keys.privateKeyPem,
      outDir: packDir,
      now: new Date(),
      models: [path.join(models, 'tiny-pack.gguf'), emb.dir],
    });
    expect(m.models.map((x) => [x.kind, x.name])).toEqual([
      ['llm', 'tiny-pack.gguf'],
      ['embedding', 'tiny-emb-pack'],
    ]);
    const home = path.join(tmp.dir, 'model-target');
    const fb = openFieldbook({
      home,
      embeddingModelRoots: [path.join(home, 'models', 'embedding')],
      llmModelRoots: [path.join(home, 'models', 'llm')],
    });
    try {
      trustKey(fb.db, keys.publicKeyPem, 'master', new Date());
      const staged = await stageBundle(fb.db, fb.home, packDir, new Date());
      expect(
        staged.items
          .filter((i) => i.kind === 'model')
          .map((i) => i.key)
          .sort(),
      ).toEqual(['model:embedding/tiny-emb-pack', 'model:llm/tiny-pack.gguf']);
      decide(fb.db, staged.bundleId, 'all', 'approved', 'Admin Chen', null);
      const r = await applyBundle(staged.bundleId, applyDeps(fb));
      expect(r.models).toBe(2);
      // Installed and approved by hash: usable without another approval step.
      fb.updateSettings({ embeddingModel: 'tiny-emb-pack' });
      expect((await fb.embeddingStatus()).active).toBe('tiny-emb-pack');
      expect((await fb.llmStatus()).available.map((x) => x.name)).toContain('tiny-pack.gguf');
      const approved = fb.db.prepare('SELECT kind, name FROM approved_models ORDER BY kind').all();
      expect(approved).toEqual([
        { kind: 'embedding', name: 'tiny-emb-pack' },
        { kind: 'llm', name: 'tiny-pack.gguf' },
      ]);
    } finally {
      await fb.close();
    }
  });

  it('rejects a model pack whose install path escapes the models folder', async () => {
    const dir = copyBundle('bad-model-target');
    const data = Buffer.from('GGUF');
    const sha = createHash('sha256').update(data).digest('hex');
    fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'models', sha), data);
    resign(dir, (m) => {
      m.models = [
        {
          kind: 'llm',
          name: 'x.gguf',
          files: [{ file: `models/${sha}`, target: '../../../.bashrc', sha256: sha, size: 4 }],
        },
      ];
    });
    await withTarget(async (fb) => {
      await expect(verifyBundle(fb.db, dir)).rejects.toMatchObject({ code: 'BUNDLE_UNSAFE' });
    });
  });

  it('rejects a bundle signed by an unknown key', async () => {
    const stranger = openFieldbook({
      home: path.join(tmp.dir, 'stranger'),
      embeddingModelRoots: [],
      llmModelRoots: [],
    });
    try {
      await expect(verifyBundle(stranger.db, bundle1)).rejects.toMatchObject({ code: 'BUNDLE_UNKNOWN_SIGNER' });
    } finally {
      await stranger.close();
    }
  });

  it(
    'a crash during apply leaves the previous version intact; apply then succeeds; rollback restores it',
    { timeout: 240_000 },
    async () => {
      await master.ingest.ingest([path.join(samplesDir, 'plc-fault-reset_zh-TW.pdf')], { sensitivity: 'internal' });
      const bundle2 = path.join(tmp.dir, 'usb', 'bundle-2');
      const m2 = exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: bundle2, now: new Date() });
      expect(m2.version).toBeGreaterThan(manifest1.version);
      const stage = cli(targetHome, ['bundle', 'stage', bundle2, '--json']);
      expect(stage.status).toBe(0);
      const staged = JSON.parse(String(stage.stdout)) as { bundleId: string; items: Array<{ kind: string }> };
      expect(staged.items.map((i) => i.kind).sort()).toEqual(['new', 'unchanged', 'unchanged']);
      expect(cli(targetHome, ['bundle', 'approve', staged.bundleId, '--all', '--name', 'Reviewer Lin']).status).toBe(0);

      const crashed = cli(targetHome, ['bundle', 'apply', staged.bundleId], {
        FIELDBOOK_TEST_CRASH_BEFORE_COMMIT: '1',
      });
      expect(crashed.signal).toBe('SIGKILL');
      await withTarget(async (fb) => {
        expect(fb.recoveredFromUncleanExit).toBe(true);
        expect(kbIdentity(fb.db).version).toBe(1);
        expect(listDocuments(fb.db)).toHaveLength(2);
        expect(fb.db.pragma('integrity_check', { simple: true })).toBe('ok');
      });

      const applied = cli(targetHome, ['bundle', 'apply', staged.bundleId, '--json']);
      expect(applied.status).toBe(0);
      expect(JSON.parse(String(applied.stdout))).toMatchObject({ version: 2, applied: 1 });
      await withTarget(async (fb) => expect(listDocuments(fb.db)).toHaveLength(3));

      // Versions only move forward: the first bundle is now too old.
      await withTarget(async (fb) => {
        const fresh = copyBundle('bundle-1-again');
        resign(fresh, (m) => {
          m.bundleId = '00000000-0000-4000-8000-000000000001';
        });
        await expect(stageBundle(fb.db, fb.home, fresh, new Date())).rejects.toMatchObject({
          code: 'BUNDLE_OLD_VERSION',
        });
      });

      const rollback = cli(targetHome, ['bundle', 'rollback', '--to', '1']);
      expect(rollback.status).toBe(0);
      await withTarget(async (fb) => {
        expect(kbIdentity(fb.db).version).toBe(1);
        expect(listDocuments(fb.db)).toHaveLength(2);
        const audit = verifyAudit(fb.db);
        expect(audit.ok).toBe(true);
        const actions = (
          fb.db.prepare('SELECT action FROM audit_log ORDER BY id').all() as Array<{ action: string }>
        ).map((r) => r.action);
        expect(actions).toEqual(
          expect.arrayContaining(['bundle.stage', 'bundle.approve', 'bundle.apply', 'bundle.rollback']),
        );
      });
    },
  );
});
