import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APP_URL } from './app-protocol';
import { isAllowedUrl, secureWebPreferences } from './security';

describe('request filter', () => {
  it('issue 14.20: allows the app:// renderer and in-memory URLs, nothing from file:// or other hosts', () => {
    expect(isAllowedUrl(APP_URL, null)).toBe(true);
    expect(isAllowedUrl('app://fieldbook/pdfjs/cmaps/UniCNS-UTF16-H.bcmap', null)).toBe(true);
    expect(isAllowedUrl('blob:app://fieldbook/abc', null)).toBe(true);
    expect(isAllowedUrl('app://evil/index.html', null)).toBe(false);
    expect(isAllowedUrl('app://fieldbook.evil.example/x.js', null)).toBe(false);
    // The renderer is no longer a file:// page: no local file, in or out of its folder, and no share.
    expect(isAllowedUrl(pathToFileURL(path.resolve('/opt/fieldbook/out/renderer/index.html')).href, null)).toBe(false);
    expect(isAllowedUrl(pathToFileURL(path.resolve('/opt/fieldbook/secret.db')).href, null)).toBe(false);
    expect(isAllowedUrl('file://fileserver/share/x.png', null)).toBe(false);
    expect(isAllowedUrl('not a url', null)).toBe(false);
  });

  it('matches the dev server by origin, not by prefix', () => {
    const dev = 'http://localhost:5173';
    expect(isAllowedUrl('http://localhost:5173/src/main.tsx', dev)).toBe(true);
    expect(isAllowedUrl('http://localhost:5173.evil.example/x.js', dev)).toBe(false);
    expect(isAllowedUrl('https://example.com/', dev)).toBe(false);
  });

  it('issue 14.20: DevTools follow the build (off when packaged)', () => {
    expect(secureWebPreferences('/p.cjs', { devTools: false })).toMatchObject({ devTools: false, sandbox: true });
    expect(secureWebPreferences('/p.cjs', { devTools: true })).toMatchObject({ devTools: true });
  });
});
