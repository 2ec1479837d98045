/**
 * Kill -9 trials of a bundle apply (the short form of the review's 32 apply runs): a real
 * `fieldbook bundle apply` process is killed with SIGKILL at several points — while reading
 * documents, before the transaction, inside it, right after the commit (before any library
 * file is written: issue 14.14's window) and part-way through the library files — then the
 * data folder is opened again and checked: the database passes its integrity check, the
 * knowledge base is the previous or the new version whole (never a mix), and every library
 * file matches its hash (files cut short after the commit are finished when the folder opens).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { listDocuments } from '../../src-main/core/store/documents';
import { bundleContext } from '../../src-main/core/sync/bundle-context';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { applyBundle, decide, stageBundle } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { kbIdentity, type BundleManifest } from '../../src-main/core/sync/bundle-manifest';
import { sha256File } from '../../src-main/core/util/hash';
import { repoRoot, tempDir } from '../support/paths';

const cli = (home: string, args: string[], env: Record<string, string>): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), ...args, '--home', home], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

/** key → sha256 of a bundle's documents: what the library must hold after it is applied. */
const contents = (m: BundleManifest): Record<string, string> =>
  Object.fromEntries(m.documents.map((d) => [d.key, d.sha256]));

describe('kill -9 during a bundle apply', () => {
  const tmp = tempDir();
  const keys = generateSigningKeys();
  const docs = path.join(tmp.dir, 'docs');
  let master: Fieldbook;
  let v1: { dir: string; manifest: BundleManifest };
  let v2: { dir: string; manifest: BundleManifest };

  const exportVersion = (name: string): { dir: string; manifest: BundleManifest } => {
    const dir = path.join(tmp.dir, 'usb', name);
    // Chunks travel with the bundle (no parsing on the PC): the trials spend their time in the apply itself.
    const manifest = exportBundle(master.db, {
      privateKeyPem: keys.privateKeyPem,
      outDir: dir,
      now: new Date(),
      withIndex: true,
    });
    return { dir, manifest };
  };

  beforeAll(async () => {
    // 15 library files in v1; v2 changes 5, adds 2 and removes 2 (15 again).
    fs.mkdirSync(docs, { recursive: true });
    const write = (i: number, text: string): void =>
      fs.writeFileSync(path.join(docs, `proc-${String(i).padStart(2, '0')}.md`), `# Procedure ${i}\n\n${text}\n`);
    for (let i = 0; i < 15; i++) write(i, `Valve V-${100 + i}: close, then lock out. 檢查閥門 ${i}。`);
    master = openFieldbook({ home: path.join(tmp.dir, 'master'), embeddingModelRoots: [], llmModelRoots: [] });
    await master.ingest.ingest([docs], { sensitivity: 'internal' });
    v1 = exportVersion('v1');
    for (let i = 0; i < 5; i++) write(i, `REVISED: valve V-${100 + i} must be bled before it is locked out.`);
    for (let i = 15; i < 17; i++) write(i, `New procedure for pump P-${i}.`);
    await master.ingest.ingest([docs], { sensitivity: 'internal' });
    for (const d of listDocuments(master.db))
      if (/proc-1[34]\.md$/.test(d.sourcePath)) master.ingest.removeDocument(d.id);
    v2 = exportVersion('v2');
    expect(Object.keys(contents(v1.manifest))).toHaveLength(15);
    expect(Object.keys(contents(v2.manifest))).toHaveLength(15);
  }, 120_000);
  afterAll(async () => {
    await master.close();
    tmp.cleanup();
  });

  /** A PC with v1 applied and v2 staged and approved, closed: ready for the killed apply. */
  const preparePc = async (name: string): Promise<{ home: string; bundleId: string }> => {
    const home = path.join(tmp.dir, 'pcs', name);
    const fb = openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [] });
    try {
      trustKey(fb.db, keys.publicKeyPem, 'master', new Date());
      const deps = { ...bundleContext(fb), embedder: null, now: new Date() };
      const s1 = await stageBundle(fb.db, fb.home, v1.dir, new Date());
      decide(fb.db, s1.bundleId, 'all', 'approved', 'Lin', null);
      await applyBundle(s1.bundleId, deps);
      const s2 = await stageBundle(fb.db, fb.home, v2.dir, new Date());
      decide(fb.db, s2.bundleId, 'all', 'approved', 'Lin', null);
      return { home, bundleId: s2.bundleId };
    } finally {
      await fb.close();
    }
  };

  /** Open the data folder again and check it: integrity, one whole version, files matching their hashes. */
  const inspect = async (home: string) => {
    const fb = openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [] });
    try {
      const library = listDocuments(fb.db).filter((d) => d.sourcePath.startsWith(path.join(home, 'library')));
      const files = await Promise.all(
        library.map(async (d) => (fs.existsSync(d.sourcePath) ? await sha256File(d.sourcePath) : 'missing')),
      );
      return {
        integrity: fb.db.pragma('integrity_check', { simple: true }),
        version: kbIdentity(fb.db).version,
        content: Object.fromEntries(library.map((d) => [path.basename(d.sourcePath), d.sha256])),
        filesMatching: library.filter((d, i) => files[i] === d.sha256).length,
        libraryDocs: library.length,
        applyAudits: (
          fb.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'bundle.apply'").get() as {
            n: number;
          }
        ).n,
        finishedOnOpen: fb.bundleFilesFinished,
      };
    } finally {
      await fb.close();
    }
  };

  it.each([
    ['while reading the documents', 'read:2', 'previous'],
    ['after the snapshot, before the transaction', 'commit', 'previous'],
    ['inside the transaction', 'in-commit', 'previous'],
    ['issue 14.14: right after the commit, before any library file is written', 'files:0', 'new'],
    ['issue 14.14: after 3 of the library files', 'files:3', 'new'],
  ] as const)(
    'killed %s (%s): the previous or the new version whole, every library file matching its hash',
    { timeout: 120_000 },
    async (_label, at, expected) => {
      const pc = await preparePc(at.replace(/\W+/g, '-'));
      const killed = cli(pc.home, ['bundle', 'apply', pc.bundleId], { FIELDBOOK_TEST_CRASH_AT: at });
      expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
      if (at === 'files:0') {
        // While the process that applies is still running (the app, when the CLI opens the same
        // folder), opening the folder elsewhere leaves its quarantine alone.
        const owner = path.join(pc.home, 'staging', pc.bundleId, 'applying.pid');
        expect(Number(fs.readFileSync(owner, 'utf8'))).toBe(killed.pid);
        const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
        try {
          fs.writeFileSync(owner, String(alive.pid));
          const other = openFieldbook({ home: pc.home, embeddingModelRoots: [], llmModelRoots: [] });
          expect(other.bundleFilesFinished).toMatchObject({ bundles: 0, files: 0 });
          await other.close();
          expect(fs.existsSync(owner)).toBe(true);
        } finally {
          alive.kill('SIGKILL');
          await new Promise((resolve) => alive.once('exit', resolve));
        }
      }
      const after = await inspect(pc.home);
      expect(after.integrity).toBe('ok');
      const want = expected === 'new' ? v2.manifest : v1.manifest;
      expect(after.content).toEqual(contents(want));
      expect(after.version).toBe(expected === 'new' ? 2 : 1);
      expect(after.libraryDocs).toBe(15);
      expect(after.filesMatching).toBe(15);
      // The audit entry of the apply is committed with it, or not at all.
      expect(after.applyAudits).toBe(expected === 'new' ? 1 : 0);
      if (expected === 'new') {
        // 5 changed + 2 new files; those not written before the kill were finished on opening.
        expect(after.finishedOnOpen).toMatchObject({ bundles: 1, problems: [] });
        expect(after.finishedOnOpen.files).toBe(at === 'files:0' ? 7 : 4);
        expect(fs.existsSync(path.join(pc.home, 'staging', pc.bundleId))).toBe(false);
      } else if (at === 'in-commit') {
        // The staged bundle is still there and applies normally after the crash.
        const applied = cli(pc.home, ['bundle', 'apply', pc.bundleId, '--json'], {});
        expect(applied.status, String(applied.stderr)).toBe(0);
        const done = await inspect(pc.home);
        expect(done.content).toEqual(contents(v2.manifest));
        expect(done.filesMatching).toBe(15);
        expect(done.applyAudits).toBe(1);
      }
    },
  );
});
