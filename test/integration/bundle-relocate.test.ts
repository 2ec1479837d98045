/**
 * Issue 14.21 (the data-folder part): library paths are stored relative to the data folder, so
 * a data folder that is moved or copied keeps working — the next bundle updates the same
 * documents (the review saw 24 documents instead of 15 after a bundle), files open, and a
 * rollback still finds its snapshot's documents. Existing rows (and older snapshots) with
 * absolute paths are migrated, wherever the folder was before.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { migrate } from '../../src-main/core/store/db';
import { listDocuments } from '../../src-main/core/store/documents';
import { MIGRATIONS } from '../../src-main/core/store/migrations';
import { bundleContext } from '../../src-main/core/sync/bundle-context';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { applyBundle, decide, stageBundle } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { kbIdentity } from '../../src-main/core/sync/bundle-manifest';
import { rollbackKnowledge } from '../../src-main/core/sync/rollback';
import { sha256File } from '../../src-main/core/util/hash';
import { tempDir } from '../support/paths';

describe('a moved or copied data folder keeps working (issue 14.21)', () => {
  const tmp = tempDir();
  const keys = generateSigningKeys();
  const docs = path.join(tmp.dir, 'docs');
  let master: Fieldbook;
  let v1: string;
  let v2: string;

  const open = (home: string): Fieldbook => openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [] });
  const apply = async (fb: Fieldbook, dir: string): Promise<void> => {
    const staged = await stageBundle(fb.db, fb.home, dir, new Date());
    decide(fb.db, staged.bundleId, 'all', 'approved', 'Lin', null);
    await applyBundle(staged.bundleId, { ...bundleContext(fb), embedder: null, now: new Date() });
  };
  /** Every library document's file is inside `home` and matches its hash; returns how many. */
  const checkLibrary = async (fb: Fieldbook): Promise<number> => {
    const library = listDocuments(fb.db);
    for (const d of library) {
      expect(d.sourcePath.startsWith(path.join(fb.home, 'library') + path.sep), d.sourcePath).toBe(true);
      expect(await sha256File(d.sourcePath)).toBe(d.sha256);
    }
    return library.length;
  };
  const storedPaths = (fb: Fieldbook): string[] =>
    (fb.db.prepare('SELECT source_path FROM documents ORDER BY source_path').pluck().all() as string[]).sort();

  beforeAll(async () => {
    fs.mkdirSync(docs, { recursive: true });
    const write = (i: number, text: string): void =>
      fs.writeFileSync(path.join(docs, `step-${i}.md`), `# Step ${i}\n\n${text}\n`);
    for (let i = 0; i < 6; i++) write(i, `Pump P-${i}: vent, then start.`);
    master = open(path.join(tmp.dir, 'master'));
    await master.ingest.ingest([docs], { sensitivity: 'internal' });
    v1 = path.join(tmp.dir, 'usb', 'v1');
    exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: v1, now: new Date(), withIndex: true });
    for (let i = 0; i < 3; i++) write(i, `REVISED pump P-${i}: vent twice, then start.`);
    await master.ingest.ingest([docs], { sensitivity: 'internal' });
    v2 = path.join(tmp.dir, 'usb', 'v2');
    exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: v2, now: new Date(), withIndex: true });
  });
  afterAll(async () => {
    await master.close();
    tmp.cleanup();
  });

  it('issue 14.21: a copied data folder takes the next bundle as an update of the same documents, and rolls back', async () => {
    const original = path.join(tmp.dir, 'pc-original');
    const pc = open(original);
    trustKey(pc.db, keys.publicKeyPem, 'master', new Date());
    await apply(pc, v1);
    expect(storedPaths(pc).every((p) => p.startsWith('library/'))).toBe(true);
    await pc.close();
    // Copied to another place (a new PC, another drive) and the original removed.
    const copy = path.join(tmp.dir, 'elsewhere', 'pc-copy');
    fs.cpSync(original, copy, { recursive: true });
    fs.rmSync(original, { recursive: true, force: true });
    const moved = open(copy);
    try {
      expect(await checkLibrary(moved)).toBe(6);
      await apply(moved, v2);
      expect(kbIdentity(moved.db).version).toBe(2);
      expect(await checkLibrary(moved)).toBe(6);
      expect(listDocuments(moved.db).filter((d) => d.version === 2)).toHaveLength(3);
      const r = await rollbackKnowledge(moved.db, moved.home, 1, { now: new Date() });
      expect(r.documents).toMatchObject({ removed: 3, restored: 3 });
      expect(r.files.missing).toEqual([]);
      expect(await checkLibrary(moved)).toBe(6);
      expect(fs.existsSync(original)).toBe(false);
    } finally {
      await moved.close();
    }
  });

  it('issue 14.21: rows and snapshots written with absolute paths elsewhere are migrated to relative ones', async () => {
    const home = path.join(tmp.dir, 'pc-old-format');
    const pc = open(home);
    trustKey(pc.db, keys.publicKeyPem, 'master', new Date());
    await apply(pc, v1);
    await apply(pc, v2);
    await pc.close();
    // What an older Fieldbook wrote, in a folder that has since moved: absolute library paths,
    // in the database and in the snapshot of version 1, one schema version back.
    const before = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes("'library/' || k.kb"));
    const oldHome = process.platform === 'win32' ? 'D:\\old\\fieldbook' : '/media/old-drive/fieldbook';
    const sep = process.platform === 'win32' ? '\\' : '/';
    for (const file of [path.join(home, 'fieldbook.db'), path.join(home, 'snapshots', 'v1.db')]) {
      const db = new Database(file);
      db.prepare(
        `UPDATE documents SET source_path = ? || replace(source_path, '/', ?) WHERE source_path LIKE 'library/%'`,
      ).run(`${oldHome}${sep}`, sep);
      // Run the relocation step as an upgrade would. Only that step: the steps after it are already
      // in this schema (added columns cannot be added twice), so the version goes back to the latest.
      db.pragma(`user_version = ${before}`);
      migrate(db, MIGRATIONS.slice(0, before + 1));
      db.pragma(`user_version = ${MIGRATIONS.length}`);
      db.close();
    }
    const reopened = open(home);
    try {
      expect(storedPaths(reopened).every((p) => /^library\/[0-9a-f-]{36}\/step-\d\.md$/.test(p))).toBe(true);
      expect(await checkLibrary(reopened)).toBe(6);
      // The migrated snapshot matches the migrated rows: only the 3 changed documents go back.
      const r = await rollbackKnowledge(reopened.db, reopened.home, 1, { now: new Date() });
      expect(r.documents).toMatchObject({ removed: 3, restored: 3, unchanged: 3 });
      expect(await checkLibrary(reopened)).toBe(6);
      // And the next bundle updates the same documents.
      await apply(reopened, v2);
      expect(listDocuments(reopened.db)).toHaveLength(6);
      expect(await checkLibrary(reopened)).toBe(6);
    } finally {
      await reopened.close();
    }
  });
});
