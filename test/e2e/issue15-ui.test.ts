/**
 * Issue 15 in real Chromium over the HTTP bridge, as a technician, reviewer and administrator
 * meet the app: the first screen in setup mode, the passphrase dialog's contrast, the header at
 * 1366×768, 1024×768 and 200 % zoom (zh-TW and English), the citation viewer as a modal, and
 * a role the server drops for inactivity. Screenshots go to test/artifacts/issue15-*.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src-main/api/handlers';
import { startHttpBridge, type HttpBridge } from '../../src-main/api/http-bridge';
import { createAccessSession } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { buildRenderer, CHROMIUM, hasChromium, launchBrowser } from '../support/browser';
import { repoRoot, samplesDir, tempDir } from '../support/paths';

const artifacts = path.join(repoRoot, 'test', 'artifacts');
if (!hasChromium) console.warn(`issue 15 e2e skipped: no Chromium at ${CHROMIUM}`);
const IDLE_MS = 10 * 60 * 1000;

/** WCAG contrast ratio of two CSS rgb() colours. */
function contrast(fg: string, bg: string): number {
  const lum = (css: string): number => {
    const [r, g, b] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x) as [number, number];
  return (a + 0.05) / (b + 0.05);
}

/** The header's size and where its controls are, in CSS pixels. */
async function headerLayout(page: Page) {
  return page.evaluate(() => {
    const box = (el: Element | null) => {
      if (!el || !(el instanceof HTMLElement) || el.offsetParent === null) return null;
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height, clipped: el.scrollWidth > el.clientWidth + 1 };
    };
    const header = document.querySelector('header.topbar') as HTMLElement;
    return {
      viewport: { w: window.innerWidth, h: window.innerHeight },
      header: header.getBoundingClientRect().height,
      controls: [
        ...Array.from(header.querySelectorAll('nav.nav .nav-button')),
        header.querySelector('.nav-compact .menu-button'),
        header.querySelector('.role-button'),
        header.querySelector('.lang-switch'),
      ]
        .map((el) => ({ name: el?.textContent ?? '', box: box(el) }))
        .filter((c) => c.box !== null),
    };
  });
}

