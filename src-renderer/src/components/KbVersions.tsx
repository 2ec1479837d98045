/**
 * USB Import → history: the saved knowledge-base versions, each with a "Restore this version"
 * button (administrators), a confirmation that says what will be undone, progress and result.
 */
import { useCallback, useEffect, useState } from 'react';
import type { Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';
import { useCan } from '../session';
import { ProgressBar } from './ProgressBar';
import { formatTime } from '../display';

type Snapshot = Outputs['bundleSnapshots']['snapshots'][number];
type Bundle = Snapshot['undoes'][number];

/** `revision` changes whenever the knowledge base may have a new version (e.g. after an apply): the list reloads. */
export function KbVersions({ onRestored, revision = 0 }: { onRestored: () => void; revision?: number }) {
  const t = useT();
  const [list, setList] = useState<Outputs['bundleSnapshots'] | null>(null);
  // Follows the session: a role that drops or times out takes the restore buttons with it.
  const isAdmin = useCan('admin');
  const [confirming, setConfirming] = useState<Snapshot | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Outputs['bundleRollback'] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.bundleSnapshots({}).then(setList, (err: unknown) => setError(errorText(err)));
  }, []);
  useEffect(load, [load, revision]);

  const restore = async (version: number): Promise<void> => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.bundleRollback({ to: version }));
      setConfirming(null);
      load();
      onRestored();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const bundleText = (b: Bundle): string =>
    `v${b.version} · ${b.signer} · ${b.documents} ${t.kbDocuments}${
      b.appliedAt ? ` · ${formatTime(t, b.appliedAt)}` : ''
    }`;

  if (!list) return error ? <div className="banner error">{error}</div> : null;
  return (
    <section className="card kb-versions">
      <h2>{t.kbVersions}</h2>
      <p>
        {t.kbCurrent}: <strong>v{list.current}</strong>
      </p>
      {list.snapshots.length === 0 && <p className="muted">{t.kbNone}</p>}
      <ul className="model-list">
        {list.snapshots.map((s) => (
          <li key={s.version}>
            <span>
              <strong>v{s.version}</strong> · {s.documents} {t.kbDocuments} · {t.kbSaved} {formatTime(t, s.takenAt)}
              {s.undoes[0] && (
                <span className="muted">
                  <br />
                  {t.kbUpdatedBy}: {bundleText(s.undoes[0])}
                </span>
              )}
              {s.problem && (
                <span className="muted">
                  <br />
                  {t.kbUnreadable}: {s.problem}
                </span>
              )}
            </span>
            <button
              className="big-button danger"
              disabled={!isAdmin || busy || s.problem !== null}
              onClick={() => {
                setResult(null);
                setConfirming(s);
              }}
            >
              {t.kbRestore} (v{s.version})
            </button>
          </li>
        ))}
      </ul>
      {!isAdmin && list.snapshots.length > 0 && <p className="muted">{t.kbAdminOnly}</p>}
      {confirming && (
        <div className="banner warn" role="alertdialog" aria-label={`${t.kbConfirmTitle} v${confirming.version}?`}>
          <h3>
            {t.kbConfirmTitle} v{confirming.version}?
          </h3>
          <p>{t.kbWillUndo}</p>
          <ul>
            {confirming.undoes.map((b) => (
              <li key={b.bundleId}>{bundleText(b)}</li>
            ))}
          </ul>
          <p>
            {t.kbWillRemove} <strong>{confirming.changes.remove}</strong> · {t.kbWillRestore}{' '}
            <strong>{confirming.changes.restore}</strong>
          </p>
          <p>{t.kbKeeps}</p>
          <div className="toolbar">
            <button className="big-button danger" disabled={busy} onClick={() => void restore(confirming.version)}>
              {t.kbConfirm}
            </button>
            <button className="big-button" disabled={busy} onClick={() => setConfirming(null)}>
              {t.kbCancel}
            </button>
          </div>
        </div>
      )}
      {busy && <ProgressBar value={null} label={t.kbRestoring} />}
      {result && (
        <div className="banner ok" role="status">
          {t.kbRestored} v{result.version} (−{result.documents.removed} +{result.documents.restored})
        </div>
      )}
      {result && result.files.missing.length > 0 && (
        <div className="banner warn">
          {t.kbFilesMissing}
          <ul>
            {result.files.missing.map((f) => (
              <li key={f} className="path">
                {f}
              </li>
            ))}
          </ul>
        </div>
      )}
      {result && result.chunksToEmbed > 0 && (
        <div className="banner warn">
          {result.chunksToEmbed} {t.kbToEmbed}
        </div>
      )}
      {error && <div className="banner error">{error}</div>}
    </section>
  );
}
