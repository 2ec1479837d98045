/** Library: add files and folders with progress, list and search documents, edit labels, remove, re-index, failures. */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { BrowseResult, FieldbookEvent, Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { PasswordRetry } from '../components/PasswordRetry';
import { ProgressBar } from '../components/ProgressBar';
import { Modal } from '../components/Modal';
import { OriginText } from '../components/OriginText';
import { useT } from '../i18n';
import { useCan } from '../session';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { formatTime, sensitivityName } from '../display';

type Doc = Outputs['listDocuments']['documents'][number];
type Progress = Extract<FieldbookEvent, { type: 'ingest-progress' }>['progress'];

/** Failures a password can fix: the file offers "Enter password". */
const PASSWORD_CODES = new Set(['PDF_ENCRYPTED', 'PDF_WRONG_PASSWORD']);

function Browser({ onAdd, onClose }: { onAdd: (paths: string[]) => void; onClose: () => void }) {
  const t = useT();
  const [dir, setDir] = useState<BrowseResult | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [typed, setTyped] = useState('');
  const open = useCallback((p?: string) => {
    api.browse(p ? { path: p } : {}).then(setDir, (err: unknown) => setError(errorText(err)));
  }, []);
  useEffect(() => {
    open();
  }, [open]);
  const toggle = (p: string): void =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(p)) n.delete(p);
      else n.add(p);
      return n;
    });
  return (
    <Modal label={t.browseTitle} onClose={onClose}>
      <div className="viewer-head">
        <h2>{t.browseTitle}</h2>
        <button className="big-button" onClick={onClose}>
          ✕ {t.close}
        </button>
      </div>
      {error && <div className="banner error">{error}</div>}
      {dir && (
        <>
          <div className="roots">
            {dir.roots.map((r) => (
              <button key={r} className="chip" onClick={() => open(r)}>
                {r}
              </button>
            ))}
          </div>
          <form
            className="goto"
            onSubmit={(e) => {
              e.preventDefault();
              if (typed.trim()) open(typed.trim());
            }}
          >
            <button
              type="button"
              className="big-button"
              disabled={!dir.parent}
              onClick={() => dir.parent && open(dir.parent)}
            >
              ⬆ {t.up}
            </button>
            <input
              aria-label={t.goTo}
              placeholder={dir.path}
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
            />
            <button type="submit" className="big-button">
              {t.goTo}
            </button>
          </form>
          <p className="path">{dir.path}</p>
          <ul className="browse-list">
            {dir.entries.map((e) => (
              <li key={e.path} className={e.supported ? '' : 'muted'}>
                <label className="browse-item">
                  <input
                    type="checkbox"
                    disabled={!e.supported}
                    checked={selected.has(e.path)}
                    onChange={() => toggle(e.path)}
                  />
                  {e.kind === 'dir' ? (
                    <button className="link" onClick={() => open(e.path)}>
                      ▸ {e.name}/
                    </button>
                  ) : (
                    <span>{e.name}</span>
                  )}
                </label>
              </li>
            ))}
          </ul>
          <button className="big-button primary" disabled={selected.size === 0} onClick={() => onAdd([...selected])}>
            {t.addSelected} ({selected.size})
          </button>
        </>
      )}
    </Modal>
  );
}