describe.skipIf(!hasChromium)('issue 15: the desktop UI in Chromium', () => {
  const tmp = tempDir();
  let fb: Fieldbook;
  let bridge: HttpBridge;
  let browser: Browser;
  let page: Page;
  let clock = Date.now();
  const shot = async (p: Page, name: string): Promise<void> => {
    await p.screenshot({ path: path.join(artifacts, `issue15-${name}.png`), fullPage: false });
  };

  beforeAll(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    const staticDir = path.join(tmp.dir, 'renderer');
    buildRenderer(staticDir);
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    await fb.ingest.ingest([
      path.join(samplesDir, 'plc-fault-reset_zh-TW.pdf'),
      path.join(samplesDir, 'troubleshooting-log.md'),
    ]);
    await fb.ingest.ingest([path.join(samplesDir, 'electrical-safety_zh-TW.docx')], { isSafety: true });
    const session = createAccessSession({ db: fb.db, actor: 'e2e', idleMs: IDLE_MS, now: () => new Date(clock) });
    bridge = await startHttpBridge(createApi(fb, { transport: 'http' }), { staticDir, db: fb.db, session });
    ({ browser, page } = await launchBrowser());
    await page.setViewportSize({ width: 1366, height: 768 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    await fb?.close();
    tmp.cleanup();
  });

  it('issue 15.9 + 15.1: setup mode shows on the first screen; the passphrase dialog is readable and needs the passphrase twice', async () => {
    await page.goto(bridge.uiUrl);
    const banner = page.getByText(/設定模式：尚未設定管理員通行密碼/);
    await banner.waitFor({ timeout: 15_000 });
    const top = await banner.boundingBox();
    expect(top && top.y + top.height).toBeLessThan(768);
    await page.getByRole('button', { name: '管理員（設定模式）' }).waitFor();
    await shot(page, '01-setup-mode-1366');

    await page.getByRole('button', { name: '設定管理員通行密碼' }).click();
    const dialog = page.getByRole('dialog', { name: '設定管理員通行密碼' });
    await dialog.waitFor();
    // Title and labels: dark ink on the white dialog (was white on white, 1:1).
    const inks = await dialog.evaluate((d) => {
      const bg = getComputedStyle(d).backgroundColor;
      return [d.querySelector('h2'), ...Array.from(d.querySelectorAll('label'))].map((el) => ({
        text: el?.textContent ?? '',
        ratio: [getComputedStyle(el as Element).color, bg],
      }));
    });
    expect(inks.length).toBeGreaterThanOrEqual(3);
    for (const ink of inks)
      expect(contrast(ink.ratio[0] ?? '', ink.ratio[1] ?? ''), ink.text).toBeGreaterThanOrEqual(7);
    await shot(page, '02-setup-dialog-1366');

    await dialog.getByLabel(/新通行密碼/).fill('plant-admin-1');
    await dialog.getByLabel('再輸入一次通行密碼').fill('plant-admin-2');
    await dialog.getByRole('button', { name: '儲存' }).click();
    await dialog.getByText('兩次輸入的通行密碼不一致。').waitFor();
    await dialog.getByLabel('再輸入一次通行密碼').fill('plant-admin-1');
    await dialog.getByRole('button', { name: '儲存' }).click();
    await dialog.getByText(/已設定管理員通行密碼/).waitFor();
    await shot(page, '03-setup-done-1366');
    await dialog.getByRole('button', { name: /關閉/ }).click();
    await page.getByRole('button', { name: '技術人員' }).waitFor();
    expect(await page.getByText(/設定模式：/).count()).toBe(0);
  });

  it('issue 15.9: the administrator sets the reviewer passphrase in Settings', async () => {
    await page.getByRole('button', { name: '技術人員' }).click();
    const dialog = page.getByRole('dialog', { name: '切換角色' });
    await dialog.getByLabel('角色').selectOption('admin');
    await dialog.getByLabel('通行密碼').fill('plant-admin-1');
    await dialog.getByRole('button', { name: '切換角色' }).click();
    await page.getByRole('button', { name: /角色: 管理員/ }).waitFor();
    await page.locator('nav.nav').getByRole('button', { name: '設定' }).click();
    const card = page.getByRole('region', { name: '通行密碼' });
    await card.getByLabel(/新通行密碼/).fill('plant-review-1');
    await card.getByLabel('再輸入一次通行密碼').fill('plant-review-1');
    await card.getByRole('button', { name: '儲存通行密碼' }).click();
    await card.getByText(/已儲存新的通行密碼：\s*審核人員/).waitFor();
    expect(await card.getByTestId('passphrase-reviewer').textContent()).toBe('已設定');
  });

  const sizes = [
    { name: '1366x768', viewport: { width: 1366, height: 768 }, scale: 1 },
    { name: '1024x768', viewport: { width: 1024, height: 768 }, scale: 1 },
    // 200 % browser zoom on a 1366×768 screen: half the CSS pixels, each drawn twice as large.
    { name: '1366x768-zoom200', viewport: { width: 683, height: 384 }, scale: 2 },
  ];

  it('issue 15.3: the header fits at 1366×768, 1024×768 and 200 % zoom, signed in as administrator, in zh-TW and English', async () => {
    const results: string[] = [];
    for (const locale of ['zh-TW', 'en'] as const) {
      fb.updateSettings({ locale });
      for (const size of sizes) {
        const context = await browser.newContext({ viewport: size.viewport, deviceScaleFactor: size.scale });
        const p = await context.newPage();
        try {
          await p.goto(bridge.uiUrl);
          await p.locator('.statusbar').waitFor({ timeout: 15_000 });
          await p.locator('.role-button').waitFor();
          const layout = await headerLayout(p);
          results.push(`${locale} ${size.name}: header ${Math.round(layout.header)} px`);
          // One row of large targets: at most a fifth of the screen's height even at 200 %.
          expect(layout.header, `${locale} ${size.name}`).toBeLessThanOrEqual(Math.max(80, layout.viewport.h * 0.2));
          expect(layout.controls.length).toBeGreaterThanOrEqual(3);
          for (const c of layout.controls) {
            const b = c.box as NonNullable<typeof c.box>;
            expect(b.x, `${c.name} starts on screen (${locale} ${size.name})`).toBeGreaterThanOrEqual(0);
            expect(b.x + b.w, `${c.name} ends on screen (${locale} ${size.name})`).toBeLessThanOrEqual(
              layout.viewport.w,
            );
            expect(b.h, `${c.name} is one large row`).toBeGreaterThanOrEqual(48);
            expect(b.h, `${c.name} does not wrap`).toBeLessThanOrEqual(64);
            expect(b.w, `${c.name} is wide enough for gloves`).toBeGreaterThanOrEqual(48);
            expect(c.box?.clipped, `${c.name} is not cut short`).toBe(false);
          }
          // Every page is reachable: inline, or from the menu button.
          const menu = p.locator('.nav-compact .menu-button');
          if (await menu.isVisible()) {
            await menu.click();
            const items = p.locator('.menu-panel .menu-item');
            expect(await items.count()).toBe(7);
            await shot(p, `04-header-${size.name}-${locale}-menu`);
            await p.keyboard.press('Escape');
          } else {
            expect(await p.locator('nav.nav .nav-button').count()).toBe(7);
          }
          await shot(p, `04-header-${size.name}-${locale}`);
          // The question box starts on the first screen (at 200 % it comes before history and filters).
          const askBox = await p.locator('form.ask-box textarea').boundingBox();
          expect(askBox && askBox.y < size.viewport.height, `question box on the first screen (${size.name})`).toBe(
            true,
          );
          // The switch-role dialog fits and is readable at this size too.
          await p.locator('.role-button').click();
          await p.locator('.menu-panel .menu-item').nth(1).click();
          const dialog = p.getByRole('dialog');
          await dialog.waitFor();
          const d = await dialog.boundingBox();
          expect(d && d.x >= 0 && d.x + d.width <= size.viewport.width, `dialog on screen (${size.name})`).toBe(true);
          await shot(p, `05-role-dialog-${size.name}-${locale}`);
          await p.keyboard.press('Escape');
          await dialog.waitFor({ state: 'detached' });
        } finally {
          await context.close();
        }
      }
    }
    fb.updateSettings({ locale: 'zh-TW' });
    console.log(results.join('\n'));
  }, 120_000);

  it('issue 15.7: the citation viewer keeps focus inside and gives it back to the chip', async () => {
    await page.locator('nav.nav').getByRole('button', { name: '提問' }).click();
    await page.getByRole('textbox', { name: /詢問機台/ }).fill('PLC 故障怎麼復位？');
    await page.locator('form.ask-box button[type=submit]').click();
    const answer = page.getByTestId('answer').last();
    await answer.waitFor({ timeout: 30_000 });
    const chip = answer.locator('.citations .chip').first();
    await chip.focus();
    await chip.press('Enter');
    const dialog = page.getByRole('dialog');
    // A PDF page (page tools) or a text passage in context, whichever the first source is.
    await dialog
      .locator('[data-testid=viewer-page], [data-testid=highlight-text]')
      .first()
      .waitFor({ timeout: 20_000 });
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab');
      expect(await dialog.evaluate((d) => d.contains(document.activeElement)), `Tab ${i + 1}`).toBe(true);
    }
    await shot(page, '06-citation-modal-1366');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await chip.evaluate((c) => c === document.activeElement)).toBe(true);
  });

  it('issue 15.2: a role dropped for inactivity takes the admin pages and says so', async () => {
    await page.locator('nav.nav').getByRole('button', { name: '稽核紀錄' }).click();
    await page.getByRole('button', { name: '檢查完整性' }).waitFor();
    clock += IDLE_MS + 60_000; // nobody touched the app for 11 minutes
    await page.getByRole('button', { name: '檢查完整性' }).click();
    await page.getByText(/因一段時間未操作/).waitFor({ timeout: 10_000 });
    await page.locator('header').getByRole('button', { name: '技術人員' }).waitFor();
    expect(await page.locator('nav.nav .nav-button').allTextContents()).toEqual(['提問', '文件庫', '模型', '設定']);
    expect(await page.getByRole('button', { name: '檢查完整性' }).count()).toBe(0);
    await shot(page, '07-role-timed-out-1366');
    // The USB page is gone with the role, so it cannot claim that no publisher is trusted.
    expect(await page.locator('nav.nav').getByRole('button', { name: 'USB 匯入' }).count()).toBe(0);
  });
});
