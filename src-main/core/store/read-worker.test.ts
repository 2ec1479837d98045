import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/paths';
import { openStore } from './db';
import { createReadWorker } from './read-worker';

describe('read worker (a read-only connection in a worker thread)', () => {
  const tmp = tempDir();
  const store = openStore(path.join(tmp.dir, 'home'));
  const worker = createReadWorker(store.db.name);
  afterAll(async () => {
    await worker.close();
    store.close();
    tmp.cleanup();
  });

  it('answers read-only queries with what is committed, including changes made after it started', async () => {
    const sql = 'SELECT value FROM meta WHERE key = ?';
    store.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?)').run('read-worker.test', 'one');
    expect(await worker.all(sql, ['read-worker.test'])).toEqual([{ value: 'one' }]);
    store.db.prepare('UPDATE meta SET value = ? WHERE key = ?').run('two', 'read-worker.test');
    expect(await worker.all(sql, ['read-worker.test'])).toEqual([{ value: 'two' }]);
    expect(worker.answered).toBe(2);
  });

  it('refuses writes and bad SQL for that query only; the next query is answered', async () => {
    await expect(worker.all("DELETE FROM meta WHERE key = 'read-worker.test'", [])).rejects.toThrow(
      /read-only|readonly/,
    );
    await expect(worker.all('SELECT a FROM no_such_table', [])).rejects.toThrow(/no such table/);
    expect(await worker.all('SELECT COUNT(*) AS n FROM meta WHERE key = ?', ['read-worker.test'])).toEqual([{ n: 1 }]);
  });

  it('fails the queries in flight when closed, and starts again on the next query', async () => {
    const inFlight = expect(worker.all('SELECT 1 AS one', [])).rejects.toThrow('read worker closed');
    await worker.close();
    await inFlight;
    expect(await worker.all('SELECT 2 AS two', [])).toEqual([{ two: 2 }]);
  });

  it('says it is unavailable, without starting again, when its connection cannot be opened', async () => {
    const missing = createReadWorker(path.join(tmp.dir, 'no-such.db'));
    await expect(missing.all('SELECT 1', [])).rejects.toThrow(/unable to open|does not exist/i);
    await expect(missing.all('SELECT 1', [])).rejects.toThrow(/read worker unavailable/);
    await missing.close();
  });
});
