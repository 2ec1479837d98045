// @vitest-environment happy-dom
/**
 * Issue 16.5 in the Library: a password-protected PDF that failed offers "Enter password"; the
 * password goes with one ingest call for that file only, a wrong one keeps the form open with the
 * reason, and the typed password is cleared after sending.
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Outputs } from '../../src-preload/contract';
import { I18nContext, MESSAGES } from './i18n';
import { installFakeBridge } from './test-support/fake-bridge';

const fake = installFakeBridge((message) => ({ code: 'PARSE_FAILED', message, hint: '' }));
const FILE = '/plant/manuals/pump-protected.pdf';

const report = (error?: { code: string; message: string; hint: string }): Outputs['ingest'] => ({
  jobId: 1,
  files: [
    error
      ? { file: FILE, outcome: 'failed', error: { ...error, code: error.code as 'PDF_WRONG_PASSWORD', file: FILE } }
      : { file: FILE, outcome: 'added', docId: 7, chunks: 3, pages: 2, warnings: [] },
  ],
  removed: [],
  counts: { added: error ? 0 : 1, updated: 0, unchanged: 0, failed: error ? 1 : 0, cancelled: 0, removed: 0 },
});

afterEach(cleanup);

describe('Enter password (issue 16.5)', () => {
  it('issue 16.5: sends the password with one ingest call for that file, shows a wrong password, clears it, then reports success', async () => {
    const { PasswordRetry } = await import('./components/PasswordRetry');
    let added = 0;
    render(
      <I18nContext.Provider value={MESSAGES['zh-TW']}>
        <PasswordRetry file={FILE} onAdded={() => added++} />
      </I18nContext.Provider>,
    );
    fireEvent.click(screen.getByRole('button', { name: '輸入密碼' }));
    const input = screen.getByLabelText(/此 PDF 的密碼/) as HTMLInputElement;
    expect(input.type).toBe('password');

    fake.results.ingest = report({ code: 'PDF_WRONG_PASSWORD', message: '此 PDF 的密碼不正確', hint: '請確認密碼' });
    fireEvent.change(input, { target: { value: 'passwort' } });
    fireEvent.click(screen.getByRole('button', { name: '以此密碼開啟' }));
    expect((await screen.findByRole('alert')).textContent).toBe('此 PDF 的密碼不正確 — 請確認密碼');
    expect(input.value).toBe('');
    expect(added).toBe(0);

    fake.results.ingest = report();
    fireEvent.change(input, { target: { value: 'pässwört' } });
    fireEvent.click(screen.getByRole('button', { name: '以此密碼開啟' }));
    await waitFor(() => expect(added).toBe(1));
    expect(screen.queryByLabelText(/此 PDF 的密碼/)).toBeNull();
    const ingests = fake.calls.filter((c) => c.method === 'ingest').map((c) => c.input);
    expect(ingests).toEqual([
      { paths: [FILE], password: 'passwort' },
      { paths: [FILE], password: 'pässwört' },
    ]);
  });
});
