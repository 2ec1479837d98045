/** Datasets: the feedback review queue (write the right answer) and LoRA dataset export with preview and history. */
import { useCallback, useEffect, useState } from 'react';
import type { Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';
import { useCan } from '../session';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { formatTime } from '../display';

type Source = 'answers' | 'corrections' | 'generated' | 'preferences';
type Format = 'chat' | 'sharegpt' | 'alpaca' | 'dpo';

type QueueItem = Outputs['feedbackQueue'][number];
type ReviewStatus = Outputs['reviewCorrection']['status'];

/**
 * A suggested correction: the question, the answer given and the suggestion; the reviewer accepts
 * it as written, edits it (their text is what enters training data) or rejects it.
 */
function SuggestedCorrection({ item, onReviewed }: { item: QueueItem; onReviewed: (status: ReviewStatus) => void }) {
  const t = useT();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(item.correction ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmReject, setConfirmReject] = useState(false);
  const review = async (decision: 'accept' | 'edit' | 'reject'): Promise<void> => {
    setConfirmReject(false);
    setBusy(true);
    setError(null);
    try {
      const r = await api.reviewCorrection({
        feedbackId: item.feedbackId,
        decision,
        ...(decision === 'edit' ? { correction: draft.trim() } : {}),
      });
      onReviewed(r.status);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <article className="turn suggested-correction" aria-label={`${t.reviewSuggested}: ${item.question}`}>
      <p className="question">{item.question}</p>
      <p className="muted">
        {t.reviewAnswerGiven}: {item.answer}
      </p>
      <div className="suggestion">
        <strong>
          {t.reviewSuggested}
          {item.author ? ` (${t.reviewSuggestedBy} ${item.author})` : ''}:
        </strong>
        <p>{item.correction}</p>
      </div>
      {item.comment && (
        <p className="warn-text">
          {t.reviewComment}: {item.comment}
        </p>
      )}
      {editing && (
        <label className="field">
          {t.reviewEditLabel}
          <textarea value={draft} onChange={(e) => setDraft(e.target.value)} />
        </label>
      )}
      <div className="toolbar">
        {editing ? (
          <>
            <button className="big-button primary" disabled={busy || !draft.trim()} onClick={() => void review('edit')}>
              {t.reviewSaveEdit}
            </button>
            <button className="big-button" disabled={busy} onClick={() => setEditing(false)}>
              {t.reviewCancelEdit}
            </button>
          </>
        ) : (
          <>
            <button className="big-button primary" disabled={busy} onClick={() => void review('accept')}>
              {t.reviewAccept}
            </button>
            <button className="big-button" disabled={busy} onClick={() => setEditing(true)}>
              {t.reviewEdit}
            </button>
          </>
        )}
        <button className="big-button danger" disabled={busy} onClick={() => setConfirmReject(true)}>
          {t.reviewReject}
        </button>
      </div>
      {confirmReject && (
        <ConfirmDialog
          title={t.reviewRejectConfirm}
          confirmLabel={t.reviewReject}
          onConfirm={() => void review('reject')}
          onCancel={() => setConfirmReject(false)}
        />
      )}
      {error && <div className="banner error">{error}</div>}
    </article>
  );
}

/** The reviewer queue: suggested corrections to decide, then "not helpful" answers to write the right answer for. */
export function ReviewQueue() {
  const t = useT();
  const [items, setItems] = useState<QueueItem[]>([]);
  const [drafts, setDrafts] = useState<Record<number, string>>({});
  const [done, setDone] = useState<ReviewStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.feedbackQueue({}).then(setItems, (err: unknown) => setError(errorText(err)));
  }, []);
  useEffect(() => {
    load();
  }, [load]);
  const suggestions = items.filter((q) => q.kind === 'correction');
  const thumbsDown = items.filter((q) => q.kind === 'thumbs-down');
  return (
    <>
      <section className="card" aria-labelledby="review-corrections">
        <h2 id="review-corrections">{t.reviewCorrections}</h2>
        <p className="muted">{t.reviewCorrectionsHint}</p>
        {done && (
          <div className="banner ok" role="status">
            {t[`reviewDone_${done}`]}
          </div>
        )}
        {suggestions.length === 0 && <p className="muted">{t.reviewCorrectionsEmpty}</p>}
        {suggestions.map((q) => (
          <SuggestedCorrection
            key={q.feedbackId}
            item={q}
            onReviewed={(status) => {
              setDone(status);
              load();
            }}
          />
        ))}
      </section>
      <section className="card">
        <h2>{t.reviewQueue}</h2>
        {error && <div className="banner error">{error}</div>}
        {thumbsDown.length === 0 && <p className="muted">{t.reviewQueueEmpty}</p>}
        {thumbsDown.map((q) => (
          <div key={q.feedbackId} className="turn">
            <p className="question">{q.question}</p>
            <p className="muted">{q.answer}</p>
            {q.comment && <p className="warn-text">{q.comment}</p>}
            <div className="correction">
              <textarea
                aria-label={t.correctionPlaceholder}
                placeholder={t.correctionPlaceholder}
                value={drafts[q.answerId] ?? ''}
                onChange={(e) => setDrafts({ ...drafts, [q.answerId]: e.target.value })}
              />
              <button
                className="big-button primary"
                disabled={!(drafts[q.answerId] ?? '').trim()}
                onClick={async () => {
                  await api
                    .correctAnswer({ answerId: q.answerId, correction: (drafts[q.answerId] ?? '').trim() })
                    .catch((err: unknown) => setError(errorText(err)));
                  load();
                }}
              >
                {t.save}
              </button>
            </div>
          </div>
        ))}
      </section>
    </>
  );
}

