// @vitest-environment happy-dom
/**
 * Issue 15 (the desktop UI as its users meet it), renderer items, against the fake IPC bridge:
 * the role follows the server, setup mode and passphrases, the citation viewer is a modal,
 * feedback and safety boxes per answer, errors in the user's words, controls per role.
 */
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorReport, Outputs, SessionInfo } from '../../src-preload/contract';
import { installFakeBridge } from './test-support/fake-bridge';

// An Error result's message is the JSON of the error report the server would send.
const { calls, results, emit } = installFakeBridge((message) => JSON.parse(message) as ErrorReport);
const failWith = (report: ErrorReport): Error => new Error(JSON.stringify(report));

const status = {
  home: '/data',
  documents: 2,
  chunks: 10,
  pages: 4,
  failures: 0,
  searchMode: 'keyword',
  answerMode: 'extractive',
  embeddingModel: null,
  llmModel: null,
  problems: [],
  locale: 'zh-TW',
  transport: 'ipc',
};

const session = (role: SessionInfo['role'], setupMode = false): SessionInfo => ({
  role,
  clearance: role === 'admin' ? 'restricted' : role === 'reviewer' ? 'confidential' : 'internal',
  passphrases: { reviewer: !setupMode, admin: !setupMode },
  setupMode,
});

const citation = (n: number, chunkId: number, docTitle: string) => ({
  n,
  chunkId,
  docId: chunkId,
  docTitle,
  docVersion: 1,
  sourcePath: `/m/${chunkId}.md`,
  page: null,
  headingPath: [],
  snippet: '停電、驗電',
  score: 1,
  supported: true,
  supportScore: 1,
});

/** A stored answer as getConversation returns it. */
function record(
  id: number,
  conversationId: number,
  question: string,
  safetyRules = false,
): Outputs['getConversation'][number] {
  return {
    id,
    conversationId,
    question,
    retrievalQuery: question,
    answer: `答案 ${id} [1]`,
    mode: 'extractive',
    model: null,
    language: 'zh-TW',
    citations: [citation(1, 40 + id, `手冊 ${id}`)],
    context: null,
    safety: {
      topics: safetyRules ? ['electrical'] : [],
      rulesFound: safetyRules,
      ...(safetyRules ? { rules: [citation(1, 99, '高壓電作業安全規定')] } : {}),
    },
    confidence: 0.8,
    needsReview: false,
    timings: {},
    createdAt: '2026-01-01T00:00:00Z',
  } as Outputs['getConversation'][number];
}

const documents: Outputs['listDocuments'] = {
  documents: [
    {
      id: 1,
      sourcePath: '/m/plc.pdf',
      title: 'PLC 手冊',
      type: 'pdf',
      sha256: 'x',
      sizeBytes: 1,
      pages: 2,
      language: 'zh-TW',
      sensitivity: 'internal',
      isSafety: false,
      version: 1,
      status: 'indexed',
      warnings: [],
      tags: {},
      chunkCount: 2,
      origin: { kind: 'local' },
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
      indexedAt: '2026-01-01T00:00:00Z',
    },
  ] as Outputs['listDocuments']['documents'],
  failures: [],
};

beforeEach(() => {
  calls.length = 0;
  for (const k of Object.keys(results)) delete results[k];
  Object.assign(results, {
    status,
    session: session('reader'),
    listConversations: [
      { id: 1, title: '高壓盤斷電', updatedAt: '2026-01-01T00:00:00Z', answers: 1 },
      { id: 2, title: '輸送帶張力', updatedAt: '2026-01-01T00:00:00Z', answers: 1 },
    ],
    getConversation: (input: { id: number }) =>
      input.id === 1 ? [record(11, 1, '高壓盤怎麼斷電？', true)] : [record(12, 2, '輸送帶張力怎麼調？')],
    sendFeedback: { id: 1 },
    listDocuments: documents,
    getSettings: {
      locale: 'zh-TW',
      chunk: { chunkSize: 400, chunkOverlap: 50 },
      search: { topK: 8 },
      answer: { retrievalDepth: 6, confidenceThreshold: 0.4 },
      ocr: { enabled: true, languages: ['eng', 'chi_tra'], dpi: 300 },
    },
    feedbackQueue: [],
    datasetHistory: [],
    auditList: [],
    dropRole: session('reader'),
    setPassphrase: { ok: true },
    openCitation: {
      chunkId: 41,
      docId: 41,
      title: '手冊 11',
      type: 'md',
      sourcePath: '/m/41.md',
      page: null,
      pages: null,
      boxes: [],
      text: '停電、驗電',
      documentText: '前文\n\n停電、驗電\n\n後文',
      highlight: [4, 9],
    },
  });
});
afterEach(cleanup);

