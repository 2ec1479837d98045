// @vitest-environment happy-dom
/**
 * Issue 15.6 and 15.8 in the renderer, against the fake IPC bridge: the reviewer queue shows a
 * technician's suggested correction with accept / edit / reject (zh-TW and English); the USB review
 * shows a document already in the library as such — where it is and where it came from — with
 * "take over" / "keep existing", never as "new"; the library says where each document came from.
 */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outputs, SessionInfo } from '../../src-preload/contract';
import { I18nContext, MESSAGES, type Messages } from './i18n';
import { SessionContext } from './session';
import { installFakeBridge } from './test-support/fake-bridge';

const { calls, results } = installFakeBridge((message) => ({ code: 'ACCESS_DENIED', message, hint: '' }));

const reviewer: SessionInfo = {
  role: 'reviewer',
  clearance: 'confidential',
  passphrases: { reviewer: true, admin: true },
  setupMode: false,
};

function inApp(ui: ReactNode, locale: 'zh-TW' | 'en' = 'zh-TW') {
  return render(
    <I18nContext.Provider value={MESSAGES[locale]}>
      <SessionContext.Provider value={reviewer}>{ui}</SessionContext.Provider>
    </I18nContext.Provider>,
  );
}

const suggestion: Outputs['feedbackQueue'][number] = {
  kind: 'correction',
  feedbackId: 7,
  answerId: 3,
  question: '閥 V-7 怎麼關？',
  answer: '依手冊操作 [1]',
  comment: null,
  correction: '十秒內緩慢關閉 V-7，然後上鎖。',
  author: 'tech-lin',
  ratedAt: '2026-01-01T00:00:00Z',
};
const thumbsDown: Outputs['feedbackQueue'][number] = {
  kind: 'thumbs-down',
  feedbackId: 8,
  answerId: 4,
  question: '幫浦 P-2 怎麼排氣？',
  answer: '不知道',
  comment: '沒回答到',
  correction: null,
  author: 'tech-chen',
  ratedAt: '2026-01-02T00:00:00Z',
};

beforeEach(() => {
  calls.length = 0;
  for (const k of Object.keys(results)) delete results[k];
});
afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const callsOf = (method: string): unknown[] => calls.filter((c) => c.method === method).map((c) => c.input);

