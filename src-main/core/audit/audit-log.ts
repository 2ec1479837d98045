/**
 * The audit trail: an append-only table (UPDATE/DELETE are refused by triggers) where each
 * entry carries the SHA-256 of the previous one, so any edited, inserted or deleted entry
 * breaks the chain and `verifyAudit` finds it. The head (hash and count) is anchored outside
 * the database with a keyed MAC (`audit-anchor.ts`), so a truncated or re-chained log is
 * found too. Entries are written inside the caller's transaction when there is one (so a
 * change and its entry commit together), else in their own with synchronous=FULL.
 */
import { createHash } from 'node:crypto';
import { durableTransaction, type Db } from '../store/db';
import type { Sensitivity } from '../store/documents';
import { getMeta, setMeta } from '../store/vectors';
import {
  anchorAudit,
  anchorAuthentic,
  anchorHome,
  ANCHORED_META_KEY,
  AUDIT_ANCHOR_FILE,
  AUDIT_KEY_FILE,
  GENESIS,
  logHead,
  readAnchor,
  writeAnchor,
  type AuditAnchor,
} from './audit-anchor';
import { entryVisible } from './audit-labels';

/** After committing a transaction that appended entries, move the anchor (see `audit-anchor.ts`). */
export { anchorAudit };

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
  | 'feedback.review'
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
  | 'access.denied'
  | 'audit.anchor';

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

/**
 * Append an entry. Inside a transaction on `db` the entry is part of it (commits or rolls back
 * with the change; use `durableTransaction` and call `anchorAudit` after the commit); otherwise
 * it is written in its own durable transaction and the anchor moves to it.
 */
export function appendAudit(db: Db, input: AuditInput, now: Date): AuditEntry {
  const write = (): AuditEntry => {
    const prevHash = logHead(db).head;
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
  };
  if (db.inTransaction) return write();
  const entry = durableTransaction(db, write);
  anchorAudit(db, now);
  return entry;
}

/** Run a change and its audit entry in one durable transaction, then move the anchor. */
export function audited<T>(db: Db, change: () => T, entry: (result: T) => AuditInput, now: Date): T {
  const result = durableTransaction(db, () => {
    const r = change();
    appendAudit(db, entry(r), now);
    return r;
  });
  anchorAudit(db, now);
  return result;
}

/**
 * Give a database its anchor when it has none (first open of a new or an older database).
 * An older log is anchored as it stands, and an entry says so. A database anchored before
 * whose anchor file is gone gets no new one: `verifyAudit` reports it (`fieldbook audit
 * reanchor` starts a new anchor, audited). Otherwise the anchor moves to the committed head.
 */
export function ensureAuditAnchor(db: Db, now: Date): void {
  const home = anchorHome(db);
  if (!home) return;
  if (readAnchor(home).state !== 'none' || getMeta(db, ANCHORED_META_KEY) !== null) {
    anchorAudit(db, now);
    return;
  }
  startAnchor(db, home, now, null);
}

/** Anchor the log as it stands now, with an entry saying why (none for a new, empty log). */
function startAnchor(db: Db, home: string, now: Date, reset: { actor: string; found: string } | null): void {
  durableTransaction(db, () => {
    setMeta(db, ANCHORED_META_KEY, now.toISOString());
    const { entries, head } = logHead(db);
    if (reset)
      appendAudit(
        db,
        {
          actor: reset.actor,
          role: 'admin',
          action: 'audit.anchor',
          target: AUDIT_ANCHOR_FILE,
          detail: { reset: true, found: reset.found, entries, head },
        },
        now,
      );
    else if (entries > 0)
      appendAudit(
        db,
        {
          actor: 'system',
          role: 'admin',
          action: 'audit.anchor',
          target: AUDIT_ANCHOR_FILE,
          detail: { note: 'the existing log had no anchor: anchored as it stood from here on', entries, head },
        },
        now,
      );
  });
  const { entries, head } = logHead(db);
  writeAnchor(home, entries, head, now);
}

/**
 * Start a new anchor after a finding was looked into (admin only; the entry records what
 * `verifyAudit` found). Earlier truncation or rewriting can no longer be detected afterwards.
 */
export function reanchorAudit(db: Db, actor: string, now: Date): AuditVerification {
  const home = anchorHome(db);
  if (!home) return verifyAudit(db);
  const found = verifyAudit(db);
  startAnchor(db, home, now, { actor, found: found.ok ? 'intact' : (found.reason ?? 'not intact') });
  return verifyAudit(db);
}

/** What `verifyAudit` found, as a code the UI words in its language (`reason` says it in English, with figures). */
export type AuditFinding =
  | 'entry-missing'
  | 'link-broken'
  | 'entry-changed'
  | 'truncated'
  | 'rewritten'
  | 'anchor-missing'
  | 'anchor-altered'
  | 'key-missing';

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** First entry whose hash or link does not match (edited, inserted or deleted before it), or the first one missing. */
  firstBadId: number | null;
  finding: AuditFinding | null;
  reason: string | null;
  /** Hash of the last entry (all zeros when empty): compare with an exported head. */
  head: string;
  /** What the anchor file holds (null for an in-memory database or when there is none). */
  anchor: Pick<AuditAnchor, 'entries' | 'head' | 'at'> | null;
}

type ChainCheck = Omit<AuditVerification, 'anchor'>;

