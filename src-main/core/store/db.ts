/**
 * The knowledge store: one SQLite file (better-sqlite3) with sqlite-vec loaded,
 * WAL mode, foreign keys, and schema migrations by version.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { FieldbookError } from '../errors';
import { MIGRATIONS, type Migration, type SchemaEdit } from './migrations';
import { createPrivateFile, makeDataFolderPrivate, tightenTree } from './private-data';

export type Db = Database.Database;

export interface OpenedStore {
  db: Db;
  /** True when the previous session did not close the database cleanly (an integrity check ran). */
  recoveredFromUncleanExit: boolean;
  close(): void;
}

export const DB_FILE = 'fieldbook.db';
const OPEN_MARKER = 'fieldbook.db.open';

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * SQLite's procedure for schema changes that existing rows already satisfy
 * (sqlite.org/lang_altertable.html#otheralter): rewrite the CREATE text, move the schema
 * cookie so other connections re-read it, and re-read it here. Runs inside the migration's
 * transaction, so a failure leaves the schema as it was.
 */
function editTableSchema(db: Db, edit: SchemaEdit): void {
  const row = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").get(edit.table) as
    { sql: string } | undefined;
  if (!row || row.sql.split(edit.replace).length !== 2) {
    throw new Error(`migration: "${edit.replace}" does not occur exactly once in table ${edit.table}`);
  }
  const cookie = db.pragma('schema_version', { simple: true }) as number;
  db.pragma('writable_schema = ON');
  db.prepare("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?").run(
    row.sql.replace(edit.replace, edit.with),
    edit.table,
  );
  db.pragma(`schema_version = ${cookie + 1}`);
  // RESET turns writing off and re-reads the schema: a statement SQLite cannot parse fails here.
  db.pragma('writable_schema = RESET');
  db.prepare(`SELECT * FROM "${edit.table}" LIMIT 0`).all();
}

/** Bring the schema up to date (`steps` is for tests that build an older schema first). */
export function migrate(db: Db, steps: readonly Migration[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  const latest = steps.length;
  if (current > latest) {
    throw new FieldbookError('DATABASE_NEWER', { detail: `schema ${current}, this build knows ${latest}` });
  }
  for (let v = current; v < latest; v++) {
    const step = steps[v] as Migration;
    // better-sqlite3 opens connections in defensive mode, which forbids writing the schema table:
    // lift it for this one step only.
    const schemaEdit = typeof step !== 'string';
    if (schemaEdit) db.unsafeMode(true);
    try {
      db.transaction(() => {
        if (typeof step === 'string') db.exec(step);
        else editTableSchema(db, step);
        db.pragma(`user_version = ${v + 1}`);
      })();
    } finally {
      if (schemaEdit) db.unsafeMode(false);
    }
  }
}

/** Open (and create or migrate) the knowledge base inside `home`, a folder only its user may read. */
export function openStore(home: string): OpenedStore {
  makeDataFolderPrivate(home);
  const file = path.join(home, DB_FILE);
  const marker = path.join(home, OPEN_MARKER);
  const unclean = fs.existsSync(marker) && fs.existsSync(file);
  // SQLite would create the file 0644; the -wal/-shm files it creates take the database file's mode.
  createPrivateFile(file);
  const db = new Database(file);
  sqliteVec.load(db);
  db.pragma('journal_mode = WAL');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) tightenTree(f);
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  if (unclean) {
    const result = db.pragma('quick_check', { simple: true });
    if (result !== 'ok') {
      db.close();
      throw new FieldbookError('DATABASE_CORRUPT', { detail: String(result), file });
    }
  }
  migrate(db);
  fs.writeFileSync(marker, String(process.pid), { mode: 0o600 });
  let closed = false;
  return {
    db,
    recoveredFromUncleanExit: unclean,
    close() {
      if (closed) return;
      closed = true;
      db.close();
      fs.rmSync(marker, { force: true });
    },
  };
}

/** Open a throwaway in-memory store (tests of pure logic). */
export function openMemoryStore(): Db {
  const db = new Database(':memory:');
  sqliteVec.load(db);
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/** Run `fn` in a transaction with synchronous=FULL, for changes that must survive power loss. */
export function durableTransaction<T>(db: Db, fn: () => T): T {
  db.pragma('synchronous = FULL');
  try {
    return db.transaction(fn)();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}
