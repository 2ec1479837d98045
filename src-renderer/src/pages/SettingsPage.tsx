/** Settings: language, data directory, passage size/overlap, retrieval depth, review threshold. */
import { useEffect, useState } from 'react';
import type { Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';

type Settings = Outputs['getSettings'];

export function SettingsPage({ onChanged }: { onChanged: () => void }) {
  const t = useT();
  const [s, setS] = useState<Settings | null>(null);
  const [home, setHome] = useState('');
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.getSettings({}).then(setS, (err: unknown) => setError(errorText(err)));
    api.status({}).then(
      (st) => setHome(st.home),
      () => undefined,
    );
  }, []);
  if (!s) return error ? <div className="banner error">{error}</div> : null;
  const save = async (): Promise<void> => {
    try {
      setS(
        await api.updateSettings({
          locale: s.locale,
          chunk: { chunkSize: s.chunk.chunkSize, chunkOverlap: s.chunk.chunkOverlap },
          answer: { retrievalDepth: s.answer.retrievalDepth, confidenceThreshold: s.answer.confidenceThreshold },
          ocr: { enabled: s.ocr.enabled, languages: s.ocr.languages, dpi: s.ocr.dpi },
        }),
      );
      setSaved(true);
      setError(null);
      onChanged();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const num = (v: string): number => Number(v);
  return (
    <form
      className="settings card"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label className="field">
        {t.settingsLanguage}
        <select value={s.locale} onChange={(e) => setS({ ...s, locale: e.target.value as Settings['locale'] })}>
          <option value="zh-TW">繁體中文</option>
          <option value="en">English</option>
        </select>
      </label>
      <label className="field">
        {t.settingsDataDir}
        <input value={home} readOnly />
      </label>
      <label className="field">
        {t.settingsChunkSize}
        <input
          type="number"
          min={50}
          max={4000}
          value={s.chunk.chunkSize}
          onChange={(e) => setS({ ...s, chunk: { ...s.chunk, chunkSize: num(e.target.value) } })}
        />
      </label>
      <label className="field">
        {t.settingsChunkOverlap}
        <input
          type="number"
          min={0}
          max={1000}
          value={s.chunk.chunkOverlap}
          onChange={(e) => setS({ ...s, chunk: { ...s.chunk, chunkOverlap: num(e.target.value) } })}
        />
      </label>
      <label className="field">
        {t.settingsDepth}
        <input
          type="number"
          min={1}
          max={20}
          value={s.answer.retrievalDepth}
          onChange={(e) => setS({ ...s, answer: { ...s.answer, retrievalDepth: num(e.target.value) } })}
        />
      </label>
      <label className="field">
        {t.settingsThreshold}
        <input
          type="number"
          min={0}
          max={1}
          step={0.05}
          value={s.answer.confidenceThreshold}
          onChange={(e) => setS({ ...s, answer: { ...s.answer, confidenceThreshold: num(e.target.value) } })}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={s.ocr.enabled}
          onChange={(e) => setS({ ...s, ocr: { ...s.ocr, enabled: e.target.checked } })}
        />{' '}
        {t.settingsOcr}
      </label>
      <label className="field">
        {t.settingsOcrLanguages}
        <input
          value={s.ocr.languages.join('+')}
          onChange={(e) =>
            setS({
              ...s,
              ocr: {
                ...s.ocr,
                languages: e.target.value
                  .split('+')
                  .map((x) => x.trim())
                  .filter(Boolean),
              },
            })
          }
        />
      </label>
      <label className="field">
        {t.settingsOcrDpi}
        <input
          type="number"
          min={100}
          max={400}
          value={s.ocr.dpi}
          onChange={(e) => setS({ ...s, ocr: { ...s.ocr, dpi: num(e.target.value) } })}
        />
      </label>
      <button className="big-button primary" type="submit">
        {t.save}
      </button>
      {saved && <span className="ok-text">{t.saved}</span>}
      {error && <div className="banner error">{error}</div>}
    </form>
  );
}