async function renderApp(): Promise<void> {
  const { App } = await import('./App');
  render(<App />);
  await screen.findByText('關鍵字搜尋');
}

const header = (): HTMLElement => document.querySelector('header.topbar') as HTMLElement;
const navNames = (): string[] =>
  Array.from(document.querySelectorAll('nav.nav .nav-button')).map((b) => b.textContent ?? '');

describe('issue 15: the desktop UI as its users meet it', () => {
  it('issue 15.1: the role dialog is not rendered inside the white-text top bar', async () => {
    await renderApp();
    fireEvent.click(await within(header()).findByRole('button', { name: '技術人員' }));
    const dialog = await screen.findByRole('dialog', { name: '切換角色' });
    expect(header().contains(dialog)).toBe(false);
    expect(within(dialog).getByLabelText('角色')).toBeTruthy();
    expect(within(dialog).getByLabelText('通行密碼')).toBeTruthy();
  });

  it('issue 15.2: a role the server dropped for inactivity leaves the header, the admin pages and says why', async () => {
    results.session = session('admin');
    await renderApp();
    fireEvent.click(await within(header()).findByRole('button', { name: '稽核紀錄' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'auditList')).toBe(true));
    expect(within(header()).getByRole('button', { name: /管理員/ })).toBeTruthy();

    act(() => emit({ type: 'session', session: session('reader'), reason: 'idle' }));
    await screen.findByText(/因一段時間未操作/);
    expect(within(header()).queryByRole('button', { name: /管理員/ })).toBeNull();
    expect(within(header()).getByRole('button', { name: '技術人員' })).toBeTruthy();
    expect(navNames()).toEqual(['提問', '文件庫', '模型', '設定']);
    // The audit page went with its tab: the Ask page is shown.
    expect(document.querySelector('.ask-layout')).toBeTruthy();
    expect(document.querySelector('nav.nav [aria-current=page]')?.textContent).toBe('提問');
  });

  it('issue 15.3: the pages are also reachable from a compact menu button (used on narrow screens)', async () => {
    results.session = session('admin');
    await renderApp();
    const menu = within(header()).getByRole('button', { name: /選單/ });
    expect(menu.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(menu);
    expect(menu.getAttribute('aria-expanded')).toBe('true');
    const panel = document.querySelector('.menu-panel') as HTMLElement;
    expect(
      within(panel)
        .getAllByRole('button')
        .map((b) => b.textContent),
    ).toEqual(['提問', '文件庫', '模型', '設定', 'USB 匯入', '訓練資料', '稽核紀錄']);
    fireEvent.click(within(panel).getByRole('button', { name: '設定' }));
    expect(document.querySelector('.menu-panel')).toBeNull();
    await screen.findByText('資料目錄');
    expect(menu.textContent).toContain('設定');
    // Escape closes it and gives focus back to the menu button.
    fireEvent.click(menu);
    fireEvent.keyDown(document.querySelector('.menu-panel') as HTMLElement, { key: 'Escape' });
    expect(document.querySelector('.menu-panel')).toBeNull();
    expect(document.activeElement).toBe(menu);
  });

  it('issue 15.4: reopening a conversation from history shows the safety rules shown with its answer', async () => {
    await renderApp();
    fireEvent.click(await screen.findByRole('button', { name: '高壓盤斷電' }));
    const answer = await screen.findByTestId('answer');
    const safety = answer.querySelector('.safety') as HTMLElement;
    expect(safety).toBeTruthy();
    expect(safety.textContent).toContain('安全規定');
    expect(safety.textContent).toContain('高壓電作業安全規定');
  });

  it('issue 15.5: feedback given in one conversation does not carry over to another', async () => {
    await renderApp();
    fireEvent.click(await screen.findByRole('button', { name: '高壓盤斷電' }));
    fireEvent.click(await screen.findByRole('button', { name: /有幫助/ }));
    await screen.findByText('謝謝，已儲存您的回饋。');
    expect(calls.find((c) => c.method === 'sendFeedback')?.input).toEqual({ answerId: 11, rating: 'up' });

    fireEvent.click(screen.getByRole('button', { name: '輸送帶張力' }));
    await screen.findByText('答案 12');
    expect(screen.queryByText('謝謝，已儲存您的回饋。')).toBeNull();
    expect(screen.getByRole('button', { name: /有幫助/ })).toBeTruthy();
    expect(screen.getByRole('button', { name: /沒幫助/ })).toBeTruthy();
  });

  it('issue 15.7: the citation viewer is a modal: focus moves in, Tab cycles inside, Escape returns to the chip', async () => {
    await renderApp();
    fireEvent.click(await screen.findByRole('button', { name: '輸送帶張力' }));
    const chip = await screen.findByRole('button', { name: /手冊 12/ });
    chip.focus();
    fireEvent.click(chip);
    const dialog = await screen.findByRole('dialog');
    await screen.findByTestId('highlight-text');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(dialog.contains(document.activeElement)).toBe(true);

    const buttons = within(dialog).getAllByRole('button');
    const last = buttons.at(-1) as HTMLElement;
    last.focus();
    fireEvent.keyDown(last, { key: 'Tab' });
    expect(document.activeElement).toBe(buttons[0]);
    fireEvent.keyDown(buttons[0] as HTMLElement, { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(last);
    // Focus pushed outside (a click on the page behind) comes back into the dialog.
    act(() => chip.focus());
    expect(dialog.contains(document.activeElement)).toBe(true);

    fireEvent.keyDown(document.activeElement as HTMLElement, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(chip);

    // The Close button returns focus to the chip as well.
    chip.focus();
    fireEvent.click(chip);
    const again = await screen.findByRole('dialog');
    fireEvent.click(within(again).getByRole('button', { name: /關閉/ }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(chip);
  });

  it('issue 15.9: setup mode is announced; the admin passphrase is typed twice, checked and confirmed', async () => {
    results.session = session('admin', true);
    await renderApp();
    const banner = await screen.findByText(/設定模式：尚未設定管理員通行密碼/);
    expect(banner).toBeTruthy();
    expect(within(header()).getByRole('button', { name: '管理員（設定模式）' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: '設定管理員通行密碼' }));
    const dialog = await screen.findByRole('dialog', { name: '設定管理員通行密碼' });
    const first = within(dialog).getByLabelText(/新通行密碼/);
    const second = within(dialog).getByLabelText('再輸入一次通行密碼');
    const save = within(dialog).getByRole('button', { name: '儲存' });

    fireEvent.change(first, { target: { value: 'short' } });
    fireEvent.change(second, { target: { value: 'short' } });
    fireEvent.click(save);
    await within(dialog).findByText('通行密碼至少需要 8 個字元。');
    fireEvent.change(first, { target: { value: 'plant-admin-1' } });
    fireEvent.change(second, { target: { value: 'plant-admin-2' } });
    fireEvent.click(save);
    await within(dialog).findByText('兩次輸入的通行密碼不一致。');
    expect(calls.some((c) => c.method === 'setPassphrase')).toBe(false);

    results.session = session('reader');
    fireEvent.change(second, { target: { value: 'plant-admin-1' } });
    fireEvent.click(save);
    await within(dialog).findByText(/已設定管理員通行密碼/);
    expect(calls.find((c) => c.method === 'setPassphrase')?.input).toEqual({
      role: 'admin',
      passphrase: 'plant-admin-1',
    });
    await waitFor(() => expect(screen.queryByText(/設定模式：/)).toBeNull());
    expect(within(header()).getByRole('button', { name: '技術人員' })).toBeTruthy();
  });

  it('issue 15.9: an administrator sets the reviewer passphrase and changes the admin one in Settings', async () => {
    results.session = { ...session('admin'), passphrases: { reviewer: false, admin: true } };
    await renderApp();
    fireEvent.click(within(header()).getByRole('button', { name: '設定' }));
    const card = await screen.findByRole('region', { name: '通行密碼' });
    expect(within(card).getByTestId('passphrase-reviewer').textContent).toBe('尚未設定');
    expect(within(card).getByTestId('passphrase-admin').textContent).toBe('已設定');

    results.session = session('admin');
    fireEvent.change(within(card).getByLabelText(/新通行密碼/), { target: { value: 'reviewer-pass' } });
    fireEvent.change(within(card).getByLabelText('再輸入一次通行密碼'), { target: { value: 'reviewer-pass' } });
    fireEvent.click(within(card).getByRole('button', { name: '儲存通行密碼' }));
    await within(card).findByText(/已儲存新的通行密碼：\s*審核人員/);
    await waitFor(() => expect(within(card).getByTestId('passphrase-reviewer').textContent).toBe('已設定'));

    fireEvent.change(within(card).getByLabelText('角色'), { target: { value: 'admin' } });
    fireEvent.change(within(card).getByLabelText(/新通行密碼/), { target: { value: 'new-admin-pass' } });
    fireEvent.change(within(card).getByLabelText('再輸入一次通行密碼'), { target: { value: 'new-admin-pass' } });
    fireEvent.click(within(card).getByRole('button', { name: '儲存通行密碼' }));
    await within(card).findByText(/已儲存新的通行密碼：\s*管理員/);
    expect(calls.filter((c) => c.method === 'setPassphrase').map((c) => c.input)).toEqual([
      { role: 'reviewer', passphrase: 'reviewer-pass' },
      { role: 'admin', passphrase: 'new-admin-pass' },
    ]);
  });

  it('issue 15.10: errors show the file name, message and hint, never the technical detail', async () => {
    results.session = session('reviewer');
    results.listDocuments = failWith({
      code: 'WRONG_EXTENSION',
      message: '檔案內容與副檔名不符',
      hint: '檔案可能被改過副檔名，請使用原始檔案。',
      file: '/home/tech/.fieldbook/staging/3f2a/library/manual.pdf',
      detail: 'no %PDF header',
    });
    await renderApp();
    fireEvent.click(within(header()).getByRole('button', { name: '文件庫' }));
    const error = await screen.findByText(/檔案內容與副檔名不符/);
    expect(error.textContent).toBe('manual.pdf: 檔案內容與副檔名不符 — 檔案可能被改過副檔名，請使用原始檔案。');
    expect(document.body.textContent).not.toMatch(/%PDF|staging|\.fieldbook/);
  });

  it('issue 15.10: a role error comes out in the zh-TW words of its error code, without the developer text', async () => {
    results.session = session('admin');
    results.auditList = failWith({
      code: 'ACCESS_DENIED',
      message: '您的角色無權執行此操作',
      hint: '請洽審核人員或管理員，或以其通行密碼切換角色。',
      detail: 'Reading the audit log needs the reviewer role (current: reader)',
    });
    await renderApp();
    fireEvent.click(within(header()).getByRole('button', { name: '稽核紀錄' }));
    const error = await screen.findByText(/您的角色無權執行此操作/);
    expect(error.textContent).not.toMatch(/needs the|current:|reader/);
  });

  it('issue 15.10: a wrong passphrase is called a wrong passphrase (not a role refusal)', async () => {
    results.elevate = failWith({
      code: 'PASSPHRASE_WRONG',
      message: '通行密碼錯誤，或此角色尚未設定通行密碼',
      hint: '請確認通行密碼（及大寫鎖定）後再試一次。連續錯誤 5 次後需等待一段時間。',
      detail: 'wrong passphrase, or no passphrase set for this role',
    });
    await renderApp();
    fireEvent.click(await within(header()).findByRole('button', { name: '技術人員' }));
    const dialog = await screen.findByRole('dialog', { name: '切換角色' });
    fireEvent.change(within(dialog).getByLabelText('通行密碼'), { target: { value: 'wrong-guess' } });
    fireEvent.click(within(dialog).getByRole('button', { name: '切換角色' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toBe(
      '通行密碼錯誤，或此角色尚未設定通行密碼 — 請確認通行密碼（及大寫鎖定）後再試一次。連續錯誤 5 次後需等待一段時間。',
    );
  });

  it('issue 15.11: a technician sees no add/edit/re-index/remove buttons and no Save in Settings', async () => {
    await renderApp();
    fireEvent.click(within(header()).getByRole('button', { name: '文件庫' }));
    await screen.findByText('PLC 手冊');
    for (const name of [/加入檔案或資料夾/, '編輯', '重新索引', '移除'])
      expect(screen.queryByRole('button', { name })).toBeNull();
    expect(screen.getByText(/需要審核人員角色/)).toBeTruthy();

    fireEvent.click(within(header()).getByRole('button', { name: '設定' }));
    await screen.findByText('資料目錄');
    expect(screen.queryByRole('button', { name: '儲存' })).toBeNull();
    expect(screen.getByText(/只有管理員可以變更這些設定/)).toBeTruthy();
    // The admin-only fields sit in a disabled fieldset (the browser disables every control in it).
    expect((screen.getByLabelText(/段落大小/).closest('fieldset') as HTMLFieldSetElement).disabled).toBe(true);
    // The language stays the technician's choice, saved at once.
    fireEvent.change(screen.getByLabelText('語言'), { target: { value: 'en' } });
    await waitFor(() => expect(calls.find((c) => c.method === 'updateSettings')?.input).toEqual({ locale: 'en' }));
  });

  it('issue 15.11: a reviewer sees the feedback queue but not the export form; a reviewer has the library controls', async () => {
    results.session = session('reviewer');
    await renderApp();
    fireEvent.click(within(header()).getByRole('button', { name: '訓練資料' }));
    await screen.findByText(/只有管理員可以匯出訓練資料/);
    expect(screen.queryByRole('button', { name: '匯出' })).toBeNull();
    expect(screen.queryByLabelText(/資料夾（例如 USB 隨身碟）/)).toBeNull();
    expect(screen.getByText(/被標為「沒幫助」的回答/)).toBeTruthy();

    fireEvent.click(within(header()).getByRole('button', { name: '文件庫' }));
    await screen.findByText('PLC 手冊');
    expect(screen.getByRole('button', { name: /加入檔案或資料夾/ })).toBeTruthy();
    expect(screen.getByRole('button', { name: '移除' })).toBeTruthy();
  });

  it('issue 15.11: after going back to technician the Datasets page leaves with its tab', async () => {
    results.session = session('admin');
    await renderApp();
    fireEvent.click(within(header()).getByRole('button', { name: '訓練資料' }));
    await screen.findByText('匯出訓練資料集');
    fireEvent.click(within(header()).getByRole('button', { name: /角色: 管理員/ }));
    fireEvent.click(screen.getByRole('button', { name: '回到技術人員' }));
    await waitFor(() => expect(navNames()).toEqual(['提問', '文件庫', '模型', '設定']));
    expect(screen.queryByText('匯出訓練資料集')).toBeNull();
    expect(document.querySelector('.ask-layout')).toBeTruthy();
    expect(within(header()).getByRole('button', { name: '技術人員' })).toBeTruthy();
  });
});
