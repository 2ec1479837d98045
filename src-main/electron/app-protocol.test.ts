/** The app:// protocol handler against a real renderer folder (no Electron needed: it returns a web Response). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appProtocolResponse, APP_URL } from './app-protocol';

describe('issue 14.20: app://fieldbook/ serves only the renderer folder', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-app-protocol-'));
  const renderer = path.join(root, 'renderer');
  const secret = path.join(root, 'fieldbook.db');

  beforeAll(() => {
    fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
    fs.mkdirSync(path.join(renderer, 'pdfjs', 'cmaps'), { recursive: true });
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Fieldbook</title>');
    fs.writeFileSync(path.join(renderer, 'assets', 'index-1a2b.js'), 'export const x = 1;');
    fs.writeFileSync(path.join(renderer, 'assets', 'index-1a2b.css'), 'body{}');
    fs.writeFileSync(path.join(renderer, 'pdfjs', 'cmaps', 'UniCNS-UTF16-H.bcmap'), Buffer.from([1, 2, 3]));
    fs.writeFileSync(secret, 'SQLite format 3\0 secret rows');
    fs.symlinkSync(secret, path.join(renderer, 'assets', 'leak.js'));
    fs.symlinkSync(root, path.join(renderer, 'up'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const get = (url: string): Promise<Response> => appProtocolResponse(url, renderer);

  it('serves the page and its assets with their MIME types and the CSP', async () => {
    const page = await get(APP_URL);
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    expect(page.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(await page.text()).toContain('<title>Fieldbook</title>');
    const js = await get('app://fieldbook/assets/index-1a2b.js');
    expect([js.status, js.headers.get('Content-Type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await get('app://fieldbook/assets/index-1a2b.css')).headers.get('Content-Type')).toBe(
      'text/css; charset=utf-8',
    );
    const cmap = await get('app://fieldbook/pdfjs/cmaps/UniCNS-UTF16-H.bcmap');
    expect([...new Uint8Array(await cmap.arrayBuffer())]).toEqual([1, 2, 3]);
    // The app's own routes fall back to the page.
    expect(await (await get('app://fieldbook/library')).text()).toContain('<title>Fieldbook</title>');
  });

  it('refuses traversal, links out of the folder and other hosts (never the file behind them)', async () => {
    for (const url of [
      'app://fieldbook/..%2ffieldbook.db',
      'app://fieldbook/%2e%2e/fieldbook.db',
      'app://fieldbook/assets/leak.js',
      'app://fieldbook/up/fieldbook.db',
      'app://fieldbook/assets/..%5c..%5cfieldbook.db',
      'app://other/index.html',
      'file:///etc/passwd',
    ]) {
      const res = await get(url);
      const body = await res.text();
      expect(body).not.toContain('secret rows');
      // Either refused, or (a path the URL parser normalised back inside) the app's page.
      if (res.status === 200) expect([url, body]).toEqual([url, expect.stringContaining('<title>Fieldbook</title>')]);
      else expect([url, res.status]).toEqual([url, expect.any(Number)]);
    }
    expect((await get('app://fieldbook/assets/leak.js')).status).toBe(404);
    expect((await get('app://fieldbook/up/fieldbook.db')).status).toBe(404);
    expect((await get('app://fieldbook/..%2ffieldbook.db')).status).toBe(404);
  });
});