function LabelEditor({ doc, onSaved }: { doc: Doc; onSaved: () => void }) {
  const t = useT();
  const [tags, setTags] = useState(
    Object.entries(doc.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
  );
  const [sensitivity, setSensitivity] = useState(doc.sensitivity);
  const [isSafety, setIsSafety] = useState(doc.isSafety);
  const [error, setError] = useState<string | null>(null);
  const save = async (): Promise<void> => {
    const parsed: Record<string, string> = {};
    for (const part of tags
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [k, ...v] = part.split('=');
      if (k && v.length) parsed[k.trim()] = v.join('=').trim();
    }
    try {
      await api.updateDocument({ id: doc.id, tags: parsed, sensitivity, isSafety });
      onSaved();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <div className="label-editor">
      <label className="field">
        {t.colTags}
        <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="line=A, tool=press" />
      </label>
      <label className="field">
        {t.colSensitivity}
        <select value={sensitivity} onChange={(e) => setSensitivity(e.target.value as Doc['sensitivity'])}>
          {['public', 'internal', 'confidential', 'restricted'].map((s) => (
            <option key={s} value={s}>
              {sensitivityName(t, s)}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input type="checkbox" checked={isSafety} onChange={(e) => setIsSafety(e.target.checked)} /> {t.safety}
      </label>
      <button className="big-button primary" onClick={() => void save()}>
        {t.save}
      </button>
      {error && <p className="error-text">{error}</p>}
    </div>
  );
}

export function LibraryPage({ onChanged }: { onChanged: () => void }) {
  const t = useT();
  // Adding, labelling, re-indexing and removing need the reviewer role: technicians do not see those controls.
  const canEdit = useCan('reviewer');
  const [data, setData] = useState<Outputs['listDocuments'] | null>(null);
  const [filter, setFilter] = useState('');
  const [browsing, setBrowsing] = useState(false);
  const [progress, setProgress] = useState<Map<string, Progress>>(new Map());
  const [overall, setOverall] = useState<Progress | null>(null);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState<number | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [removing, setRemoving] = useState<Doc | null>(null);

  const load = useCallback(() => {
    api.listDocuments({}).then(setData, (err: unknown) => setError(errorText(err)));
  }, []);
  useEffect(() => {
    load();
    return api.onEvent((e) => {
      if (e.type !== 'ingest-progress') return;
      setOverall(e.progress);
      const file = e.progress.file;
      if (file) setProgress((m) => new Map(m).set(file, e.progress));
    });
  }, [load]);

  const add = async (paths: string[]): Promise<void> => {
    setBrowsing(false);
    setBusy(true);
    setProgress(new Map());
    setMessage(null);
    setError(null);
    try {
      const report = await api.ingest({ paths });
      const c = report.counts;
      setMessage(
        `${t.ingestDone}: +${c.added} ~${c.updated} =${c.unchanged} ✗${c.failed}${c.cancelled ? ` ⏸${c.cancelled}` : ''}`,
      );
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
      load();
      onChanged();
    }
  };

  const pick = async (): Promise<void> => {
    const chosen = await api.chooseFiles({}).catch(() => ({ paths: null }));
    if (chosen.paths === null) setBrowsing(true);
    else if (chosen.paths.length) await add(chosen.paths);
  };

  const docs = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (data?.documents ?? []).filter(
      (d) =>
        !f ||
        d.title.toLowerCase().includes(f) ||
        d.sourcePath.toLowerCase().includes(f) ||
        t.docTypes[d.type].toLowerCase().includes(f) ||
        Object.values(d.tags).some((v) => v.toLowerCase().includes(f)),
    );
  }, [data, filter, t]);

  const fileProgress = (p: Progress): number | null => {
    if (p.phase === 'store' || p.phase === 'done') return 100;
    if (p.page && p.pages) return (p.page / p.pages) * 90;
    if (p.embedded !== undefined && p.toEmbed) return 90 + (p.embedded / p.toEmbed) * 10;
    return null;
  };

  const onDrop = (e: React.DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    setDragging(false);
    const files = Array.from(e.dataTransfer.files);
    if (files.length === 0) return;
    if (!canEdit) return setError(t.libraryReviewerOnly);
    const paths = window.fieldbookIpc?.pathsForFiles?.(files) ?? [];
    if (paths.length) void add(paths);
    else setError(t.dropNeedsDesktop);
  };

  return (
    <div
      className={`library${dragging ? ' dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {dragging && <div className="drop-hint">{t.dropHere}</div>}
      <div className="toolbar">
        {canEdit && (
          <button className="big-button primary" disabled={busy} onClick={() => void pick()}>
            ＋ {t.addFiles}
          </button>
        )}
        {busy && (
          <button className="big-button danger" onClick={() => void api.cancelIngest({})}>
            {t.cancel}
          </button>
        )}
        <input
          className="search"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          placeholder={t.searchDocs}
          aria-label={t.searchDocs}
        />
      </div>
      {!canEdit && <p className="muted">{t.libraryReviewerOnly}</p>}
      {busy && overall && (
        <section className="ingest-progress" aria-live="polite">
          <ProgressBar
            value={
              overall.fileCount ? (Math.min(overall.fileIndex, overall.fileCount) / overall.fileCount) * 100 : null
            }
            label={`${t.working} ${Math.min(overall.fileIndex + 1, overall.fileCount)}/${overall.fileCount}`}
          />
          {[...progress.entries()].map(([file, p]) => (
            <ProgressBar key={file} value={fileProgress(p)} label={file.split(/[\\/]/).pop() ?? file} />
          ))}
        </section>
      )}
      {message && <div className="banner ok">{message}</div>}
      {error && <div className="banner error">{error}</div>}
      {data && data.documents.length === 0 && !busy && (
        <div className="empty">
          <h2>{t.emptyLibraryTitle}</h2>
          <p>{t.emptyLibraryBody}</p>
        </div>
      )}
      {docs.length > 0 && (
        <table className="docs">
          <thead>
            <tr>
              <th>{t.colTitle}</th>
              <th>{t.colType}</th>
              <th>{t.colPages}</th>
              <th>{t.colChunks}</th>
              <th>{t.colTags}</th>
              <th>{t.colSensitivity}</th>
              <th>{t.colOrigin}</th>
              <th>{t.colVersion}</th>
              <th>{t.colIndexed}</th>
              {canEdit && <th />}
            </tr>
          </thead>
          <tbody>
            {docs.map((d) => (
              <tr key={d.id}>
                <td>
                  <strong>{d.title}</strong>
                  {d.isSafety && <span className="badge warn"> {t.safety}</span>}
                  <div className="muted path">{d.sourcePath}</div>
                  {d.warnings.map((w) => (
                    <div key={w} className="warn-text">
                      {w}
                    </div>
                  ))}
                  {editing === d.id && (
                    <LabelEditor
                      doc={d}
                      onSaved={() => {
                        setEditing(null);
                        load();
                      }}
                    />
                  )}
                </td>
                <td>{t.docTypes[d.type]}</td>
                <td>{d.pages ?? '—'}</td>
                <td>{d.chunkCount}</td>
                <td>
                  {Object.entries(d.tags)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}
                </td>
                <td>{sensitivityName(t, d.sensitivity)}</td>
                <td>
                  <OriginText origin={d.origin} />
                </td>
                <td>v{d.version}</td>
                <td>{formatTime(t, d.indexedAt)}</td>
                {canEdit && (
                  <td className="row-actions">
                    <button className="big-button" onClick={() => setEditing(editing === d.id ? null : d.id)}>
                      {t.edit}
                    </button>
                    <button
                      className="big-button"
                      disabled={busy}
                      onClick={async () => {
                        setBusy(true);
                        await api.reindexDocument({ id: d.id }).catch((err: unknown) => setError(errorText(err)));
                        setBusy(false);
                        load();
                      }}
                    >
                      {t.reindex}
                    </button>
                    <button className="big-button danger" onClick={() => setRemoving(d)}>
                      {t.remove}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.failures.length > 0 && (
        <section className="failures">
          <h2>{t.failedFiles}</h2>
          <ul>
            {data.failures.map((f) => (
              <li key={f.sourcePath} className="failure">
                <strong>{f.sourcePath}</strong>
                <div>{f.message}</div>
                <div className="muted">→ {f.hint}</div>
                {PASSWORD_CODES.has(f.code) && <PasswordRetry file={f.sourcePath} onAdded={load} />}
              </li>
            ))}
          </ul>
        </section>
      )}
      {browsing && <Browser onAdd={(p) => void add(p)} onClose={() => setBrowsing(false)} />}
      {removing && (
        <ConfirmDialog
          title={`${t.remove}: ${removing.title}?`}
          body={removing.sourcePath}
          confirmLabel={t.remove}
          onConfirm={() => {
            const doc = removing;
            setRemoving(null);
            void api
              .removeDocument({ id: doc.id })
              .catch((err: unknown) => setError(errorText(err)))
              .then(() => {
                load();
                onChanged();
              });
          }}
          onCancel={() => setRemoving(null)}
        />
      )}
    </div>
  );
}
