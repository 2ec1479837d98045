/** Settings persisted in the knowledge base (so the app and the CLI agree), over the defaults. */
import { DEFAULT_SETTINGS, type Settings } from '../config';
import type { Db } from './db';

type PlainObject = Record<string, unknown>;

function isPlainObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge<T>(base: T, patch: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(patch)) return (patch === undefined ? base : patch) as T;
  const out: PlainObject = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = k in base ? deepMerge((base as PlainObject)[k], v) : v;
  return out as T;
}

export function loadSettings(db: Db): Settings {
  const row = db.prepare("SELECT value FROM settings WHERE key = 'settings'").get() as { value: string } | undefined;
  return row ? deepMerge(DEFAULT_SETTINGS, JSON.parse(row.value)) : structuredClone(DEFAULT_SETTINGS);
}

export type SettingsPatch = {
  [K in keyof Settings]?: Settings[K] extends string | null ? Settings[K] : Partial<Settings[K]>;
};

export function saveSettings(db: Db, patch: SettingsPatch): Settings {
  const next = deepMerge(loadSettings(db), patch);
  db.prepare(
    "INSERT INTO settings(key, value) VALUES ('settings', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  ).run(JSON.stringify(next));
  return next;
}