/** Walk the hash chain; the first broken link or changed entry is a finding. */
function verifyChain(db: Db): ChainCheck {
  let prev = GENESIS;
  let n = 0;
  let lastId = 0;
  for (const r of db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as Iterable<AuditRow>) {
    n++;
    const bad = (finding: AuditFinding, reason: string): ChainCheck => ({
      ok: false,
      entries: n,
      firstBadId: r.id,
      finding,
      reason,
      head: prev,
    });
    if (r.id !== lastId + 1) return bad('entry-missing', `entry ${lastId + 1} is missing`);
    if (r.prev_hash !== prev) return bad('link-broken', 'link to the previous entry is broken');
    if (entryHash(prev, r) !== r.hash) return bad('entry-changed', 'entry content was changed');
    prev = r.hash;
    lastId = r.id;
  }
  return { ok: true, entries: n, firstBadId: null, finding: null, reason: null, head: prev };
}

/** Check the chain, then the chain's head against the anchor (truncation, re-chaining, a forged or missing anchor). */
export function verifyAudit(db: Db): AuditVerification {
  const chain = verifyChain(db);
  const home = anchorHome(db);
  if (!home) return { ...chain, anchor: null };
  const read = readAnchor(home);
  const anchor =
    read.state === 'ok' ? { entries: read.anchor.entries, head: read.anchor.head, at: read.anchor.at } : null;
  const found = (finding: AuditFinding, reason: string, firstBadId = chain.firstBadId): AuditVerification => ({
    ...chain,
    ok: false,
    anchor,
    finding,
    reason,
    firstBadId,
  });
  if (read.state === 'none') {
    const anchored = getMeta(db, ANCHORED_META_KEY);
    return anchored === null
      ? { ...chain, anchor }
      : found(
          'anchor-missing',
          `the anchor file ${AUDIT_ANCHOR_FILE} is missing (the log has been anchored since ${anchored}): entries may have been removed`,
        );
  }
  if (read.state === 'unreadable')
    return found('anchor-altered', `${read.reason} (${AUDIT_ANCHOR_FILE}): it was altered`);
  const a = read.anchor;
  const authentic = anchorAuthentic(home, a);
  if (authentic === null) return found('key-missing', `the anchor key ${AUDIT_KEY_FILE} is missing or damaged`);
  if (!authentic)
    return found(
      'anchor-altered',
      `the anchor file's MAC does not match: the anchor (${a.entries} entries) was altered`,
    );
  if (!chain.ok) return { ...chain, anchor };
  if (chain.entries < a.entries)
    return found(
      'truncated',
      `the log was truncated: it has ${chain.entries} entries but ${a.entries} were anchored on ${a.at} (entries ${chain.entries + 1}–${a.entries} are gone)`,
      chain.entries + 1,
    );
  const at = db.prepare('SELECT hash FROM audit_log WHERE id = ?').get(a.entries) as { hash: string } | undefined;
  if ((at?.hash ?? GENESIS) !== a.head)
    return found(
      'rewritten',
      `the log was rewritten: entry ${a.entries}'s hash differs from the anchored head (${a.head.slice(0, 12)}…, ${a.at}), so the chain up to it was recomputed`,
      a.entries,
    );
  return { ...chain, anchor };
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  since?: string;
  until?: string;
  limit?: number;
  /** Only entries within this clearance (see `audit-labels.ts`); all when absent. */
  maxSensitivity?: Sensitivity;
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
  const limit = q.limit ?? 500;
  const stmt = db.prepare(`SELECT * FROM audit_log ${where} ORDER BY id DESC LIMIT ? OFFSET ?`);
  const out: AuditEntry[] = [];
  // Page through until `limit` entries within the clearance are found (or the log ends).
  for (let offset = 0; out.length < limit; offset += limit) {
    const rows = stmt.all(...params, limit, offset) as AuditRow[];
    for (const r of rows) {
      const e = toEntry(r);
      if (out.length < limit && (!q.maxSensitivity || entryVisible(db, e, q.maxSensitivity))) out.push(e);
    }
    if (rows.length < limit) break;
  }
  return out;
}

function toEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    role: r.role,
    action: r.action,
    target: r.target,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function csvCell(v: unknown): string {
  const raw = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  const s = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The log's head as an export prints it: count and hash of the whole log (also when the export
 * is filtered), and the anchor with its MAC, so a later copy can be compared with this one.
 */
export interface AuditHead {
  entries: number;
  head: string;
  exportedAt: string;
  anchor: AuditAnchor | null;
}

export function auditHead(db: Db, now: Date): AuditHead {
  anchorAudit(db, now);
  const home = anchorHome(db);
  const read = home ? readAnchor(home) : null;
  return { ...logHead(db), exportedAt: now.toISOString(), anchor: read?.state === 'ok' ? read.anchor : null };
}

/**
 * Export for auditors, oldest first, with the hashes so the chain can be re-checked elsewhere,
 * ending with the head (JSONL: an `{"auditHead": …}` line; CSV: a `# audit head …` line).
 */
export function exportAudit(db: Db, format: 'jsonl' | 'csv', q: AuditQuery = {}, now: Date = new Date()): string {
  const entries = listAudit(db, { ...q, limit: q.limit ?? 1_000_000 }).reverse();
  const head = auditHead(db, now);
  if (format === 'jsonl')
    return [...entries.map((e) => JSON.stringify(e)), JSON.stringify({ auditHead: head })].join('\n') + '\n';
  const header = ['id', 'at', 'actor', 'role', 'action', 'target', 'detail', 'prev_hash', 'hash'];
  const lines = entries.map((e) =>
    [e.id, e.at, e.actor, e.role, e.action, e.target, e.detail, e.prevHash, e.hash].map(csvCell).join(','),
  );
  const a = head.anchor;
  const trailer =
    `# audit head: entries=${head.entries} hash=${head.head} exported=${head.exportedAt}` +
    (a ? ` anchor.entries=${a.entries} anchor.head=${a.head} anchor.at=${a.at} anchor.mac=${a.mac}` : ' anchor=none');
  return [header.join(','), ...lines, trailer].join('\n') + '\n';
}
