/**
 * The audit trail: an append-only table (UPDATE/DELETE are refused by triggers) where each
 * entry carries the SHA-256 of the previous one, so any edited, inserted or deleted entry
 * breaks the chain and `verifyAudit` finds it. Written with synchronous=FULL.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../store/db';

export type AuditAction =
  | 'ingest'
  | 'document.delete'
  | 'document.labels'
  | 'document.reindex'
  | 'settings.change'
  | 'model.approve'
  | 'role.elevate'
  | 'role.elevate-failed'
  | 'role.drop'
  | 'role.passphrase'
  | 'apikey.create'
  | 'apikey.revoke'
  | 'question'
  | 'feedback'
  | 'dataset.export'
  | 'bundle.export'
  | 'bundle.verify-failed'
  | 'bundle.stage'
  | 'bundle.approve'
  | 'bundle.reject'
  | 'bundle.apply'
  | 'bundle.trust'
  | 'bundle.untrust'
  | 'bundle.rollback'
  | 'access.denied';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

function entryHash(
  prevHash: string,
  e: { at: string; actor: string; role: string; action: string; target: string | null; detail: string },
): string {
  return createHash('sha256')
    .update(JSON.stringify([prevHash, e.at, e.actor, e.role, e.action, e.target, e.detail]))
    .digest('hex');
}

export interface AuditInput {
  actor: string;
  role: string;
  action: AuditAction;
  target?: string | null;
  detail?: Record<string, unknown>;
}

export function appendAudit(db: Db, input: AuditInput, now: Date): AuditEntry {
  db.pragma('synchronous = FULL');
  try {
    return db.transaction(() => {
      const last = db.prepare('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as
        { hash: string } | undefined;
      const prevHash = last?.hash ?? GENESIS;
      const row = {
        at: now.toISOString(),
        actor: input.actor,
        role: input.role,
        action: input.action,
        target: input.target ?? null,
        detail: JSON.stringify(input.detail ?? {}),
      };
      const hash = entryHash(prevHash, row);
      const id = Number(
        db
          .prepare(
            'INSERT INTO audit_log(at, actor, role, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(row.at, row.actor, row.role, row.action, row.target, row.detail, prevHash, hash).lastInsertRowid,
      );
      return { id, ...row, detail: input.detail ?? {}, prevHash, hash };
    })();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** First entry whose hash or link does not match (edited, inserted or deleted before it). */
  firstBadId: number | null;
  reason: string | null;
}

export function verifyAudit(db: Db): AuditVerification {
  let prev = GENESIS;
  let n = 0;
  let lastId = 0;
  for (const r of db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as Iterable<AuditRow>) {
    n++;
    if (r.id !== lastId + 1)
      return { ok: false, entries: n, firstBadId: r.id, reason: `entry ${lastId + 1} is missing` };
    if (r.prev_hash !== prev)
      return { ok: false, entries: n, firstBadId: r.id, reason: 'link to the previous entry is broken' };
    if (entryHash(prev, r) !== r.hash)
      return { ok: false, entries: n, firstBadId: r.id, reason: 'entry content was changed' };
    prev = r.hash;
    lastId = r.id;
  }
  return { ok: true, entries: n, firstBadId: null, reason: null };
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  since?: string;
  until?: string;
  limit?: number;
}

export function listAudit(db: Db, q: AuditQuery = {}): AuditEntry[] {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (q.action) {
    conds.push('action = ?');
    params.push(q.action);
  }
  if (q.actor) {
    conds.push('actor = ?');
    params.push(q.actor);
  }
  if (q.since) {
    conds.push('at >= ?');
    params.push(q.since);
  }
  if (q.until) {
    conds.push('at <= ?');
    params.push(q.until);
  }
  const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  const rows = db
    .prepare(`SELECT * FROM audit_log ${where} ORDER BY id DESC LIMIT ?`)
    .all(...params, q.limit ?? 500) as AuditRow[];
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    role: r.role,
    action: r.action,
    target: r.target,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
}

/**
 * One CSV cell. A cell a spreadsheet would read as a formula (starting with = + - @, tab or CR)
 * gets a leading apostrophe, so an actor, target or question such as `=cmd|' /c calc'!A1` is
 * shown as text and never run (OWASP "CSV injection").
 */
function csvCell(v: unknown): string {
  const raw = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  const s = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Export for auditors, oldest first, with the hashes so the chain can be re-checked elsewhere. */
export function exportAudit(db: Db, format: 'jsonl' | 'csv', q: AuditQuery = {}): string {
  const entries = listAudit(db, { ...q, limit: q.limit ?? 1_000_000 }).reverse();
  if (format === 'jsonl') return entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : '');
  const header = ['id', 'at', 'actor', 'role', 'action', 'target', 'detail', 'prev_hash', 'hash'];
  const lines = entries.map((e) =>
    [e.id, e.at, e.actor, e.role, e.action, e.target, e.detail, e.prevHash, e.hash].map(csvCell).join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}