export function DatasetsPage() {
  const t = useT();
  // Exporting training data is for administrators; a reviewer works the queue.
  const canExport = useCan('admin');
  const [format, setFormat] = useState<Format>('chat');
  const [sources, setSources] = useState<Set<Source>>(new Set(['answers', 'corrections']));
  const [withContext, setWithContext] = useState(true);
  const [evalSet, setEvalSet] = useState(true);
  const [outDir, setOutDir] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Outputs['datasetExport'] | null>(null);
  const [history, setHistory] = useState<Outputs['datasetHistory']>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.datasetHistory({}).then(setHistory, () => undefined);
  }, [result]);
  const toggle = (s: Source): void =>
    setSources((cur) => {
      const n = new Set(cur);
      if (n.has(s)) n.delete(s);
      else n.add(s);
      return n;
    });
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setResult(
        await api.datasetExport({
          outDir,
          format,
          sources: format === 'dpo' ? ['preferences'] : [...sources],
          withContext,
          evalSet,
        }),
      );
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="datasets">
      <ReviewQueue />
      {!canExport && (
        <section className="card">
          <h2>{t.datasetExport}</h2>
          <p className="muted">{t.datasetAdminOnly}</p>
        </section>
      )}
      {canExport && (
        <section className="card settings">
          <h2>{t.datasetExport}</h2>
          <label className="field">
            {t.datasetFormat}
            <select value={format} onChange={(e) => setFormat(e.target.value as Format)}>
              <option value="chat">OpenAI chat (messages)</option>
              <option value="sharegpt">ShareGPT (conversations)</option>
              <option value="alpaca">Alpaca (instruction/input/output)</option>
              <option value="dpo">DPO (prompt/chosen/rejected)</option>
            </select>
          </label>
          {format !== 'dpo' && (
            <fieldset className="field">
              <legend>{t.datasetSources}</legend>
              {(['answers', 'corrections', 'generated'] as const).map((s) => (
                <label key={s} className="check">
                  <input type="checkbox" checked={sources.has(s)} onChange={() => toggle(s)} /> {t[`source_${s}`]}
                </label>
              ))}
            </fieldset>
          )}
          <label className="check">
            <input type="checkbox" checked={withContext} onChange={(e) => setWithContext(e.target.checked)} />{' '}
            {t.datasetWithContext}
          </label>
          <label className="check">
            <input type="checkbox" checked={evalSet} onChange={(e) => setEvalSet(e.target.checked)} />{' '}
            {t.datasetEvalSet}
          </label>
          <label className="field">
            {t.datasetOutDir}
            <input
              value={outDir}
              onChange={(e) => setOutDir(e.target.value)}
              placeholder="/media/usb/fieldbook-dataset"
            />
          </label>
          <button className="big-button primary" disabled={busy || !outDir.trim()} onClick={() => void run()}>
            {t.datasetRun}
          </button>
          {busy && <div className="progress indeterminate" role="progressbar" aria-label={t.working} />}
          {error && <div className="banner error">{error}</div>}
          {result && (
            <div className="banner ok" data-testid="dataset-result">
              {result.counts.total} · {t.splitNames.train} {result.counts.train} · {t.splitNames.validation}{' '}
              {result.counts.validation} · {t.splitNames.test} {result.counts.test} — {t.datasetRedacted}{' '}
              {Object.values(result.redactions).reduce((a, b) => a + b, 0)}
            </div>
          )}
          {result?.preview.map((line, i) => (
            <pre key={i} className="preview">
              {line}
            </pre>
          ))}
        </section>
      )}
      {history.length > 0 && (
        <section className="card">
          <h2>{t.history}</h2>
          <ul>
            {history.map((h) => (
              <li key={h.id}>
                {formatTime(t, h.createdAt)} · {h.format} · {h.total} · <span className="path">{h.outDir}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
