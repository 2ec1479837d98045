/**
 * End to end in real Chromium over the HTTP bridge: a question answered from an image
 * document opens the picture with the cited passage boxed in the right place — a PNG as it
 * is, and page 2 of a G4 TIFF (which browsers cannot show) as the PNG the main process makes.
 * Screenshots go to test/artifacts/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRenderer, hasChromium, launchBrowser, openUi } from '../support/browser';
import { createApi } from '../../src-main/api/handlers';
import { startHttpBridge, type HttpBridge } from '../../src-main/api/http-bridge';
import { createAccessSession, DEFAULT_IDLE_MS } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { textPage, tiffPages, type TextLine } from '../support/images';
import { repoRoot, tempDir } from '../support/paths';

const artifacts = path.join(repoRoot, 'test', 'artifacts');

const SHEET: TextLine[] = [
  { text: 'Hydraulic Press HP-400', x: 60, y: 110, size: 56, bold: true },
  { text: 'Error E-417 means the hydraulic pressure is too low.', x: 60, y: 220, size: 34 },
  { text: 'Check the relief valve and top up with ISO VG 46 oil.', x: 60, y: 280, size: 34 },
];
const SHEET_SIZE = { w: 1400, h: 360 };

describe.skipIf(!hasChromium)('image citations in Chromium over the HTTP bridge', () => {
  const tmp = tempDir();
  const docs = path.join(tmp.dir, 'scans');
  let fb: Fieldbook;
  let bridge: HttpBridge;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'press-sheet.png'), await textPage(SHEET, SHEET_SIZE.w, SHEET_SIZE.h));
    const cover = await textPage([{ text: 'Coolant system', x: 80, y: 120, size: 50, bold: true }], 1200, 300);
    const pump = await textPage(
      [
        { text: 'Coolant pump CP-7', x: 80, y: 120, size: 50, bold: true },
        { text: 'Replace the shaft seal of the pump when it leaks.', x: 80, y: 220, size: 32 },
      ],
      1200,
      300,
    );
    fs.writeFileSync(path.join(docs, 'coolant-scan.tif'), await tiffPages([cover, pump], 300, 'ccittfax4'));
    const staticDir = path.join(tmp.dir, 'renderer');
    buildRenderer(staticDir);
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    fb.updateSettings({ ocr: { enabled: true, languages: ['eng'], dpi: 200 }, locale: 'en' });
    const report = await fb.ingest.ingest([docs]);
    expect(report.counts).toMatchObject({ added: 2, failed: 0 });
    const session = createAccessSession({ db: fb.db, actor: 'e2e', idleMs: DEFAULT_IDLE_MS, now: () => new Date() });
    bridge = await startHttpBridge(createApi(fb, { transport: 'http' }), { staticDir, db: fb.db, session });
    ({ browser, page } = await launchBrowser());
    await openUi(page, bridge);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    await fb?.close();
    tmp.cleanup();
  });

  const openFirstCitation = async (question: string) => {
    await page.getByRole('textbox', { name: /Ask about/ }).fill(question);
    await page.locator('form.ask-box button[type=submit]').click();
    const answer = page.getByTestId('answer').last();
    await answer.waitFor({ timeout: 30_000 });
    await answer.locator('.chip').first().click();
    const viewer = page.getByRole('dialog');
    await viewer.getByTestId('viewer-image').waitFor({ timeout: 20_000 });
    await viewer.getByTestId('highlight-box').first().waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-testid=viewer-image]');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    return viewer;
  };

  it('opens a PNG with the cited lines boxed over the right part of the picture', async () => {
    const viewer = await openFirstCitation('How do I fix error E-417?');
    const image = await viewer.getByTestId('viewer-image').boundingBox();
    const boxes = await viewer.getByTestId('highlight-box').evaluateAll((els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height };
      }),
    );
    if (!image) throw new Error('image not shown');
    const scale = image.width / SHEET_SIZE.w;
    expect(image.height / scale).toBeCloseTo(SHEET_SIZE.h, 0);
    // Some box covers the relief-valve line (drawn at x = 60, baseline y = 280, 34 px text).
    const covers = boxes.some((b) => {
      const top = (b.y - image.y) / scale;
      const bottom = (b.y + b.h - image.y) / scale;
      const left = (b.x - image.x) / scale;
      return top < 280 - 20 && bottom > 280 && left < 60 && left > 40;
    });
    expect(covers).toBe(true);
    await page.screenshot({ path: path.join(artifacts, '10-citation-image.png') });
    await viewer.getByRole('button', { name: /Close/ }).click();
  });

  it('opens page 2 of a G4 TIFF (served as PNG) at the cited page', async () => {
    const viewer = await openFirstCitation('Which seal must be replaced on coolant pump CP-7?');
    expect(await viewer.getByTestId('viewer-page').textContent()).toMatch(/^\s*2 \/ 2\s*$/);
    const src = await viewer.getByTestId('viewer-image').getAttribute('src');
    expect(src?.startsWith('data:image/png;base64,')).toBe(true);
    await page.screenshot({ path: path.join(artifacts, '11-citation-tiff.png') });
    // Back to page 1: the picture changes, no box there.
    await viewer.getByRole('button', { name: '◀' }).click();
    await expect.poll(() => viewer.getByTestId('viewer-page').textContent()).toMatch(/^\s*1 \/ 2\s*$/);
    await viewer.getByTestId('viewer-image').waitFor();
    expect(await viewer.getByTestId('highlight-box').count()).toBe(0);
    await viewer.getByRole('button', { name: /Close/ }).click();
  });
});
