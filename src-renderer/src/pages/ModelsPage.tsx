/** Models: installed embedding and language models, which is active, sizes, and the mode without them. */
import { useCallback, useEffect, useState } from 'react';
import type { Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';
import { useCan } from '../session';

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

export function ModelsPage({ onChanged }: { onChanged: () => void }) {
  const t = useT();
  // Choosing the models in use is for administrators; everyone sees what is installed and active.
  const canChange = useCan('admin');
  const [models, setModels] = useState<Outputs['listModels'] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.listModels({}).then(setModels, (err: unknown) => setError(errorText(err)));
  }, []);
  useEffect(() => {
    load();
  }, [load]);
  const use = async (kind: 'embedding' | 'llm', name: string | null): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setModels(await api.useModel({ kind, name }));
      onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  if (!models) return error ? <div className="banner error">{error}</div> : <p className="muted">{t.working}</p>;
  return (
    <div className="models">
      {error && <div className="banner error">{error}</div>}
      {busy && <div className="progress indeterminate" role="progressbar" aria-label={t.working} />}
      {!canChange && <p className="muted">{t.modelsAdminOnly}</p>}
      <section className="card">
        <h2>{t.embeddingModel}</h2>
        <p>{models.embedding.active ?? t.noEmbedding}</p>
        {models.embedding.problem && <p className="warn-text">{models.embedding.problem}</p>}
        <ul className="model-list">
          {models.embedding.available.map((m) => (
            <li key={m.dir}>
              <strong>{m.name}</strong>{' '}
              <span className="muted">
                {mb(m.sizeBytes)} · {m.dtype}
              </span>{' '}
              {!canChange ? null : models.embedding.active === m.name ? (
                <button className="big-button" disabled={busy} onClick={() => void use('embedding', null)}>
                  {t.turnOff}
                </button>
              ) : (
                <button className="big-button primary" disabled={busy} onClick={() => void use('embedding', m.name)}>
                  {t.activate}
                </button>
              )}
            </li>
          ))}
          {models.embedding.invalid.map((m) => (
            <li key={m.dir} className="warn-text">
              ✗ {m.dir}: {m.reason}
            </li>
          ))}
        </ul>
      </section>
      <section className="card">
        <h2>{t.llmModel}</h2>
        <p>{models.llm.active ?? t.noLlm}</p>
        {models.llm.problem && <p className="warn-text">{models.llm.problem}</p>}
        <ul className="model-list">
          {models.llm.available.map((m) => (
            <li key={m.file}>
              <strong>{m.name}</strong>{' '}
              <span className="muted">
                {mb(m.sizeBytes)} · {m.quantization ?? '?'} · ctx {m.contextLength ?? '?'} {m.parameters ?? ''}
              </span>{' '}
              {!canChange ? null : models.llm.active === m.name ? (
                <button className="big-button" disabled={busy} onClick={() => void use('llm', null)}>
                  {t.turnOff}
                </button>
              ) : (
                <button className="big-button primary" disabled={busy} onClick={() => void use('llm', m.name)}>
                  {t.activate}
                </button>
              )}
            </li>
          ))}
          {models.llm.invalid.map((m) => (
            <li key={m.file} className="warn-text">
              ✗ {m.file}: {m.reason}
            </li>
          ))}
        </ul>
      </section>
      <p className="muted">{t.modelsHelp}</p>
    </div>
  );
}
