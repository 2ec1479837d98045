/** USB Import: find bundles on removable drives, verify and stage them, review each change, apply, history. */
import { useCallback, useEffect, useState } from 'react';
import type { FieldbookEvent, Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { KbVersions } from '../components/KbVersions';
import { OriginText } from '../components/OriginText';
import { ProgressBar } from '../components/ProgressBar';
import { useT } from '../i18n';
import { useCan } from '../session';
import { formatTime, sensitivityName } from '../display';

type Item = Outputs['bundleReview'][number];
type Preview = Outputs['bundlePreview'];
type Staged = Outputs['bundleStage'];
type ApplyProgress = Extract<FieldbookEvent, { type: 'bundle-progress' }>['progress'];

function Labels({ labels }: { labels: Preview['labelsBefore'] }) {
  const t = useT();
  if (!labels) return <span className="muted">—</span>;
  const tags = Object.entries(labels.tags).map(([k, v]) => `${k}=${v}`);
  return (
    <span>
      {sensitivityName(t, labels.sensitivity)}
      {labels.isSafety ? ' · ⚠' : ''}
      {tags.length ? ` · ${tags.join(', ')}` : ''}
    </span>
  );
}

/** The publisher keys this PC trusts; administrators add a `.pub.pem` file or remove a key. */
function TrustedKeys() {
  const t = useT();
  // Trusting and removing publishers is for administrators; reviewers see the list.
  const isAdmin = useCan('admin');
  // Null until loaded: a list that failed to load is not shown as "no publisher is trusted".
  const [keys, setKeys] = useState<Outputs['bundleKeys'] | null>(null);
  const [file, setFile] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.bundleKeys({}).then(setKeys, (err: unknown) => setError(errorText(err)));
  }, []);
  useEffect(load, [load]);
  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setError(null);
    try {
      await fn();
      load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section className="card">
      <h2>{t.usbKeys}</h2>
      {keys?.length === 0 && <p className="muted">{t.usbKeysNone}</p>}
      <ul className="model-list">
        {keys?.map((k) => (
          <li key={k.fingerprint}>
            <span>
              <strong>{k.name}</strong>
              <span className="muted path"> {k.fingerprint.slice(0, 16)}…</span>
            </span>
            {isAdmin && (
              <button
                className="big-button danger"
                onClick={() => void act(() => api.bundleUntrustKey({ fingerprint: k.fingerprint }))}
              >
                {t.usbUntrust}
              </button>
            )}
          </li>
        ))}
      </ul>
      {!isAdmin && <p className="muted">{t.usbKeysAdminOnly}</p>}
      {isAdmin && (
        <form
          className="goto"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await api.bundleTrustKey({ path: file.trim(), name: name.trim() });
              setFile('');
              setName('');
            });
          }}
        >
          <input
            aria-label={t.usbKeyFile}
            placeholder={t.usbKeyFile}
            value={file}
            onChange={(e) => setFile(e.target.value)}
          />
          <input
            aria-label={t.usbKeyName}
            placeholder={t.usbKeyName}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <button className="big-button" type="submit" disabled={!file.trim() || !name.trim()}>
            {t.usbTrust}
          </button>
        </form>
      )}
      {error && <div className="banner error">{error}</div>}
    </section>
  );
}

