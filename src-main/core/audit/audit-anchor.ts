/**
 * The audit log's anchor: the head hash and entry count, with an HMAC-SHA256 over both made
 * with a key kept outside the database (`<home>/keys/audit.key`, mode 0600, created on first
 * use), written to a small file beside the database (`<home>/audit-anchor.json`) after each
 * commit. A truncated log (fewer entries than anchored) or a re-chained one (the anchored
 * entry's hash changed) no longer matches it, which the hash chain alone cannot show.
 *
 * The anchor only ever moves forward, and only when the database still holds the anchored
 * entry unchanged — a truncation is never "blessed" by the next append.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../store/db';

export const AUDIT_KEY_FILE = path.join('keys', 'audit.key');
export const AUDIT_ANCHOR_FILE = 'audit-anchor.json';
/** Set in `meta` when the log is first anchored: from then on a missing anchor file is a finding, not a fresh start. */
export const ANCHORED_META_KEY = 'audit.anchored_at';
export const GENESIS = '0'.repeat(64);
const DB_FILE_NAME = 'fieldbook.db';

export interface AuditAnchor {
  /** Entries in the log when the anchor was written (entry ids run 1…entries). */
  entries: number;
  /** Hash of entry `entries` (all zeros for an empty log). */
  head: string;
  at: string;
  /** HMAC-SHA256 (hex) over the count and head, with the key in `<home>/keys/audit.key`. */
  mac: string;
}

/** The data folder whose key area and anchor file belong to this database (null for in-memory or other files). */
export function anchorHome(db: Db): string | null {
  if (db.memory || path.basename(db.name) !== DB_FILE_NAME) return null;
  return path.dirname(db.name);
}

function readKey(home: string): Buffer | null {
  try {
    return Buffer.from(fs.readFileSync(path.join(home, AUDIT_KEY_FILE), 'utf8').trim(), 'hex');
  } catch {
    return null;
  }
}

/** The anchor key, created (0600, in a 0700 folder) when there is none yet. */
export function ensureAnchorKey(home: string): Buffer {
  const existing = readKey(home);
  if (existing?.length === 32) return existing;
  const file = path.join(home, AUDIT_KEY_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readKey(home) as Buffer;
}

function anchorMac(key: Buffer, entries: number, head: string): string {
  return createHmac('sha256', key).update(`fieldbook-audit-anchor-v1\n${entries}\n${head}`).digest('hex');
}

export type AnchorRead =
  { state: 'none' } | { state: 'unreadable'; reason: string } | { state: 'ok'; anchor: AuditAnchor };

export function readAnchor(home: string): AnchorRead {
  let text: string;
  try {
    text = fs.readFileSync(path.join(home, AUDIT_ANCHOR_FILE), 'utf8');
  } catch {
    return { state: 'none' };
  }
  try {
    const a = JSON.parse(text) as Partial<AuditAnchor>;
    if (
      typeof a.entries !== 'number' ||
      !Number.isInteger(a.entries) ||
      a.entries < 0 ||
      typeof a.head !== 'string' ||
      typeof a.mac !== 'string' ||
      typeof a.at !== 'string'
    )
      return { state: 'unreadable', reason: 'the anchor file is incomplete' };
    return { state: 'ok', anchor: { entries: a.entries, head: a.head, at: a.at, mac: a.mac } };
  } catch {
    return { state: 'unreadable', reason: 'the anchor file is not valid JSON' };
  }
}

/** Whether the anchor's MAC was made with this data folder's key (null: no key to check with). */
export function anchorAuthentic(home: string, a: AuditAnchor): boolean | null {
  const key = readKey(home);
  if (!key || key.length !== 32) return null;
  const expected = Buffer.from(anchorMac(key, a.entries, a.head), 'hex');
  const actual = Buffer.from(a.mac, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function writeAnchor(home: string, entries: number, head: string, now: Date): AuditAnchor {
  const key = ensureAnchorKey(home);
  const anchor: AuditAnchor = { entries, head, at: now.toISOString(), mac: anchorMac(key, entries, head) };
  const file = path.join(home, AUDIT_ANCHOR_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(anchor, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return anchor;
}

export function logHead(db: Db): { entries: number; head: string } {
  const last = db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as
    { id: number; hash: string } | undefined;
  return last ? { entries: last.id, head: last.hash } : { entries: 0, head: GENESIS };
}

/** Whether the log still holds the anchored entry unchanged (so the anchor may move forward). */
export function extendsAnchor(db: Db, a: AuditAnchor): boolean {
  if (a.entries === 0) return a.head === GENESIS;
  const row = db.prepare('SELECT hash FROM audit_log WHERE id = ?').get(a.entries) as { hash: string } | undefined;
  return row?.hash === a.head;
}

/**
 * Move the anchor to the log's committed head. Call after committing a transaction that
 * appended entries (`appendAudit` outside a transaction does it itself). Does nothing inside
 * a transaction, for in-memory databases, when the log is not anchored yet, or when the log
 * no longer extends the anchor (that is for `verifyAudit` to report).
 */
export function anchorAudit(db: Db, now: Date = new Date()): void {
  const home = anchorHome(db);
  if (!home || db.inTransaction) return;
  const current = readAnchor(home);
  if (current.state !== 'ok' || anchorAuthentic(home, current.anchor) !== true) return;
  const { entries, head } = logHead(db);
  if (entries <= current.anchor.entries || !extendsAnchor(db, current.anchor)) return;
  writeAnchor(home, entries, head, now);
}
