/**
 * End to end in real Chromium against the HTTP bridge (the same renderer and contract as
 * the desktop app): add documents and watch progress, ask in zh-TW and English, open a
 * citation at the cited page, give feedback. Screenshots go to test/artifacts/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRenderer, CHROMIUM, hasChromium, launchBrowser, openUi } from '../support/browser';
import { createApi } from '../../src-main/api/handlers';
import { createAccessSession, DEFAULT_IDLE_MS } from '../../src-main/core/access/roles';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import { packBundle } from '../../src-main/core/sync/bundle-archive';
import { startHttpBridge, type HttpBridge } from '../../src-main/api/http-bridge';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { corpusFile, hasCorpus, repoRoot, samplesDir, tempDir } from '../support/paths';

const artifacts = path.join(repoRoot, 'test', 'artifacts');

if (!hasChromium) console.warn(`e2e skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!hasChromium || !hasCorpus)('desktop UI in Chromium over the HTTP bridge', () => {
  const tmp = tempDir();
  const docs = path.join(tmp.dir, 'manuals');
  let fb: Fieldbook;
  let bridge: HttpBridge;
  let browser: Browser;
  let page: Page;
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: false });
  };

  beforeAll(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    fs.mkdirSync(docs, { recursive: true });
    fs.copyFileSync(
      corpusFile('taipei_ivoting_install_manual_zh-TW.pdf'),
      path.join(docs, 'ivoting-install_zh-TW.pdf'),
    );
    fs.copyFileSync(corpusFile('osha3170_safeguarding_amputations.pdf'), path.join(docs, 'osha-safeguarding.pdf'));
    fs.copyFileSync(corpusFile('washer_overflow_sensor_sop.docx'), path.join(docs, 'washer-sop.docx'));
    const staticDir = path.join(tmp.dir, 'renderer');
    buildRenderer(staticDir);
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    const session = createAccessSession({ db: fb.db, actor: 'e2e', idleMs: DEFAULT_IDLE_MS, now: () => new Date() });
    bridge = await startHttpBridge(createApi(fb, { transport: 'http' }), { staticDir, db: fb.db, session });
    ({ browser, page } = await launchBrowser());
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    await fb?.close();
    tmp.cleanup();
  });

  it('shows the empty states and the active modes on first run', async () => {
    await openUi(page, bridge);
    // The secret is kept for the tab and taken out of the address bar; a reload still works.
    expect(page.url()).not.toContain('session=');
    await page.reload();
    await page.locator('.statusbar').waitFor({ timeout: 15_000 });
    expect(await page.locator('.statusbar').textContent()).toContain('關鍵字搜尋');
    expect(await page.locator('.empty').textContent()).toContain('文件庫是空的');
    await page.getByRole('button', { name: '文件庫' }).click();
    await page.getByText('尚無文件').waitFor();
    await shot('01-library-empty');
  });

  it('adds a folder through the file browser and lists the documents', async () => {
    await page.getByRole('button', { name: /加入檔案或資料夾/ }).click();
    await page.getByRole('dialog').waitFor();
    await page.getByLabel('前往資料夾').fill(tmp.dir);
    await page.getByRole('button', { name: '前往資料夾' }).click();
    await page.locator('.browse-item', { hasText: 'manuals' }).locator('input[type=checkbox]').check();
    await shot('02-browse');
    await page.getByRole('button', { name: /加入所選/ }).click();
    await page.locator('.banner.ok').waitFor({ timeout: 60_000 });
    expect(await page.locator('.banner.ok').textContent()).toContain('+3');
    await expect.poll(() => page.locator('table.docs tbody tr').count()).toBe(3);
    await shot('03-library');
  });

  it('answers a zh-TW question with citations and opens the cited PDF page with the passage boxed', async () => {
    await page.getByRole('button', { name: '提問', exact: true }).first().click();
    await page.getByRole('textbox', { name: /詢問機台/ }).fill('如何安裝資料庫？');
    await page.locator('form.ask-box button[type=submit]').click();
    const answer = page.getByTestId('answer').last();
    await answer.waitFor({ timeout: 30_000 });
    expect(await answer.textContent()).toContain('資料庫');
    const chip = answer.locator('.chip').first();
    expect(await chip.textContent()).toMatch(/ivoting|i-Voting|taipei/i);
    await shot('04-answer-zh');
    await chip.click();
    const viewer = page.getByRole('dialog');
    await viewer.getByTestId('viewer-page').waitFor();
    const pageText = await viewer.getByTestId('viewer-page').textContent();
    const cited = await viewer.locator('h2').textContent();
    expect(cited).toMatch(/頁 \d+/);
    expect(pageText?.split('/')[0]?.trim()).toBe(cited?.match(/頁 (\d+)/)?.[1]);
    await viewer.getByTestId('highlight-box').first().waitFor({ timeout: 20_000 });
    await page.waitForTimeout(500);
    await shot('05-citation-pdf');
    await viewer.getByRole('button', { name: /關閉/ }).click();
  });

  it('answers an English question and records feedback', async () => {
    await page.getByRole('button', { name: 'English' }).click();
    await page
      .getByRole('textbox', { name: /Ask about/ })
      .fill('What does lockout/tagout require before servicing machines?');
    await page.locator('form.ask-box button[type=submit]').click();
    const answer = page.getByTestId('answer').last();
    await answer.waitFor({ timeout: 30_000 });
    expect(await answer.locator('.chip').first().textContent()).toContain('Page');
    await answer
      .getByRole('button', { name: /Helpful/ })
      .first()
      .click();
    await answer.getByText('Thank you').waitFor();
    const feedback = fb.db.prepare('SELECT rating FROM feedback').all();
    expect(feedback).toEqual([{ rating: 'up' }]);
    await shot('06-answer-en-feedback');
  });

  it('shows the models page with the mode used without models', async () => {
    await page.getByRole('button', { name: 'Models' }).click();
    await page.getByText(/search uses keywords only/).waitFor();
    await shot('07-models');
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByText('Data directory').waitFor();
    await shot('08-settings');
  });

  it('shows the audit trail with an integrity check (setup mode: no admin passphrase yet)', async () => {
    await page.getByRole('button', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Check integrity' }).click();
    await page.getByText(/Audit log intact/).waitFor();
    expect(await page.locator('table.docs tbody tr').count()).toBeGreaterThan(2);
    await shot('09-audit');
  });

  it('exports the helpful answer as a chat dataset from the Datasets page', async () => {
    await page.getByRole('button', { name: 'Datasets' }).click();
    await page.getByText('Nothing waiting').waitFor();
    const out = path.join(tmp.dir, 'dataset-out');
    await page.getByLabel('Folder (e.g. on the USB drive)').fill(out);
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await page.getByTestId('dataset-result').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('dataset-result').textContent()).toMatch(/^1 ·/);
    expect(fs.existsSync(path.join(out, 'manifest.json'))).toBe(true);
    await shot('10-datasets');
  });

  it('imports a signed one-file USB bundle: verify, review with preview, approve, apply', async () => {
    const keys = generateSigningKeys();
    trustKey(fb.db, keys.publicKeyPem, 'Master workstation', new Date());
    const master = openFieldbook({ home: path.join(tmp.dir, 'master'), embeddingModelRoots: [], llmModelRoots: [] });
    const folder = path.join(tmp.dir, 'usb-build', 'kb-update');
    const usb = path.join(tmp.dir, 'usb', 'kb-update.fbbundle');
    try {
      await master.ingest.ingest([path.join(samplesDir, 'troubleshooting-log.md')]);
      exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: folder, now: new Date() });
      fs.mkdirSync(path.dirname(usb), { recursive: true });
      await packBundle(folder, usb);
    } finally {
      await master.close();
    }
    await page.getByRole('button', { name: 'USB Import' }).click();
    await page.getByLabel('Bundle folder or .fbbundle file').fill(usb);
    await page.getByRole('button', { name: 'Verify and stage' }).click();
    await page.getByText('Review the changes').waitFor({ timeout: 30_000 });
    expect(await page.locator('.bundle-info').textContent()).toContain('Master workstation');
    await page.getByRole('button', { name: 'Preview' }).first().click();
    await page.locator('.bundle-preview .excerpt', { hasText: 'E-203' }).waitFor({ timeout: 30_000 });
    await shot('11a-usb-preview');
    await page.getByRole('button', { name: 'Close preview' }).click();
    await page.getByRole('button', { name: 'Approve all' }).click();
    await page.locator('td', { hasText: 'Approved' }).first().waitFor();
    await shot('11-usb-review');
    await page.getByRole('button', { name: 'Apply approved changes' }).click();
    await page.getByText(/Applied: knowledge base is now v1/).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('.statusbar').textContent()).toContain('4 documents');
    // The versions list follows the apply: now v1, with v0 kept for a rollback.
    await page.getByText('Current version: v1').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Restore this version' }).first().waitFor();
    await shot('12-usb-applied');
  });
});