/** One change as the reviewer sees it: labels before/after, passages added/removed, the start of the text. */
function PreviewPanel({ preview, onClose }: { preview: Preview; onClose: () => void }) {
  const t = useT();
  return (
    <section className="card bundle-preview" aria-label={`${t.usbPreview}: ${preview.title}`}>
      <div className="toolbar">
        <h3>
          {t[`usbKind_${preview.kind}`]}: {preview.title}
        </h3>
        <button className="big-button" onClick={onClose}>
          {t.usbClosePreview}
        </button>
      </div>
      {(preview.labelsBefore || preview.labelsAfter) && (
        <p>
          {t.usbLabels}: {t.usbBefore} <Labels labels={preview.labelsBefore} /> → {t.usbAfter}{' '}
          <Labels labels={preview.labelsAfter} />
        </p>
      )}
      {preview.diff && (
        <div className="diff">
          <p>
            <strong className="diff-added">+{preview.diff.added}</strong> {t.usbAdded} ·{' '}
            <strong className="diff-removed">−{preview.diff.removed}</strong> {t.usbRemoved} · {preview.diff.unchanged}{' '}
            {t.usbSame}
          </p>
          <ul>
            {preview.diff.addedSamples.map((x, i) => (
              <li key={`a${i}`} className="diff-added">
                + {x}
              </li>
            ))}
            {preview.diff.removedSamples.map((x, i) => (
              <li key={`r${i}`} className="diff-removed">
                − {x}
              </li>
            ))}
          </ul>
        </div>
      )}
      {preview.files.length > 0 && (
        <>
          <h4>{t.usbModelFiles}</h4>
          <ul>
            {preview.files.map((f) => (
              <li key={f.target}>
                {f.target} · {f.size}
              </li>
            ))}
          </ul>
        </>
      )}
      {preview.excerpt.length > 0 && (
        <div className="excerpt">
          {preview.excerpt.map((e, i) => (
            <p key={i}>
              {e.page !== null && <span className="muted">p.{e.page} </span>}
              {e.text}
            </p>
          ))}
          {preview.excerptTruncated && <p className="muted">…</p>}
        </div>
      )}
    </section>
  );
}