describe('reviewer queue: suggested corrections (issue 15.6)', () => {
  const queueResults = (): void => {
    let reviewed = false;
    results.feedbackQueue = () => (reviewed ? [thumbsDown] : [suggestion, thumbsDown]);
    results.reviewCorrection = (input: { decision: 'accept' | 'edit' | 'reject' }) => {
      reviewed = true;
      const status = { accept: 'accepted', edit: 'edited', reject: 'rejected' }[input.decision];
      return { feedbackId: 7, status, reviewedBy: 'reviewer-wang' };
    };
  };

  it('zh-TW: shows the suggestion apart from the "not helpful" answers; accepting it says it enters training data', async () => {
    queueResults();
    const { ReviewQueue } = await import('./pages/DatasetsPage');
    inApp(<ReviewQueue />);
    const card = await screen.findByRole('article', { name: `建議的答案: ${suggestion.question}` });
    expect(within(card).getByText('十秒內緩慢關閉 V-7，然後上鎖。')).toBeTruthy();
    expect(within(card).getByText('建議的答案 (提供者 tech-lin):')).toBeTruthy();
    expect(within(card).getByText('原本的回答: 依手冊操作 [1]')).toBeTruthy();
    // The thumbs-down answer is in its own section, without accept/reject.
    const notHelpful = screen.getByText(thumbsDown.question).closest('.turn') as HTMLElement;
    expect(within(notHelpful).queryByRole('button', { name: '照原文接受' })).toBeNull();
    expect(screen.getAllByRole('button', { name: '照原文接受' })).toHaveLength(1);

    fireEvent.click(within(card).getByRole('button', { name: '照原文接受' }));
    expect((await screen.findByRole('status')).textContent).toBe(MESSAGES['zh-TW'].reviewDone_accepted);
    expect(callsOf('reviewCorrection')).toEqual([{ feedbackId: 7, decision: 'accept' }]);
    await waitFor(() => expect(screen.queryByRole('article')).toBeNull());
    expect(screen.getByText(MESSAGES['zh-TW'].reviewCorrectionsEmpty)).toBeTruthy();
  });

  it("edit: the reviewer's text (starting from the suggestion) is what is sent", async () => {
    queueResults();
    const { ReviewQueue } = await import('./pages/DatasetsPage');
    inApp(<ReviewQueue />);
    const card = await screen.findByRole('article');
    fireEvent.click(within(card).getByRole('button', { name: '修改後接受' }));
    const box = within(card).getByLabelText('正確答案（您的修改）') as HTMLTextAreaElement;
    expect(box.value).toBe(suggestion.correction);
    fireEvent.change(box, { target: { value: '  緩慢關閉 V-7，上鎖掛牌後再作業。 ' } });
    fireEvent.click(within(card).getByRole('button', { name: '以我的修改接受' }));
    expect((await screen.findByRole('status')).textContent).toBe(MESSAGES['zh-TW'].reviewDone_edited);
    expect(callsOf('reviewCorrection')).toEqual([
      { feedbackId: 7, decision: 'edit', correction: '緩慢關閉 V-7，上鎖掛牌後再作業。' },
    ]);
  });

  it('reject asks first in an in-app dialog: cancelled, nothing is sent; confirmed, it is rejected', async () => {
    queueResults();
    const { ReviewQueue } = await import('./pages/DatasetsPage');
    inApp(<ReviewQueue />);
    const card = await screen.findByRole('article');
    fireEvent.click(within(card).getByRole('button', { name: '退回' }));
    const dialog = screen.getByRole('dialog', { name: MESSAGES['zh-TW'].reviewRejectConfirm });
    fireEvent.click(within(dialog).getByRole('button', { name: MESSAGES['zh-TW'].kbCancel }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(callsOf('reviewCorrection')).toEqual([]);
    fireEvent.click(within(card).getByRole('button', { name: '退回' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: '退回' }));
    expect((await screen.findByRole('status')).textContent).toBe(MESSAGES['zh-TW'].reviewDone_rejected);
    expect(callsOf('reviewCorrection')).toEqual([{ feedbackId: 7, decision: 'reject' }]);
  });

  it('English: the same queue in English words', async () => {
    queueResults();
    const { ReviewQueue } = await import('./pages/DatasetsPage');
    inApp(<ReviewQueue />, 'en');
    const card = await screen.findByRole('article', { name: `Suggested answer: ${suggestion.question}` });
    expect(screen.getByRole('heading', { name: 'Suggested corrections waiting for review' })).toBeTruthy();
    for (const name of ['Accept as written', 'Edit, then accept', 'Reject'])
      expect(within(card).getByRole('button', { name })).toBeTruthy();
  });

  it('every string of the queue exists in both languages', () => {
    const keys = Object.keys(MESSAGES.en).filter((k) =>
      /^review|^usb(SameAs|Duplicate|TakeOver|KeepExisting)|^origin/.test(k),
    );
    expect(keys.length).toBeGreaterThan(20);
    for (const k of keys) {
      const zh = MESSAGES['zh-TW'][k as keyof Messages];
      expect(typeof zh === 'string' && zh.length > 0 && zh !== MESSAGES.en[k as keyof Messages], k).toBe(true);
    }
  });
});

describe('USB review and library: documents already in the library (issue 15.8)', () => {
  const origin = {
    kind: 'bundle' as const,
    kb: '0f8e2a4c-1111-4222-8333-944455556666',
    bundleId: 'b1',
    version: 3,
    signer: 'master workstation',
    appliedAt: '2026-01-01T00:00:00Z',
  };

  it('a duplicate shows where the document already is and where it came from, with take over / keep existing', async () => {
    const staged: Outputs['bundleStage'] = {
      bundleId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      info: {
        bundleId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
        sourceKb: origin.kb,
        version: 4,
        baseVersion: 0,
        signer: 'master workstation',
        createdAt: '2026-01-01T00:00:00Z',
        carriesIndex: false,
        embeddingModel: null,
      },
      alreadyApplied: false,
      items: [
        {
          key: 'pump.pdf',
          kind: 'duplicate',
          title: 'Pump manual',
          sizeBefore: 10,
          sizeAfter: 10,
          sensitivity: 'internal',
          decision: 'pending',
          sameAs: { path: '/plant/manuals/pump.pdf', origin: { kind: 'local' } },
        },
        {
          key: 'valve.pdf',
          kind: 'new',
          title: 'Valve manual',
          sizeBefore: null,
          sizeAfter: 5,
          sensitivity: 'internal',
          decision: 'pending',
        },
      ],
    };
    Object.assign(results, {
      bundleScan: { bundles: [] },
      bundleHistory: [],
      bundleKeys: [],
      bundleSnapshots: { current: 0, snapshots: [] },
      bundleStage: staged,
      bundleDecide: { changed: 1 },
      bundleReview: staged.items.map((i) => (i.key === 'pump.pdf' ? { ...i, decision: 'approved' } : i)),
    });
    const { UsbImportPage } = await import('./pages/UsbImportPage');
    inApp(<UsbImportPage onChanged={() => undefined} />);
    fireEvent.change(screen.getByLabelText(MESSAGES['zh-TW'].usbManual), { target: { value: '/media/usb/b' } });
    fireEvent.click(screen.getByRole('button', { name: MESSAGES['zh-TW'].usbVerify }));
    const row = (await screen.findByText('Pump manual')).closest('tr') as HTMLElement;
    expect(within(row).getByText('已在知識庫中')).toBeTruthy();
    expect(within(row).queryByText('新增')).toBeNull();
    expect(within(row).getByTestId('same-as').textContent).toContain(
      '已在知識庫中，來源： /plant/manuals/pump.pdf (本機檔案)',
    );
    // The other document is still new.
    const other = screen.getByText('Valve manual').closest('tr') as HTMLElement;
    expect(within(other).getByText('新增')).toBeTruthy();
    fireEvent.click(within(row).getByRole('button', { name: '由更新包接管' }));
    await waitFor(() => expect(within(row).getByText('由更新包接管', { selector: 'td' })).toBeTruthy());
    expect(callsOf('bundleDecide')).toEqual([{ bundleId: staged.bundleId, keys: ['pump.pdf'], decision: 'approved' }]);
    fireEvent.click(within(row).getByRole('button', { name: '保留現有' }));
    await waitFor(() => expect(callsOf('bundleDecide')).toHaveLength(2));
    expect(callsOf('bundleDecide')[1]).toMatchObject({ keys: ['pump.pdf'], decision: 'rejected' });
  });

  it('the library shows each document as a local file or from which bundle and knowledge base', async () => {
    const doc = (id: number, title: string, o: Outputs['listDocuments']['documents'][number]['origin']) => ({
      id,
      sourcePath: `/m/${id}.pdf`,
      title,
      type: 'pdf' as const,
      sha256: 'x',
      sizeBytes: 1,
      pages: 1,
      language: 'en',
      sensitivity: 'internal' as const,
      isSafety: false,
      version: 1,
      status: 'indexed',
      warnings: [],
      tags: {},
      chunkCount: 1,
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
      indexedAt: '2026-01-01T00:00:00Z',
      origin: o,
    });
    results.listDocuments = {
      documents: [doc(1, 'Local manual', { kind: 'local' }), doc(2, 'Bundle manual', origin)],
      failures: [],
    } satisfies Outputs['listDocuments'];
    const { LibraryPage } = await import('./pages/LibraryPage');
    inApp(<LibraryPage onChanged={() => undefined} />);
    const local = (await screen.findByText('Local manual')).closest('tr') as HTMLElement;
    expect(within(local).getByText('本機檔案')).toBeTruthy();
    const fromBundle = screen.getByText('Bundle manual').closest('tr') as HTMLElement;
    const cell = within(fromBundle).getByTitle(`知識庫 ${origin.kb}`);
    expect(cell.textContent).toBe('USB 更新包 · v3 · master workstation · 知識庫 0f8e2a4c');
    expect(screen.getByRole('columnheader', { name: '來源' })).toBeTruthy();
  });
});
