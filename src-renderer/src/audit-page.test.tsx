// @vitest-environment happy-dom
/**
 * Issue 14.8 on the Audit page, against the fake IPC bridge: the integrity check says what it
 * found (truncated, rewritten, anchor altered…) in the UI language, and that the head matches
 * its anchor when all is well.
 */
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Outputs } from '../../src-preload/contract';
import { I18nContext, MESSAGES } from './i18n';
import { installFakeBridge } from './test-support/fake-bridge';

const { results } = installFakeBridge((message) => ({ code: 'ACCESS_DENIED', message, hint: '' }));
results.auditList = [];

const truncated: Outputs['auditVerify'] = {
  ok: false,
  entries: 3,
  firstBadId: 4,
  finding: 'truncated',
  reason:
    'the log was truncated: it has 3 entries but 5 were anchored on 2026-12-05T08:00:00.000Z (entries 4–5 are gone)',
  head: 'a'.repeat(64),
  anchor: { entries: 5, head: 'b'.repeat(64), at: '2026-12-05T08:00:00.000Z' },
};

afterEach(cleanup);

describe('Audit page integrity check (issue 14.8)', () => {
  it('issue 14.8: says in zh-TW that entries were cut off the end of the log, and where', async () => {
    results.auditVerify = truncated;
    const { AuditPage } = await import('./pages/AuditPage'); // after the fake bridge is in place
    render(
      <I18nContext.Provider value={MESSAGES['zh-TW']}>
        <AuditPage />
      </I18nContext.Provider>,
    );
    fireEvent.click(screen.getByRole('button', { name: '檢查完整性' }));
    const banner = await screen.findByText(/稽核紀錄遭竄改/);
    expect(banner.textContent).toBe(`稽核紀錄遭竄改: ${MESSAGES['zh-TW'].auditFindings.truncated} (#4)`);
    expect(banner.getAttribute('title')).toContain('entries 4–5 are gone');
  });

  it('issue 14.8: says in English that the log was rewritten, and that an intact log matches its anchor', async () => {
    results.auditVerify = { ...truncated, finding: 'rewritten', firstBadId: 5 };
    const { AuditPage } = await import('./pages/AuditPage');
    render(
      <I18nContext.Provider value={MESSAGES.en}>
        <AuditPage />
      </I18nContext.Provider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Check integrity' }));
    expect(
      await screen.findByText(/Audit log was tampered with: the log was rewritten and its hashes recomputed/),
    ).toBeTruthy();
    results.auditVerify = { ...truncated, ok: true, entries: 6, firstBadId: null, finding: null, reason: null };
    fireEvent.click(screen.getByRole('button', { name: 'Check integrity' }));
    expect(await screen.findByText('Audit log intact, hash chain verified (6) · head matches its anchor')).toBeTruthy();
  });

  it('issue 15.12: dates, roles and actions in the UI language, not as stored', async () => {
    const entry = {
      id: 9,
      at: '2026-12-02T09:00:16.000Z',
      actor: 'ui',
      role: 'reviewer',
      action: 'bundle.apply',
      target: 'line-a v3',
      detail: {},
      prevHash: '0'.repeat(64),
      hash: '1'.repeat(64),
    };
    results.auditList = [entry];
    const { AuditPage } = await import('./pages/AuditPage');
    const zh = render(
      <I18nContext.Provider value={MESSAGES['zh-TW']}>
        <AuditPage />
      </I18nContext.Provider>,
    );
    const row = (await screen.findByText('套用 USB 更新')).closest('tr');
    const cells = Array.from(row?.querySelectorAll('td') ?? []).map((c) => c.textContent);
    expect(cells[1]).toMatch(/^2026年12月2日/);
    expect(cells[1]).not.toMatch(/AM|PM/);
    expect(cells.slice(2, 5)).toEqual(['審核人員', 'ui', '套用 USB 更新']);
    // The action filter names actions too.
    expect(screen.getByRole('option', { name: '審核修正建議' })).toBeTruthy();
    zh.unmount();
    render(
      <I18nContext.Provider value={MESSAGES.en}>
        <AuditPage />
      </I18nContext.Provider>,
    );
    const enRow = (await screen.findByText('USB update applied')).closest('tr');
    expect(enRow?.textContent).toContain('Reviewer');
    expect(enRow?.textContent).toMatch(/2 Dec 2026/);
    results.auditList = [];
  });
});