export function UsbImportPage({ onChanged }: { onChanged: () => void }) {
  const t = useT();
  const [bundles, setBundles] = useState<string[]>([]);
  const [manual, setManual] = useState('');
  const [staged, setStaged] = useState<Omit<Staged, 'items'> | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [applyProgress, setApplyProgress] = useState<ApplyProgress | null>(null);
  useEffect(
    () =>
      api.onEvent((e) => {
        if (e.type === 'bundle-progress' && e.bundleId === staged?.bundleId) setApplyProgress(e.progress);
      }),
    [staged?.bundleId],
  );
  const [items, setItems] = useState<Item[]>([]);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [history, setHistory] = useState<Outputs['bundleHistory']>([]);

  const [revision, setRevision] = useState(0);
  const refresh = useCallback(() => {
    setRevision((r) => r + 1);
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
      setApplyProgress(null);
    }
  };
  const stage = (source: string): Promise<void> =>
    run(t.usbVerifying, async () => {
      setPreview(null);
      const { items: stagedItems, ...rest } = await api.bundleStage({ source });
      setStaged(rest);
      setItems(stagedItems);
      if (rest.alreadyApplied) setMessage(t.usbAlreadyApplied);
    });
  const decideOn = (keys: string[] | 'all', decision: 'approved' | 'rejected'): Promise<void> =>
    run(t.working, async () => {
      if (!staged) return;
      await api.bundleDecide({ bundleId: staged.bundleId, keys, decision, ...(comment ? { comment } : {}) });
      setItems(await api.bundleReview({ bundleId: staged.bundleId }));
    });
  /** The desktop's file dialog; a browser has none, so the path is typed instead. */
  const choose = async (folders: boolean): Promise<void> => {
    const r = await api.chooseFiles({ folders, purpose: 'bundle' }).catch(() => ({ paths: null }));
    if (r.paths === null) setError(t.usbNoDialog);
    else if (r.paths[0]) await stage(r.paths[0]);
  };
  const showPreview = (key: string): Promise<void> =>
    run(t.usbPreviewing, async () => {
      if (!staged) return;
      setPreview(await api.bundlePreview({ bundleId: staged.bundleId, key }));
    });
  const apply = (): Promise<void> =>
    run(t.usbApplying, async () => {
      if (!staged) return;
      const r = await api.bundleApply({ bundleId: staged.bundleId });
      setMessage(`${t.usbApplied} v${r.version}: +${r.applied} −${r.removed}`);
      setStaged(null);
      setPreview(null);
      setItems([]);
      refresh();
      onChanged();
    });

  const pending = items.some((i) => i.decision === 'pending');
  const statusText = (status: string): string =>
    ({ staged: t.usbStatus_staged, applied: t.usbStatus_applied, rejected: t.usbStatus_rejected })[status] ??
    (status === 'rolled-back' ? t.usbStatus_rolledBack : status);
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
          <button className="big-button" type="button" disabled={busy !== null} onClick={() => void choose(false)}>
            {t.usbChooseFile}
          </button>
          <button className="big-button" type="button" disabled={busy !== null} onClick={() => void choose(true)}>
            {t.usbChooseFolder}
          </button>
          <button className="big-button" type="button" aria-label={t.usbRescan} onClick={refresh}>
            ↻
          </button>
        </form>
      </section>
      {busy && (
        <ProgressBar
          value={applyProgress && applyProgress.total > 0 ? (100 * applyProgress.done) / applyProgress.total : null}
          label={
            applyProgress
              ? `${busy} ${applyProgress.done}/${applyProgress.total}${applyProgress.title ? ` · ${applyProgress.title}` : ''}`
              : busy
          }
        />
      )}
      {message && <div className="banner ok">{message}</div>}
      {error && <div className="banner error">{error}</div>}
      {staged && !staged.alreadyApplied && (
        <section className="card">
          <h2>{t.usbReview}</h2>
          <p className="bundle-info">
            {staged.info.baseVersion > 0
              ? `${t.usbIncremental} ${staged.info.baseVersion} ${t.usbTo} ${staged.info.version}`
              : `${t.usbFullBundle} ${staged.info.version}`}{' '}
            · {t.usbSignedBy} <strong>{staged.info.signer}</strong> · {t.usbCreated}{' '}
            {formatTime(t, staged.info.createdAt)}
            {staged.info.carriesIndex && <span className="muted"> · {t.usbCarriesIndex}</span>}
          </p>
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
                  <td>{t[`usbKind_${i.kind}`]}</td>
                  <td>
                    {i.title}
                    <div className="muted path">{i.key}</div>
                    {i.sameAs && (
                      <div className="same-as" data-testid="same-as">
                        {t.usbSameAs} <span className="path">{i.sameAs.path}</span> (
                        <OriginText origin={i.sameAs.origin} />)<div className="muted">{t.usbDuplicateHint}</div>
                      </div>
                    )}
                  </td>
                  <td>{i.kind === 'changed' ? `${i.sizeBefore} → ${i.sizeAfter}` : (i.sizeAfter ?? i.sizeBefore)}</td>
                  <td>{i.sensitivity ? sensitivityName(t, i.sensitivity) : '—'}</td>
                  <td>{i.kind === 'duplicate' ? t[`usbDuplicate_${i.decision}`] : t[`usbDecision_${i.decision}`]}</td>
                  <td className="row-actions">
                    {i.kind === 'duplicate' && (
                      <>
                        <button className="big-button" disabled={busy !== null} onClick={() => void showPreview(i.key)}>
                          {t.usbPreview}
                        </button>
                        <button className="big-button" onClick={() => void decideOn([i.key], 'approved')}>
                          {t.usbTakeOver}
                        </button>
                        <button className="big-button" onClick={() => void decideOn([i.key], 'rejected')}>
                          {t.usbKeepExisting}
                        </button>
                      </>
                    )}
                    {i.kind !== 'unchanged' && i.kind !== 'duplicate' && (
                      <>
                        <button className="big-button" disabled={busy !== null} onClick={() => void showPreview(i.key)}>
                          {t.usbPreview}
                        </button>
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
          {preview && <PreviewPanel preview={preview} onClose={() => setPreview(null)} />}
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
                {h.baseVersion > 0 ? `v${h.baseVersion} → v${h.version}` : `v${h.version}`} · {statusText(h.status)} ·{' '}
                {h.signer} · {h.documents} · {formatTime(t, h.appliedAt ?? h.stagedAt)}
              </li>
            ))}
          </ul>
        </section>
      )}
      <KbVersions
        revision={revision}
        onRestored={() => {
          refresh();
          onChanged();
        }}
      />
      <TrustedKeys />
    </div>
  );
}
