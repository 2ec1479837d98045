import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from './db';
import { makeDataFolderPrivate, type PrivacyHost } from './private-data';

const mode = (file: string): number => fs.statSync(file).mode & 0o777;

describe('issue 14.3: the data folder is private', () => {
  const dirs: string[] = [];
  const temp = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-private-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it.runIf(process.platform !== 'win32')('a new data folder is 0700 and the database files 0600', () => {
    const home = path.join(temp(), 'Fieldbook');
    const store = openStore(home);
    try {
      store.db.prepare("INSERT INTO settings(key, value) VALUES ('probe', '1')").run();
      expect(mode(home)).toBe(0o700);
      for (const f of ['fieldbook.db', 'fieldbook.db-wal', 'fieldbook.db-shm', 'fieldbook.db.open'])
        expect([f, mode(path.join(home, f))]).toEqual([f, 0o600]);
    } finally {
      store.close();
    }
  });

  it.runIf(process.platform !== 'win32')(
    'an existing folder is fixed on start without following links out of it (keys, backups, library)',
    () => {
      const root = temp();
      const home = path.join(root, 'home');
      const outside = path.join(root, 'outside.txt');
      fs.writeFileSync(outside, 'not ours', { mode: 0o644 });
      fs.mkdirSync(path.join(home, 'keys'), { recursive: true });
      fs.mkdirSync(path.join(home, 'snapshots', 'files'), { recursive: true });
      fs.writeFileSync(path.join(home, 'keys', 'audit.key'), 'k');
      fs.writeFileSync(path.join(home, 'snapshots', 'v3.db'), 'b');
      fs.writeFileSync(path.join(home, 'snapshots', 'files', 'abc'), 'c');
      for (const d of [home, path.join(home, 'keys'), path.join(home, 'snapshots')]) fs.chmodSync(d, 0o755);
      fs.chmodSync(path.join(home, 'snapshots', 'v3.db'), 0o644);
      fs.symlinkSync(outside, path.join(home, 'link-out'));
      makeDataFolderPrivate(home);
      expect(mode(home)).toBe(0o700);
      expect(mode(path.join(home, 'keys'))).toBe(0o700);
      expect(mode(path.join(home, 'keys', 'audit.key'))).toBe(0o600);
      expect(mode(path.join(home, 'snapshots', 'v3.db'))).toBe(0o600);
      expect(mode(path.join(home, 'snapshots', 'files', 'abc'))).toBe(0o600);
      expect(mode(outside)).toBe(0o644);
    },
  );

  it('on Windows, icacls grants the current user alone, inherited by the folder contents; a failure is not fatal', () => {
    const home = path.join(temp(), 'Fieldbook');
    const calls: string[][] = [];
    const host: PrivacyHost = { platform: 'win32', icacls: (args) => calls.push(args), user: () => 'PLANT\\tech01' };
    makeDataFolderPrivate(home, host);
    expect(fs.statSync(home).isDirectory()).toBe(true);
    expect(calls).toEqual([[home, '/inheritance:r', '/grant:r', 'PLANT\\tech01:(OI)(CI)F']]);
    const failing: PrivacyHost = {
      ...host,
      icacls: () => {
        throw new Error('icacls not found');
      },
    };
    expect(() => makeDataFolderPrivate(home, failing)).not.toThrow();
  });
});
