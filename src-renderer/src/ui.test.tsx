// @vitest-environment happy-dom
/**
 * React components against a fake IPC bridge (the same window.fieldbookIpc the preload
 * provides): the answer shows mode, review banner, clickable citations and safety rules;
 * feedback goes through the contract; failures show plain words; the language switches.
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installFakeBridge } from './test-support/fake-bridge';

const { bridge, calls, results, emit } = installFakeBridge((message) => ({
  code: 'PDF_ENCRYPTED',
  message,
  hint: 'Ask the owner.',
  file: 'manual.pdf',
}));

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

const answer = {
  id: 7,
  conversationId: 3,
  question: 'E-203 怎麼復位？',
  retrievalQuery: 'E-203 怎麼復位？',
  answer: '先停機，再按復位鍵 [1]。',
  mode: 'generative',
  model: 'tiny.gguf',
  language: 'zh-TW',
  citations: [
    {
      n: 1,
      chunkId: 42,
      docId: 1,
      docTitle: 'PLC 故障復位程序',
      docVersion: 1,
      sourcePath: '/m/plc.pdf',
      page: 2,
      headingPath: ['3. 復位步驟'],
      snippet: '按復位鍵',
      score: 0.1,
      supported: false,
      supportScore: 0.2,
    },
  ],
  safety: { topics: ['electrical'], rulesFound: true },
  confidence: 0.45,
  needsReview: true,
  timings: {},
  createdAt: '2026-01-01T00:00:00Z',
  invalidCitations: [],
  safetyRules: [
    {
      n: 1,
      chunkId: 99,
      docId: 2,
      docTitle: '高壓電作業安全規定',
      docVersion: 1,
      sourcePath: '/m/s.docx',
      page: null,
      headingPath: [],
      snippet: '停電、驗電',
      score: 1,
      supported: true,
      supportScore: 1,
    },
  ],
  notice: null,
  stopReason: 'eos',
};

beforeEach(() => {
  calls.length = 0;
  Object.assign(results, {
    status,
    listConversations: [],
    ask: () => {
      emit({ type: 'answer-token', requestId: 'x', text: '先停機' });
      return answer;
    },
    sendFeedback: { id: 1 },
    openCitation: {
      chunkId: 99,
      docId: 2,
      title: '高壓電作業安全規定',
      type: 'docx',
      sourcePath: '/m/s.docx',
      page: null,
      pages: null,
      boxes: [],

      text: '停電、驗電',
      documentText: '前文\n\n停電、驗電\n\n後文',
      highlight: [4, 9],
    },
    updateSettings: { locale: 'en' },
    listDocuments: new Error('PDF 受密碼保護'),
  });
});
afterEach(cleanup);

describe('renderer', () => {
  it('asks, shows mode, review banner, citations (unsupported flagged) and safety rules, and sends feedback', async () => {
    const { App } = await import('./App');
    render(<App />);
    await screen.findByText('關鍵字搜尋');
    fireEvent.change(screen.getByRole('textbox', { name: /詢問機台/ }), { target: { value: 'E-203 怎麼復位？' } });
    const submit = document.querySelector('form.ask-box button[type=submit]');
    if (!submit) throw new Error('no submit button');
    fireEvent.click(submit);
    await screen.findByTestId('answer');
    expect(calls.find((c) => c.method === 'ask')?.input).toMatchObject({ question: 'E-203 怎麼復位？' });
    expect(screen.getByText('AI 回答')).toBeTruthy();
    expect(screen.getByText(/需人工確認/)).toBeTruthy();
    expect(screen.getByText(/出處未支持此句/)).toBeTruthy();
    expect(screen.getByRole('button', { name: '[1]' })).toBeTruthy();
    expect(screen.getByText(/高壓電作業安全規定/)).toBeTruthy();

    fireEvent.click(screen.getByText(/高壓電作業安全規定/));
    await screen.findByTestId('highlight-text');
    expect(screen.getByTestId('highlight-text').textContent).toBe('停電、驗電');
    fireEvent.click(screen.getByRole('button', { name: /關閉/ }));

    fireEvent.click(screen.getByRole('button', { name: /沒幫助/ }));
    fireEvent.change(screen.getByRole('textbox', { name: /正確答案/ }), { target: { value: '先上鎖掛牌' } });
    fireEvent.click(screen.getByRole('button', { name: '送出' }));
    await screen.findByText(/已儲存您的回饋/);
    expect(calls.find((c) => c.method === 'sendFeedback')?.input).toEqual({
      answerId: 7,
      rating: 'down',
      correction: '先上鎖掛牌',
    });
  });

  it('shows errors in plain words with the file name and the hint', async () => {
    const { App } = await import('./App');
    render(<App />);
    await screen.findByText('關鍵字搜尋');
    fireEvent.click(screen.getByRole('button', { name: '文件庫' }));
    await waitFor(() => expect(screen.getByText(/manual\.pdf: PDF 受密碼保護 — Ask the owner\./)).toBeTruthy());
  });

  it('adds files dropped on the library through the desktop bridge', async () => {
    bridge.pathsForFiles = (files: File[]) => files.map((f) => `/media/usb/${f.name}`);
    // Adding documents is a reviewer's job (a technician does not see the controls).
    results.session = {
      role: 'reviewer',
      clearance: 'confidential',
      passphrases: { reviewer: true, admin: true },
      setupMode: false,
    };
    results.listDocuments = { documents: [], failures: [] };
    results.ingest = {
      jobId: 1,
      files: [],
      removed: [],
      counts: { added: 1, updated: 0, unchanged: 0, failed: 0, removed: 0 },
    };
    const { App } = await import('./App');
    render(<App />);
    await screen.findByText('關鍵字搜尋');
    fireEvent.click(screen.getByRole('button', { name: '文件庫' }));
    const library = await waitFor(() => {
      const el = document.querySelector('.library');
      if (!el) throw new Error('library not shown');
      return el;
    });
    fireEvent.drop(library, { dataTransfer: { files: [new File(['%PDF-1.7'], 'manual.pdf')] } });
    await waitFor(() =>
      expect(calls.find((c) => c.method === 'ingest')?.input).toEqual({ paths: ['/media/usb/manual.pdf'] }),
    );
    delete bridge.pathsForFiles;
    delete results.session;
  });

  it('opens an image citation on the cited page with the passage boxed at the page scale', async () => {
    results.openCitation = {
      chunkId: 5,
      docId: 9,
      title: 'Coolant scan',
      type: 'image',
      sourcePath: '/m/coolant.tif',
      page: 2,
      pages: 2,
      boxes: [{ page: 2, x: 100, y: 200, w: 600, h: 40 }],
      text: 'Replace the shaft seal.',
      documentText: null,
      highlight: null,
    };
    results.getDocumentFile = {
      type: 'image',
      mime: 'image/png',
      base64: 'iVBORw0KGgo=',
      pageSize: { w: 1800, h: 900 },
    };
    const { App } = await import('./App');
    render(<App />);
    await screen.findByText('關鍵字搜尋');
    fireEvent.change(screen.getByRole('textbox', { name: /詢問機台/ }), { target: { value: 'seal?' } });
    const submit = document.querySelector('form.ask-box button[type=submit]');
    if (!submit) throw new Error('no submit button');
    fireEvent.click(submit);
    await screen.findByTestId('answer');
    fireEvent.click(screen.getByText(/PLC 故障復位程序/));
    const image = (await screen.findByTestId('viewer-image')) as HTMLImageElement;
    expect(calls.find((c) => c.method === 'getDocumentFile')?.input).toEqual({ docId: 9, page: 2 });
    expect(image.getAttribute('src')).toBe('data:image/png;base64,iVBORw0KGgo=');
    // Fitted to 900 px wide: scale 0.5, so the box sits at (50, 100), 300 × 20, plus its 4-px margin.
    expect(image.getAttribute('width')).toBe('900');
    const box = screen.getByTestId('highlight-box');
    expect([box.style.left, box.style.top, box.style.width, box.style.height]).toEqual([
      '46px',
      '96px',
      '308px',
      '28px',
    ]);
    expect(screen.getByTestId('viewer-page').textContent).toMatch(/2 \/ 2/);
  });

  it('labels document types in the library (images as read by OCR)', async () => {
    results.listDocuments = {
      documents: [
        {
          id: 1,
          sourcePath: '/m/coolant.tif',
          title: 'Coolant scan',
          type: 'image',
          sha256: 'x',
          sizeBytes: 1,
          pages: 2,
          language: 'en',
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
      ],
      failures: [],
    };
    const { App } = await import('./App');
    render(<App />);
    await screen.findByText('關鍵字搜尋');
    fireEvent.click(screen.getByRole('button', { name: '文件庫' }));
    await screen.findByText('圖片（OCR）');
    fireEvent.change(screen.getByRole('textbox', { name: /搜尋清單/ }), { target: { value: '圖片' } });
    expect(screen.getByText('Coolant scan')).toBeTruthy();
  });

  it('switches the interface to English and saves the choice', async () => {
    const { App } = await import('./App');
    render(<App />);
    await screen.findByText('關鍵字搜尋');
    fireEvent.click(screen.getByRole('button', { name: 'English' }));
    await screen.findByText('Keyword search');
    expect(screen.getByRole('button', { name: 'Library' })).toBeTruthy();
    expect(calls.find((c) => c.method === 'updateSettings')?.input).toEqual({ locale: 'en' });
    vi.clearAllMocks();
  });
});
