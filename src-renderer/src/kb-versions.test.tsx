// @vitest-environment happy-dom
/**
 * USB Import → knowledge-base versions against a fake IPC bridge: an administrator restores a
 * version after a confirmation that says what will be undone; a reviewer cannot; errors are
 * shown in plain words.
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outputs } from '../../src-preload/contract';
import { installFakeBridge } from './test-support/fake-bridge';

const { calls, results } = installFakeBridge((message) => ({
  code: 'ROLLBACK_BUSY',
  message,
  hint: 'Wait until it has finished.',
}));

const snapshots: Outputs['bundleSnapshots'] = {
  current: 2,
  snapshots: [
    {
      version: 1,
      sizeBytes: 4_000_000,
      takenAt: '2026-05-01T08:00:00Z',
      documents: 3,
      undoes: [
        {
          bundleId: '2b0c3c1e-0000-4000-8000-000000000002',
          sourceKb: 'kb',
          version: 7,
          signer: 'Master workstation',
          appliedAt: '2026-05-02T08:00:00Z',
          documents: 4,
        },
      ],
      changes: { remove: 2, restore: 1 },
      problem: null,
    },
  ],
};

const rolledBack: Outputs['bundleRollback'] = {
  from: 2,
  version: 1,
  at: '2026-05-03T08:00:00Z',
  undone: snapshots.snapshots[0]?.undoes ?? [],
  documents: { removed: 2, restored: 1, unchanged: 2 },
  vectorSpaceChanged: false,
  chunksEmbedded: 0,
  chunksToEmbed: 0,
  modelApprovalsReverted: 0,
  files: { restored: 1, missing: [] },
  modelFiles: { restored: 0, missing: [] },
  snapshotsRemoved: [],
};

const session = (role: 'reviewer' | 'admin'): Outputs['session'] => ({
  role,
  clearance: role === 'admin' ? 'restricted' : 'confidential',
  passphrases: { reviewer: true, admin: true },
  setupMode: false,
});

async function renderVersions(onRestored = vi.fn()) {
  const { KbVersions } = await import('./components/KbVersions');
  const { I18nContext, MESSAGES } = await import('./i18n');
  const { SessionContext } = await import('./session');
  render(
    <I18nContext.Provider value={MESSAGES.en}>
      <SessionContext.Provider value={results.session as Outputs['session']}>
        <KbVersions onRestored={onRestored} />
      </SessionContext.Provider>
    </I18nContext.Provider>,
  );
  return onRestored;
}

beforeEach(() => {
  calls.length = 0;
  Object.assign(results, { bundleSnapshots: snapshots, session: session('admin'), bundleRollback: rolledBack });
});
afterEach(cleanup);

describe('knowledge-base versions', () => {
  it('restores a version after a confirmation that names the undone update and the document counts', async () => {
    const onRestored = await renderVersions();
    const button = await screen.findByRole('button', { name: 'Restore this version (v1)' });
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    expect(screen.getByText(/Current version/).textContent).toContain('v2');
    fireEvent.click(button);
    const dialog = screen.getByRole('alertdialog', { name: /Restore the knowledge base to version v1/ });
    expect(dialog.textContent).toContain('Master workstation');
    expect(dialog.textContent).toMatch(/Documents taken out:\s*2/);
    expect(dialog.textContent).toMatch(/put back as they were:\s*1/);
    expect(dialog.textContent).toContain('Conversations, feedback');
    expect(calls.some((c) => c.method === 'bundleRollback')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Yes, restore' }));
    await screen.findByText(/Restored: the knowledge base is now v1/);
    expect(calls.find((c) => c.method === 'bundleRollback')?.input).toEqual({ to: 1 });
    expect(onRestored).toHaveBeenCalled();
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });

  it('cancelling changes nothing', async () => {
    await renderVersions();
    const button = await screen.findByRole('button', { name: 'Restore this version (v1)' });
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(button);
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(calls.some((c) => c.method === 'bundleRollback')).toBe(false);
  });

  it('a reviewer sees the versions but cannot restore', async () => {
    results.session = session('reviewer');
    await renderVersions();
    await screen.findByText('Only an administrator can restore a version.');
    const button = screen.getByRole('button', { name: 'Restore this version (v1)' });
    expect((button as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows a failed restore in plain words', async () => {
    results.bundleRollback = new Error('An import or update is running');
    await renderVersions();
    const button = await screen.findByRole('button', { name: 'Restore this version (v1)' });
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(button);
    fireEvent.click(screen.getByRole('button', { name: 'Yes, restore' }));
    await screen.findByText(/An import or update is running — Wait until it has finished\./);
    expect(screen.getByRole('alertdialog')).toBeTruthy();
  });
});
