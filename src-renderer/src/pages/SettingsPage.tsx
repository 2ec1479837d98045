/**
 * Settings: language, data directory, passage size/overlap, retrieval depth, review threshold,
 * OCR; and the reviewer/administrator passphrases. Only an administrator changes settings and
 * passphrases; anyone may switch the language.
 */
import { useEffect, useState } from 'react';
import type { Outputs, SessionInfo } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { PassphraseForm } from '../components/PassphraseForm';
import { useT } from '../i18n';
import { useCan, useSession } from '../session';

type Settings = Outputs['getSettings'];

/** Set the reviewer passphrase, or change either one (administrator). */
function Passphrases() {
  const t = useT();
  const initial = useSession();
  const [flags, setFlags] = useState<SessionInfo['passphrases'] | null>(initial?.passphrases ?? null);
  const [role, setRole] = useState<'reviewer' | 'admin'>('reviewer');
  const [saved, setSaved] = useState<'reviewer' | 'admin' | null>(null);
  const name = (r: 'reviewer' | 'admin'): string => (r === 'admin' ? t.roleAdmin : t.roleReviewer);
  const state = (set: boolean | undefined): string => (set ? t.passphraseIsSet : t.passphraseNotSet);
  return (
    <section className="card" aria-label={t.passphrasesTitle}>
      <h2>{t.passphrasesTitle}</h2>
      <ul>
        <li>
          {t.roleReviewer}: <strong data-testid="passphrase-reviewer">{state(flags?.reviewer)}</strong>
        </li>
        <li>
          {t.roleAdmin}: <strong data-testid="passphrase-admin">{state(flags?.admin)}</strong>
        </li>
      </ul>
      <label className="field">
        {t.role}
        <select
          value={role}
          onChange={(e) => {
            setRole(e.target.value as 'reviewer' | 'admin');
            setSaved(null);
          }}
        >
          <option value="reviewer">{t.roleReviewer}</option>
          <option value="admin">{t.roleAdmin}</option>
        </select>
      </label>
      <PassphraseForm
        role={role}
        submitLabel={t.savePassphrase}
        onSaved={() => {
          setSaved(role);
          void api.session({}).then(
            (s) => setFlags(s.passphrases),
            () => undefined,
          );
        }}
      />
      {saved && (
        <div className="banner ok" role="status">
          {t.passphraseSavedFor} {name(saved)}
        </div>
      )}
    </section>
  );
}

export function SettingsPage({ onChanged }: { onChanged: () => void }) {
  const t = useT();
  const canChange = useCan('admin');
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
    <>
      <form
        className="settings card"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label className="field">
          {t.settingsLanguage}
          <select
            value={s.locale}
            onChange={(e) => {
              const locale = e.target.value as Settings['locale'];
              setS({ ...s, locale });
              // Anyone may switch the language; it is saved at once for those who cannot save the rest.
              if (!canChange) void api.updateSettings({ locale }).then(onChanged, () => undefined);
            }}
          >
            <option value="zh-TW">繁體中文</option>
            <option value="en">English</option>
          </select>
        </label>
        <label className="field">
          {t.settingsDataDir}
          <input value={home} readOnly />
        </label>
        {!canChange && <p className="muted">{t.settingsAdminOnly}</p>}
        <fieldset className="plain" disabled={!canChange}>
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
        </fieldset>
        {canChange && (
          <button className="big-button primary" type="submit">
            {t.save}
          </button>
        )}
        {saved && <span className="ok-text">{t.saved}</span>}
        {error && <div className="banner error">{error}</div>}
      </form>
      {canChange && <Passphrases />}
    </>
  );
}
