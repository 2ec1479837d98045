/**
 * Issue 14 findings on what the app hands out, proved against the real API, a real SQLite data
 * folder and the real HTTP bridge:
 *   14.2  indexed files (originals and viewer images) and the static renderer files are read
 *         without following links and, for indexed files, only while the content is the one indexed;
 *   14.3  the data folder is 0700 and its files 0600, also when an older version left them open;
 *   14.7  without API keys, loopback alone is not the UI session: the per-launch secret is needed;
 *   14.16 failed files (paths, details) are not listed to readers;
 *   14.17 the CSV audit export cannot carry a spreadsheet formula.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApi, type Api } from '../../src-main/api/handlers';
import { startHttpBridge, UI_SESSION_HEADER, type HttpBridge } from '../../src-main/api/http-bridge';
import { createAccessSession, createApiKey, type AccessSession } from '../../src-main/core/access/roles';
import { DB_FILE } from '../../src-main/core/store/db';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import type { DocumentFile } from '../../src-preload/contract';
import { textPage } from '../support/images';
import { repoRoot, tempDir } from '../support/paths';

const posix = process.platform !== 'win32';

/** RFC 4180 cells, as a spreadsheet reads them. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted && ch === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (!quoted && ch === ',') {
      row.push(cell);
      cell = '';
    } else if (!quoted && ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += ch;
    }
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}
const mode = (file: string): number => fs.statSync(file).mode & 0o777;

describe('issue 14: file reads, data at rest, UI session', () => {
  const tmp = tempDir();
  const docs = path.join(tmp.dir, 'docs');
  const home = path.join(tmp.dir, 'home');
  let fb: Fieldbook;
  let api: Api;
  let admin: AccessSession;
  let reader: AccessSession;
  const ids = new Map<string, number>();
  const call = async <T = unknown>(s: AccessSession, method: string, input: unknown): Promise<T> => {
    const env = await api.invoke(method, input, s);
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code, detail: env.error.detail });
    return env.result as T;
  };
  const session = (actor: string): AccessSession =>
    createAccessSession({ db: fb.db, actor, idleMs: 60 * 60_000, now: () => new Date() });

  beforeAll(async () => {
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'valve.md'), '# Valve V-7\n\nClose valve V-7 slowly before maintenance.\n');
    fs.writeFileSync(path.join(docs, 'pump.md'), '# Pump P-2\n\nPrime pump P-2 before the first start.\n');
    fs.writeFileSync(path.join(docs, 'belt.md'), '# Belt B-1\n\nCheck the tension of belt B-1 every week.\n');
    fs.writeFileSync(
      path.join(docs, 'sheet.png'),
      await textPage([{ text: 'Relief valve RV-3 opens at 12 bar.', x: 40, y: 90, size: 40 }], 900, 160),
    );
    fs.writeFileSync(path.join(docs, 'secret-plan.pdf'), 'not a pdf at all');
    // A data folder as an older version left it: readable by everyone.
    fs.mkdirSync(path.join(home, 'library'), { recursive: true, mode: 0o755 });
    fs.chmodSync(home, 0o755);
    fs.writeFileSync(path.join(home, 'library', 'old.md'), '# old\n', { mode: 0o644 });
    fs.mkdirSync(path.join(home, 'snapshots'), { mode: 0o755 });
    fs.writeFileSync(path.join(home, 'snapshots', 'v1.db'), 'backup', { mode: 0o644 });
    fs.chmodSync(path.join(home, 'snapshots', 'v1.db'), 0o644);
    fb = openFieldbook({ home, embeddingModelRoots: [], llmModelRoots: [] });
    fb.updateSettings({ ocr: { enabled: true, languages: ['eng'], dpi: 200 } });
    api = createApi(fb, { transport: 'http' });
    admin = session('admin');
    const report = await call<{ files: Array<{ file: string; outcome: string; docId?: number }> }>(admin, 'ingest', {
      paths: [docs],
      sensitivity: 'internal',
    });
    for (const f of report.files) if (f.docId !== undefined) ids.set(path.basename(f.file), f.docId);
    await call(admin, 'setPassphrase', { role: 'admin', passphrase: 'admin-pass-123' });
    await call(admin, 'elevate', { role: 'admin', passphrase: 'admin-pass-123' });
    reader = session('reader');
  }, 120_000);
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('issue 14.2: an indexed file replaced by a link to fieldbook.db is refused, not served', async () => {
    const id = ids.get('valve.md') as number;
    const served = await call<DocumentFile>(reader, 'getDocumentFile', { docId: id });
    expect(Buffer.from(served.base64, 'base64').toString()).toContain('Close valve V-7');
    const file = path.join(docs, 'valve.md');
    fs.rmSync(file);
    fs.symlinkSync(path.join(home, DB_FILE), file);
    await expect(call(reader, 'getDocumentFile', { docId: id })).rejects.toMatchObject({ code: 'FILE_CHANGED' });
    // A link to a file with the indexed content is still a link: refused too.
    const copy = path.join(tmp.dir, 'valve-copy.md');
    fs.writeFileSync(copy, '# Valve V-7\n\nClose valve V-7 slowly before maintenance.\n');
    fs.rmSync(file);
    fs.symlinkSync(copy, file);
    await expect(call(reader, 'getDocumentFile', { docId: id })).rejects.toMatchObject({ code: 'FILE_CHANGED' });
  });

  it('issue 14.2: a hard link or replacement with other content is refused by the indexed hash', async () => {
    const id = ids.get('pump.md') as number;
    const file = path.join(docs, 'pump.md');
    fs.rmSync(file);
    fs.linkSync(path.join(home, DB_FILE), file); // same file system in the temp folder
    await expect(call(reader, 'getDocumentFile', { docId: id })).rejects.toMatchObject({ code: 'FILE_CHANGED' });
    fs.rmSync(file);
    fs.writeFileSync(file, '# Pump P-2\n\nSomething else entirely.\n');
    await expect(call(reader, 'getDocumentFile', { docId: id })).rejects.toMatchObject({ code: 'FILE_CHANGED' });
    fs.rmSync(file);
    await expect(call(reader, 'getDocumentFile', { docId: id })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });

  it('issue 14.2: through a linked folder on the path, only the indexed content is ever served', async () => {
    const id = ids.get('belt.md') as number;
    const moved = path.join(tmp.dir, 'docs-moved');
    fs.mkdirSync(moved);
    fs.copyFileSync(path.join(home, DB_FILE), path.join(moved, 'belt.md'));
    fs.renameSync(path.join(docs, 'belt.md'), path.join(tmp.dir, 'belt.md'));
    const linkedDocs = path.join(tmp.dir, 'linked');
    fs.symlinkSync(moved, linkedDocs);
    fb.db.prepare('UPDATE documents SET source_path = ? WHERE id = ?').run(path.join(linkedDocs, 'belt.md'), id);
    await expect(call(reader, 'getDocumentFile', { docId: id })).rejects.toMatchObject({ code: 'FILE_CHANGED' });
    fs.copyFileSync(path.join(tmp.dir, 'belt.md'), path.join(moved, 'belt.md'));
    const served = await call<DocumentFile>(reader, 'getDocumentFile', { docId: id });
    expect(Buffer.from(served.base64, 'base64').toString()).toContain('belt B-1');
  });

  it('issue 14.2: the viewer image path reads the image the same way', async () => {
    const id = ids.get('sheet.png') as number;
    expect(id).toBeDefined();
    const page = await call<DocumentFile>(reader, 'getDocumentFile', { docId: id, page: 1 });
    expect(page.mime).toBe('image/png');
    const file = path.join(docs, 'sheet.png');
    fs.rmSync(file);
    fs.symlinkSync(path.join(home, DB_FILE), file);
    await expect(call(reader, 'getDocumentFile', { docId: id, page: 1 })).rejects.toMatchObject({
      code: 'FILE_CHANGED',
    });
  });

  it.runIf(posix)('issue 14.3: the data folder is 0700 and its files 0600, old ones fixed on start', () => {
    expect(mode(home)).toBe(0o700);
    expect(mode(path.join(home, DB_FILE))).toBe(0o600);
    expect(mode(path.join(home, `${DB_FILE}-wal`))).toBe(0o600);
    expect(mode(path.join(home, `${DB_FILE}-shm`))).toBe(0o600);
    expect(mode(path.join(home, 'library'))).toBe(0o700);
    expect(mode(path.join(home, 'library', 'old.md'))).toBe(0o600);
    expect(mode(path.join(home, 'snapshots'))).toBe(0o700);
    expect(mode(path.join(home, 'snapshots', 'v1.db'))).toBe(0o600);
  });

  it('issue 14.16: failed files are listed to reviewers and admins, not to readers', async () => {
    const adminView = await call<{ failures: Array<{ sourcePath: string }> }>(admin, 'listDocuments', {});
    expect(adminView.failures.map((f) => path.basename(f.sourcePath))).toContain('secret-plan.pdf');
    const readerView = await call<{ failures: unknown[]; documents: unknown[] }>(reader, 'listDocuments', {});
    expect(readerView.failures).toEqual([]);
    expect(readerView.documents.length).toBeGreaterThan(0);
  });

  it('issue 14.17: a CSV audit export escapes cells a spreadsheet would run as formulas', async () => {
    const attacker = session(`=cmd|' /c calc'!A1`);
    await call(attacker, 'sendFeedback', { answerId: 999_999, rating: 'up' }).catch(() => undefined);
    await call(attacker, 'elevate', { role: 'admin', passphrase: '+SUM(1)' }).catch(() => undefined);
    const { text } = await call<{ text: string }>(admin, 'auditExport', { format: 'csv' });
    const rows = parseCsv(
      text
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n'),
    );
    const actors = rows.map((r) => r[2]);
    expect(actors).toContain(`'=cmd|' /c calc'!A1`);
    for (const cell of rows.flat()) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('issue 14.7: `fieldbook serve` prints an address carrying the secret; loopback without it gets 401', async () => {
    const serveHome = path.join(tmp.dir, 'serve-home');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), 'serve', '--port', '0', '--home', serveHome],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await vi.waitFor(() => expect(out).toMatch(/running at (\S+)/), { timeout: 60_000, interval: 200 });
      const printed = new URL((/running at (\S+)/.exec(out) as RegExpExecArray)[1] as string);
      const secret = new URLSearchParams(printed.hash.slice(1)).get('session') ?? '';
      expect(secret.length).toBeGreaterThanOrEqual(40);
      const status = (headers: Record<string, string>) =>
        fetch(`${printed.origin}/api/status`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body: '{}',
        });
      expect((await status({})).status).toBe(401);
      const ok = await status({ [UI_SESSION_HEADER]: secret });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ ok: true, result: { home: serveHome, transport: 'http' } });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  describe('over the HTTP bridge', () => {
    const staticDir = path.join(tmp.dir, 'renderer');
    let ui: HttpBridge;
    let keyed: HttpBridge;
    const get = (
      bridge: HttpBridge,
      p: string,
      headers: Record<string, string> = {},
      method = 'GET',
      body?: string,
    ): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const u = new URL(bridge.url);
        const req = http.request({ host: u.hostname, port: u.port, path: p, method, headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (res.headers['content-type'] === 'text/event-stream') req.destroy();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('close', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const post = (bridge: HttpBridge, method: string, headers: Record<string, string> = {}) =>
      get(bridge, `/api/${method}`, { 'Content-Type': 'application/json', ...headers }, 'POST', '{}');

    beforeAll(async () => {
      fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
      fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Fieldbook</title>');
      fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log("app")');
      fs.symlinkSync(path.join(home, DB_FILE), path.join(staticDir, 'leak.db'));
      fs.symlinkSync(home, path.join(staticDir, 'data'));
      ui = await startHttpBridge(api, { staticDir, db: fb.db, session: admin });
      keyed = await startHttpBridge(api, { staticDir, db: fb.db, session: admin, requireApiKeys: true });
    });
    afterAll(async () => {
      await ui.close();
      await keyed.close();
    });

    it('issue 14.2: the static handler serves the renderer but never follows a link out of it', async () => {
      for (const bridge of [ui, keyed]) {
        expect(await get(bridge, '/assets/app.js')).toMatchObject({ status: 200, body: 'console.log("app")' });
        expect((await get(bridge, '/library')).body).toContain('<title>Fieldbook</title>'); // app routes
        const leak = await get(bridge, '/leak.db');
        expect(leak.status).toBe(404);
        expect(leak.body).not.toContain('SQLite format');
        const throughFolder = await get(bridge, `/data/${DB_FILE}`);
        expect(throughFolder.status).toBe(404);
        expect(throughFolder.body).not.toContain('SQLite format');
      }
    });

    it('issue 14.7: without API keys, loopback alone is refused; the UI secret from uiUrl is needed', async () => {
      const secret = new URL(ui.uiUrl).hash.replace(/^#session=/, '');
      expect(secret.length).toBeGreaterThanOrEqual(40);
      expect(ui.uiUrl.startsWith(`${ui.url}/#session=`)).toBe(true);
      const refused = await post(ui, 'status');
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toMatchObject({ ok: false, error: { code: 'UI_SESSION_REQUIRED' } });
      expect((await post(ui, 'session', { [UI_SESSION_HEADER]: 'guess' })).status).toBe(401);
      expect((await get(ui, '/api/events')).status).toBe(401);
      expect((await get(ui, '/api/events?session=guess')).status).toBe(401);
      const ok = await post(ui, 'session', { [UI_SESSION_HEADER]: secret });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ ok: true, result: { role: 'admin' } });
      const events = await get(ui, `/api/events?session=${encodeURIComponent(secret)}`);
      expect(events).toMatchObject({ status: 200, body: expect.stringContaining(': connected') });
      // A second launch has another secret.
      const other = await startHttpBridge(api, { staticDir, db: fb.db, session: admin });
      try {
        expect(new URL(other.uiUrl).hash).not.toBe(new URL(ui.uiUrl).hash);
        expect((await post(other, 'status', { [UI_SESSION_HEADER]: secret })).status).toBe(401);
      } finally {
        await other.close();
      }
      // With API keys the key is the credential (and the UI secret gives nothing).
      expect(keyed.uiUrl).toBe(`${keyed.url}/`);
      expect((await post(keyed, 'status', { [UI_SESSION_HEADER]: secret })).status).toBe(401);
      const key = createApiKey(fb.db, 'kiosk-14-7', 'reader', new Date());
      expect((await post(keyed, 'status', { 'X-Api-Key': key })).status).toBe(200);
    });
  });
});
