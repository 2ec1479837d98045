/** USB Import: find bundles on removable drives, verify and stage them, review each change, apply, history. */
import { useCallback, useEffect, useState } from 'react';
import type { Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';

type Item = Outputs['bundleReview'][number];

export function UsbImportPage({ onChanged }: { onChanged: () => void }) {
  const t = useT();
  const [bundles, setBundles] = useState<string[]>([]);
  const [manual, setManual] = useState('');
  const [staged, setStaged] = useState<{ bundleId: string; alreadyApplied: boolean } | null>(null);
  const [items, setItems] = useState<Item[]>([]);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [history, setHistory] = useState<Outputs['bundleHistory']>([]);

  const refresh = useCallback(() => {
    api.bundleScan({}).then(
      (r) => setBundles(r.bundles),
      (err: unknown) => setError(errorText(err)),
    );
    api.bundleHistory({}).then(setHistory, () => undefined);
  }, []);
  useEffect(() => {
    refresh();
  }, [refresh]);

  const run = async (label: string, fn: () => Promise<void>): Promise<void> => {
    setBusy(label);
    setError(null);
    setMessage(null);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  };
  const stage = (dir: string): Promise<void> =>
    run(t.usbVerifying, async () => {
      const r = await api.bundleStage({ dir });
      setStaged({ bundleId: r.bundleId, alreadyApplied: r.alreadyApplied });
      setItems(r.items);
      if (r.alreadyApplied) setMessage(t.usbAlreadyApplied);
    });
  const decideOn = (keys: string[] | 'all', decision: 'approved' | 'rejected'): Promise<void> =>
    run(t.working, async () => {
      if (!staged) return;
      await api.bundleDecide({ bundleId: staged.bundleId, keys, decision, ...(comment ? { comment } : {}) });
      setItems(await api.bundleReview({ bundleId: staged.bundleId }));
    });
  const apply = (): Promise<void> =>
    run(t.usbApplying, async () => {
      if (!staged) return;
      const r = await api.bundleApply({ bundleId: staged.bundleId });
      setMessage(`${t.usbApplied} v${r.version}: +${r.applied} −${r.removed}`);
      setStaged(null);
      setItems([]);
      refresh();
      onChanged();
    });

  const pending = items.some((i) => i.decision === 'pending');
  return (
    <div className="usb">
      <section className="card">
        <h2>{t.usbFound}</h2>
        {bundles.length === 0 && <p className="muted">{t.usbNone}</p>}
        <ul className="model-list">
          {bundles.map((b) => (
            <li key={b}>
              <span className="path">{b}</span>
              <button className="big-button primary" disabled={busy !== null} onClick={() => void stage(b)}>
                {t.usbVerify}
              </button>
            </li>
          ))}
        </ul>
        <form
          className="goto"
          onSubmit={(e) => {
            e.preventDefault();
            if (manual.trim()) void stage(manual.trim());
          }}
        >
          <input
            aria-label={t.usbManual}
            placeholder={t.usbManual}
            value={manual}
            onChange={(e) => setManual(e.target.value)}
          />
          <button className="big-button" type="submit" disabled={busy !== null}>
            {t.usbVerify}
          </button>
          <button className="big-button" type="button" onClick={refresh}>
            ↻
          </button>
        </form>
      </section>
      {busy && (
        <div className="progress-row">
          <div className="progress indeterminate" role="progressbar" aria-label={busy} />
          <span className="progress-label">{busy}</span>
        </div>
      )}
      {message && <div className="banner ok">{message}</div>}
      {error && <div className="banner error">{error}</div>}
      {staged && !staged.alreadyApplied && (
        <section className="card">
          <h2>{t.usbReview}</h2>
          <table className="docs">
            <thead>
              <tr>
                <th>{t.usbChange}</th>
                <th>{t.colTitle}</th>
                <th>{t.usbSize}</th>
                <th>{t.colSensitivity}</th>
                <th>{t.usbDecision}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((i) => (
                <tr key={`${i.kind}:${i.key}`}>
                  <td>{i.kind}</td>
                  <td>
                    {i.title}
                    <div className="muted path">{i.key}</div>
                  </td>
                  <td>{i.kind === 'changed' ? `${i.sizeBefore} → ${i.sizeAfter}` : (i.sizeAfter ?? i.sizeBefore)}</td>
                  <td>{i.sensitivity}</td>
                  <td>{i.decision}</td>
                  <td className="row-actions">
                    {i.kind !== 'unchanged' && (
                      <>
                        <button className="big-button" onClick={() => void decideOn([i.key], 'approved')}>
                          ✓
                        </button>
                        <button className="big-button danger" onClick={() => void decideOn([i.key], 'rejected')}>
                          ✗
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <label className="field">
            {t.usbComment}
            <input value={comment} onChange={(e) => setComment(e.target.value)} />
          </label>
          <div className="toolbar">
            <button className="big-button" onClick={() => void decideOn('all', 'approved')}>
              {t.usbApproveAll}
            </button>
            <button className="big-button danger" onClick={() => void decideOn('all', 'rejected')}>
              {t.usbRejectAll}
            </button>
            <button className="big-button primary" disabled={pending || busy !== null} onClick={() => void apply()}>
              {t.usbApply}
            </button>
          </div>
        </section>
      )}
      {history.length > 0 && (
        <section className="card">
          <h2>{t.history}</h2>
          <ul>
            {history.map((h) => (
              <li key={h.bundleId}>
                v{h.version} · {h.status} · {h.signer} · {h.documents} ·{' '}
                {new Date(h.appliedAt ?? h.stagedAt).toLocaleString()}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
