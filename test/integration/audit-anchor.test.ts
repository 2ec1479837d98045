/**
 * Issue 14.8: the audit log's head is anchored outside the database (HMAC-SHA256 with a 0600
 * key in the data folder's key area, an anchor file updated after each commit, the head printed
 * into every export), so truncation and re-chaining of the real SQLite file are found; entries
 * are written inside the change's transaction; the CLI audits its changes as cli:<user>.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AUDIT_ANCHOR_FILE,
  AUDIT_KEY_FILE,
  ANCHORED_META_KEY,
  readAnchor,
} from '../../src-main/core/audit/audit-anchor';
import { appendAudit, exportAudit, verifyAudit } from '../../src-main/core/audit/audit-log';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { durableTransaction } from '../../src-main/core/store/db';
import { repoRoot, tempDir } from '../support/paths';

const tmp = tempDir();
let homes = 0;
const open = (home: string): Fieldbook => openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [] });
const entry = (n: number) => ({
  actor: 'tech1',
  role: 'reviewer',
  action: 'settings.change' as const,
  target: `t${n}`,
});

/** A data folder whose log holds `n` entries, closed again. */
async function homeWithEntries(n: number): Promise<string> {
  const home = path.join(tmp.dir, `home-${++homes}`);
  const fb = open(home);
  for (let i = 1; i <= n; i++) appendAudit(fb.db, entry(i), new Date());
  await fb.close();
  return home;
}

/** Edit the database file as an attacker with file access would: triggers off first. */
function tamper(home: string, sql: (raw: Database.Database) => void): void {
  const raw = new Database(path.join(home, 'fieldbook.db'));
  raw.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
  sql(raw);
  raw.close();
}

function verifyIn(home: string): ReturnType<typeof verifyAudit> {
  const raw = new Database(path.join(home, 'fieldbook.db'));
  try {
    return verifyAudit(raw);
  } finally {
    raw.close();
  }
}

const cli = (home: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), ...args, '--home', home], {
    cwd: repoRoot,
    encoding: 'utf8',
  });

afterAll(() => tmp.cleanup());

