/**
 * Local roles and clearance. Technicians work as `reader`; a reviewer or admin elevates with
 * a passphrase (stored as a salted scrypt hash) and drops back to reader after inactivity.
 * Each role has a clearance: the highest sensitivity label it may read on any path.
 */
import { randomBytes, scryptSync, timingSafeEqual, createHash } from 'node:crypto';
import { FieldbookError } from '../errors';
import type { Db } from '../store/db';
import type { Sensitivity } from '../store/documents';

export const ROLES = ['reader', 'reviewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const CLEARANCE: Record<Role, Sensitivity> = {
  reader: 'internal',
  reviewer: 'confidential',
  admin: 'restricted',
};

const RANK: Record<Role, number> = { reader: 0, reviewer: 1, admin: 2 };

export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** A reviewer or admin drops back to reader after this long without using the app. */
export const DEFAULT_IDLE_MS = 10 * 60 * 1000;

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MIN_PASSPHRASE = 8;

function scrypt(passphrase: string, salt: Buffer): Buffer {
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, SCRYPT);
}

export function hasPassphrase(db: Db, role: Exclude<Role, 'reader'>): boolean {
  return db.prepare('SELECT 1 FROM role_passphrases WHERE role = ?').get(role) !== undefined;
}

export function setPassphrase(db: Db, role: Exclude<Role, 'reader'>, passphrase: string, now: Date): void {
  if (passphrase.length < MIN_PASSPHRASE) {
    throw new FieldbookError('INVALID_INPUT', { detail: `the passphrase needs at least ${MIN_PASSPHRASE} characters` });
  }
  const salt = randomBytes(16);
  db.prepare(
    `INSERT INTO role_passphrases(role, hash, salt, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(role) DO UPDATE SET hash = excluded.hash, salt = excluded.salt, updated_at = excluded.updated_at`,
  ).run(role, scrypt(passphrase, salt).toString('hex'), salt.toString('hex'), now.toISOString());
}

export function checkPassphrase(db: Db, role: Exclude<Role, 'reader'>, passphrase: string): boolean {
  const row = db.prepare('SELECT hash, salt FROM role_passphrases WHERE role = ?').get(role) as
    { hash: string; salt: string } | undefined;
  if (!row) return false;
  const expected = Buffer.from(row.hash, 'hex');
  const actual = scrypt(passphrase, Buffer.from(row.salt, 'hex'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** API keys for the HTTP bridge on a non-loopback address: random, shown once, stored hashed. */
export function createApiKey(db: Db, name: string, role: Role, now: Date): string {
  const key = `fbk_${randomBytes(24).toString('base64url')}`;
  db.prepare('INSERT INTO api_keys(name, key_hash, role, created_at) VALUES (?, ?, ?, ?)').run(
    name,
    createHash('sha256').update(key).digest('hex'),
    role,
    now.toISOString(),
  );
  return key;
}

export function roleForApiKey(db: Db, key: string): { name: string; role: Role } | null {
  const row = db
    .prepare('SELECT name, role FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL')
    .get(createHash('sha256').update(key).digest('hex')) as { name: string; role: Role } | undefined;
  return row ?? null;
}

export function revokeApiKey(db: Db, name: string, now: Date): boolean {
  return (
    db.prepare('UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now.toISOString(), name)
      .changes > 0
  );
}

/** One user's session in the UI: starts as reader, elevates with a passphrase, drops back when idle. */
export interface AccessSession {
  readonly actor: string;
  role(): Role;
  clearance(): Sensitivity;
  elevate(role: Exclude<Role, 'reader'>, passphrase: string): boolean;
  drop(): void;
  /** Throw ACCESS_DENIED unless the current role is at least `needed`. */
  require(needed: Role, what: string): void;
}

export function createAccessSession(opts: {
  db: Db;
  actor: string;
  idleMs: number;
  now: () => Date;
  fixedRole?: Role;
}): AccessSession {
  let role: Role = opts.fixedRole ?? 'reader';
  let lastUse = opts.now().getTime();
  const current = (): Role => {
    // Setup mode: until an admin passphrase exists, the person at the PC administers it.
    if (!opts.fixedRole && !hasPassphrase(opts.db, 'admin')) return 'admin';
    if (!opts.fixedRole && role !== 'reader' && opts.now().getTime() - lastUse > opts.idleMs) role = 'reader';
    lastUse = opts.now().getTime();
    return role;
  };
  return {
    actor: opts.actor,
    role: current,
    clearance: () => CLEARANCE[current()],
    elevate(target, passphrase) {
      if (opts.fixedRole) return false;
      if (!checkPassphrase(opts.db, target, passphrase)) return false;
      role = target;
      lastUse = opts.now().getTime();
      return true;
    },
    drop() {
      if (!opts.fixedRole) role = 'reader';
    },
    require(needed, what) {
      const r = current();
      if (!atLeast(r, needed))
        throw new FieldbookError('ACCESS_DENIED', { detail: `${what} needs the ${needed} role (current: ${r})` });
    },
  };
}
