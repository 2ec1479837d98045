/**
 * End-to-end support: the production renderer build and Debian's Chromium driven by
 * playwright-core (Playwright's own browser download is not possible here).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './paths';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);

/** The same production build as `npm run build:renderer`, in its own process (vitest's NODE_ENV=test would leak into it). */
export function buildRenderer(outDir: string): void {
  execFileSync(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'src-renderer/vite.config.ts',
      '--outDir',
      outDir,
      '--logLevel',
      'error',
    ],
    { cwd: repoRoot, env: { ...process.env, NODE_ENV: 'production' }, stdio: 'inherit' },
  );
}

/** Headless Chromium with no background traffic, and a page that reports the renderer's errors. */
export async function launchBrowser(): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.stack));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error('console error:', m.text());
  });
  return { browser, page };
}

/**
 * Open the UI the way `npm run serve` prints it: the address carries this launch's UI secret
 * in its fragment (without it every API call is refused). Waits until the status bar shows.
 */
export async function openUi(page: Page, bridge: { uiUrl: string }): Promise<void> {
  await page.goto(bridge.uiUrl);
  await page.locator('.statusbar').waitFor({ timeout: 15_000 });
}
