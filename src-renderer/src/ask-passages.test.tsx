// @vitest-environment happy-dom
/**
 * Issue 13.6: the Ask page shows the retrieved passages (numbered chips) as soon as the
 * `answer-passages` event arrives, before and while the answer streams.
 */
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { installFakeBridge } from './test-support/fake-bridge';

const { results, emit } = installFakeBridge((message) => ({ code: 'INVALID_INPUT', message, hint: '' }));

const passage = {
  n: 1,
  chunkId: 42,
  docId: 1,
  docTitle: 'PLC 故障復位程序',
  docVersion: 1,
  sourcePath: '/m/plc.pdf',
  sensitivity: 'public',
  page: 2,
  headingPath: ['3. 復位步驟'],
  snippet: '按復位鍵',
  score: 0.1,
  supported: true,
  supportScore: 0,
};

afterEach(cleanup);

describe('issue 13.6: passages before the generated answer', () => {
  it('shows the passage chips while the answer is still being generated', async () => {
    let finish: (v: unknown) => void = () => undefined;
    Object.assign(results, {
      status: {
        home: '/data',
        documents: 1,
        chunks: 1,
        pages: 1,
        failures: 0,
        searchMode: 'keyword',
        answerMode: 'generative',
        embeddingModel: null,
        llmModel: 'model.gguf',
        problems: [],
        locale: 'en',
        transport: 'ipc',
      },
      listConversations: [],
      ask: () => new Promise((resolve) => (finish = resolve)),
    });
    const { App } = await import('./App');
    render(<App />);
    const box = await screen.findByRole('textbox', { name: /ask/i });
    fireEvent.change(box, { target: { value: 'How do I reset E-203?' } });
    const submit = document.querySelector('form.ask-box button[type=submit]');
    if (!submit) throw new Error('no submit button');
    fireEvent.click(submit);
    await screen.findByRole('progressbar');
    expect(screen.queryByTestId('passages')).toBeNull();
    emit({ type: 'answer-passages', requestId: 'x', passages: [passage] } as never);
    const chips = await screen.findByTestId('passages');
    expect(chips.textContent).toContain('[1]');
    expect(chips.textContent).toContain('PLC 故障復位程序');
    emit({ type: 'answer-token', requestId: 'x', text: 'Stop the machine' });
    await screen.findByText(/Stop the machine/);
    // Still generating: the passages stay shown beside the streamed text.
    expect(screen.getByTestId('passages')).toBeTruthy();
    finish(undefined);
  });
});