describe('audit anchor (issue 14.8)', () => {
  it('issue 14.8: a new data folder gets a 0600 key and an anchor that follows every commit', async () => {
    const home = await homeWithEntries(3);
    const key = path.join(home, AUDIT_KEY_FILE);
    expect(fs.existsSync(key)).toBe(true);
    if (process.platform !== 'win32') expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    const fb = open(home);
    try {
      const last = fb.db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as {
        id: number;
        hash: string;
      };
      const anchor = readAnchor(home);
      expect(anchor).toMatchObject({ state: 'ok', anchor: { entries: last.id, head: last.hash } });
      // The key lives outside the database: nothing in it holds the key's bytes.
      const keyHex = fs.readFileSync(key, 'utf8').trim();
      expect(fs.readFileSync(path.join(home, 'fieldbook.db')).includes(Buffer.from(keyHex))).toBe(false);
      expect(verifyAudit(fb.db)).toMatchObject({ ok: true, entries: 3, anchor: { entries: 3 } });
    } finally {
      await fb.close();
    }
  });

  it('issue 14.8: an entry written inside the caller’s transaction commits or rolls back with the change', async () => {
    const home = await homeWithEntries(1);
    const fb = open(home);
    try {
      const count = (): number => fb.db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get() as number;
      expect(() =>
        durableTransaction(fb.db, () => {
          fb.db.prepare("INSERT INTO settings(key, value) VALUES ('x', '1')").run();
          appendAudit(fb.db, entry(2), new Date());
          throw new Error('the change failed');
        }),
      ).toThrow('the change failed');
      expect(count()).toBe(1);
      expect(fb.db.prepare("SELECT 1 FROM settings WHERE key = 'x'").get()).toBeUndefined();
      durableTransaction(fb.db, () => {
        fb.db.prepare("INSERT INTO settings(key, value) VALUES ('x', '1')").run();
        appendAudit(fb.db, { ...entry(2), action: 'bundle.apply' }, new Date());
      });
      expect(count()).toBe(2);
      expect(verifyAudit(fb.db)).toMatchObject({ ok: true, entries: 2 });
    } finally {
      await fb.close();
    }
  });

  it('issue 14.8: a process killed right after committing an entry leaves a log that verifies, and the anchor catches up on open', async () => {
    const home = await homeWithEntries(2);
    const script = path.join(tmp.dir, 'apply-and-die.mts');
    const src = (p: string): string => pathToFileURL(path.join(repoRoot, 'src-main', p)).href;
    fs.writeFileSync(
      script,
      `import { openFieldbook } from '${src('core/fieldbook.ts')}';
       import { appendAudit } from '${src('core/audit/audit-log.ts')}';
       import { durableTransaction } from '${src('core/store/db.ts')}';
       const fb = openFieldbook({ home: process.argv[2], embeddingModelRoots: [], llmModelRoots: [] });
       durableTransaction(fb.db, () => {
         fb.db.prepare("INSERT INTO settings(key, value) VALUES ('applied', '1')").run();
         appendAudit(fb.db, { actor: 'cli:x', role: 'admin', action: 'bundle.apply', target: 'b1' }, new Date());
       });
       process.kill(process.pid, 'SIGKILL');`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, home], { cwd: repoRoot, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.signal).toBe('SIGKILL');
    expect(readAnchor(home)).toMatchObject({ anchor: { entries: 2 } }); // killed before the anchor moved
    expect(verifyIn(home)).toMatchObject({ ok: true, entries: 3 });
    const fb = open(home);
    try {
      expect(fb.db.prepare('SELECT action FROM audit_log WHERE id = 3').pluck().get()).toBe('bundle.apply');
      expect(readAnchor(home)).toMatchObject({ anchor: { entries: 3 } });
    } finally {
      await fb.close();
    }
  });

  it('issue 14.8: truncating the log is detected (API and CLI), and later appends do not hide it', async () => {
    const home = await homeWithEntries(5);
    tamper(home, (raw) => raw.prepare('DELETE FROM audit_log WHERE id > 3').run());
    expect(verifyIn(home)).toMatchObject({ ok: false, entries: 3, firstBadId: 4, finding: 'truncated' });
    expect(verifyIn(home).reason).toMatch(/truncated: it has 3 entries but 5 were anchored/);
    const fb = open(home);
    appendAudit(fb.db, entry(6), new Date());
    await fb.close();
    expect(readAnchor(home)).toMatchObject({ anchor: { entries: 5 } });
    expect(verifyIn(home).ok).toBe(false);
    const run = cli(home, 'audit', 'verify');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/tampered: entry \d+ — the log was (truncated|rewritten)/);
    // After looking into it, an admin starts a new anchor; the log says what was found.
    expect(cli(home, 'audit', 'reanchor').status).toBe(0);
    expect(verifyIn(home)).toMatchObject({ ok: true });
    const raw = new Database(path.join(home, 'fieldbook.db'));
    const note = raw.prepare("SELECT detail FROM audit_log WHERE action = 'audit.anchor'").pluck().get() as string;
    raw.close();
    expect(JSON.parse(note)).toMatchObject({ reset: true, found: expect.stringMatching(/truncated|rewritten/) });
  });

  it('issue 14.8: a re-chained log (an entry changed and every later hash recomputed) is detected', async () => {
    const home = await homeWithEntries(4);
    tamper(home, (raw) => {
      const rows = raw.prepare('SELECT * FROM audit_log ORDER BY id').all() as Array<Record<string, string | number>>;
      let prev = '0'.repeat(64);
      const update = raw.prepare('UPDATE audit_log SET target = ?, prev_hash = ?, hash = ? WHERE id = ?');
      for (const r of rows) {
        const target = r.id === 2 ? 'nothing happened' : r.target;
        const hash = createHash('sha256')
          .update(JSON.stringify([prev, r.at, r.actor, r.role, r.action, target, r.detail]))
          .digest('hex');
        update.run(target, prev, hash, r.id);
        prev = hash;
      }
    });
    const v = verifyIn(home);
    expect(v).toMatchObject({ ok: false, entries: 4, firstBadId: 4, finding: 'rewritten' });
    expect(v.reason).toMatch(/rewritten: entry 4's hash differs from the anchored head/);
  });

  it('issue 14.8: a forged or deleted anchor is reported, and an older database gets its first anchor on open (audited)', async () => {
    // Truncate, then rewrite the anchor to match (without the key, the MAC cannot be made to fit).
    const forged = await homeWithEntries(3);
    let head2 = '';
    tamper(forged, (raw) => {
      raw.prepare('DELETE FROM audit_log WHERE id = 3').run();
      head2 = raw.prepare('SELECT hash FROM audit_log WHERE id = 2').pluck().get() as string;
    });
    const file = path.join(forged, AUDIT_ANCHOR_FILE);
    const anchor = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: number; head: string };
    fs.writeFileSync(file, JSON.stringify({ ...anchor, entries: 2, head: head2 }));
    expect(verifyIn(forged)).toMatchObject({ ok: false });
    expect(verifyIn(forged)).toMatchObject({
      finding: 'anchor-altered',
      reason: expect.stringMatching(/MAC does not match/),
    });

    const deleted = await homeWithEntries(2);
    fs.rmSync(path.join(deleted, AUDIT_ANCHOR_FILE));
    expect(verifyIn(deleted)).toMatchObject({ ok: false, finding: 'anchor-missing' });
    expect(verifyIn(deleted).reason).toMatch(/anchor file audit-anchor\.json is missing/);

    // A database from before anchors: no anchor file, no key, no marker.
    const older = await homeWithEntries(2);
    fs.rmSync(path.join(older, AUDIT_ANCHOR_FILE));
    fs.rmSync(path.join(older, AUDIT_KEY_FILE));
    tamper(older, (raw) => raw.prepare('DELETE FROM meta WHERE key = ?').run(ANCHORED_META_KEY));
    const fb = open(older);
    try {
      const note = fb.db.prepare("SELECT detail FROM audit_log WHERE action = 'audit.anchor'").pluck().get() as string;
      expect(JSON.parse(note)).toMatchObject({ entries: 2 });
      expect(verifyAudit(fb.db)).toMatchObject({ ok: true, entries: 3, anchor: { entries: 3 } });
    } finally {
      await fb.close();
    }
  });

  it('issue 14.8: every export ends with the head hash and count, with the anchor and its MAC', async () => {
    const home = await homeWithEntries(3);
    const fb = open(home);
    try {
      const last = fb.db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as {
        id: number;
        hash: string;
      };
      const jsonl = exportAudit(fb.db, 'jsonl').trim().split('\n');
      const head = JSON.parse(jsonl.at(-1) as string) as {
        auditHead: { entries: number; head: string; anchor: { entries: number; mac: string } };
      };
      expect(head.auditHead).toMatchObject({ entries: last.id, head: last.hash, anchor: { entries: last.id } });
      expect(head.auditHead.anchor.mac).toMatch(/^[0-9a-f]{64}$/);
      // A filtered export still prints the whole log's head.
      const filtered = exportAudit(fb.db, 'csv', { action: 'no.such.action' }).trim().split('\n');
      expect(filtered.at(-1)).toMatch(
        new RegExp(`^# audit head: entries=${last.id} hash=${last.hash} .*anchor\\.mac=`),
      );
    } finally {
      await fb.close();
    }
  });

  it('issue 14.8: the CLI audits ingest, a relabelling re-ingest, ask and remove as cli:<user>', async () => {
    const home = path.join(tmp.dir, 'cli-home');
    const doc = path.join(tmp.dir, 'valve.md');
    fs.writeFileSync(doc, '# Valve V-7\n\nClose valve V-7 slowly before maintenance.\n');
    expect(cli(home, 'ingest', doc).status).toBe(0);
    expect(cli(home, 'ingest', doc, '--sensitivity', 'confidential').status).toBe(0);
    expect(cli(home, 'ask', 'How do I close valve V-7?', '--json').status).toBe(0);
    expect(cli(home, 'remove', doc).status).toBe(0);
    const fb = open(home);
    try {
      const rows = fb.db.prepare('SELECT actor, action, target, detail FROM audit_log ORDER BY id').all() as Array<{
        actor: string;
        action: string;
        target: string;
        detail: string;
      }>;
      const actor = `cli:${os.userInfo().username}`;
      const mine = rows.filter((r) => r.actor === actor).map((r) => r.action);
      expect(mine).toEqual(['ingest', 'ingest', 'question', 'document.delete']);
      const relabel = JSON.parse(rows.filter((r) => r.action === 'ingest')[1]?.detail ?? '{}') as Record<
        string,
        unknown
      >;
      expect(relabel).toMatchObject({ labels: { sensitivity: 'confidential' }, sensitivity: 'confidential' });
      expect(rows.find((r) => r.action === 'document.delete')?.target).toBe(doc);
      expect(verifyAudit(fb.db)).toMatchObject({ ok: true });
    } finally {
      await fb.close();
    }
  });
});
