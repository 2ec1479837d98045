import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAllowedUrl } from './security';

describe('request filter', () => {
  const renderer = path.resolve('/opt/fieldbook/out/renderer');
  const inRenderer = pathToFileURL(path.join(renderer, 'index.html')).href;

  it('allows the renderer files and in-memory URLs, nothing else local', () => {
    expect(isAllowedUrl(inRenderer, null, renderer)).toBe(true);
    expect(isAllowedUrl('blob:file:///abc', null, renderer)).toBe(true);
    expect(isAllowedUrl(pathToFileURL(path.resolve('/opt/fieldbook/secret.db')).href, null, renderer)).toBe(false);
    expect(isAllowedUrl('file://fileserver/share/x.png', null, renderer)).toBe(false);
    expect(isAllowedUrl('not a url', null, renderer)).toBe(false);
  });

  it('matches the dev server by origin, not by prefix', () => {
    const dev = 'http://localhost:5173';
    expect(isAllowedUrl('http://localhost:5173/src/main.tsx', dev, renderer)).toBe(true);
    expect(isAllowedUrl('http://localhost:5173.evil.example/x.js', dev, renderer)).toBe(false);
    expect(isAllowedUrl('https://example.com/', dev, renderer)).toBe(false);
  });
});
