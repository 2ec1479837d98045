/** The shell: navigation, status bar (which search/answer mode is active) and the pages. */
import { useCallback, useEffect, useState } from 'react';
import type { AppStatus, SessionInfo } from '../../src-preload/contract';
import { api, errorText } from './api';
import { I18nContext, MESSAGES } from './i18n';
import { RoleSwitch } from './components/RoleSwitch';
import { AskPage } from './pages/AskPage';
import { AuditPage } from './pages/AuditPage';
import { DatasetsPage } from './pages/DatasetsPage';
import { UsbImportPage } from './pages/UsbImportPage';
import { LibraryPage } from './pages/LibraryPage';
import { ModelsPage } from './pages/ModelsPage';
import { SettingsPage } from './pages/SettingsPage';

export type PageId = 'ask' | 'library' | 'models' | 'settings' | 'audit' | 'datasets' | 'usb';

export function App() {
  const [page, setPage] = useState<PageId>('ask');
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [locale, setLocale] = useState<'en' | 'zh-TW'>('zh-TW');
  const [session, setSession] = useState<SessionInfo | null>(null);

  const refresh = useCallback(async () => {
    try {
      const s = await api.status({});
      setStatus(s);
      setLocale(s.locale);
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const onSession = useCallback(
    (s: SessionInfo) => {
      setSession(s);
      void refresh();
    },
    [refresh],
  );

  const t = MESSAGES[locale];
  const nav: Array<[PageId, string]> = [
    ['ask', t.navAsk],
    ['library', t.navLibrary],
    ['models', t.navModels],
    ['settings', t.navSettings],
    ...(session && session.role !== 'reader'
      ? ([
          ['usb', t.navUsb],
          ['datasets', t.navDatasets],
          ['audit', t.navAudit],
        ] as Array<[PageId, string]>)
      : []),
  ];

  return (
    <I18nContext.Provider value={t}>
      <div className="app" lang={locale === 'zh-TW' ? 'zh-Hant' : 'en'}>
        <header className="topbar">
          <h1 className="brand">{t.appName}</h1>
          <nav className="nav" aria-label="main">
            {nav.map(([id, label]) => (
              <button
                key={id}
                className={`nav-button${page === id ? ' active' : ''}`}
                aria-current={page === id ? 'page' : undefined}
                onClick={() => setPage(id)}
              >
                {label}
              </button>
            ))}
          </nav>
          <RoleSwitch onChanged={onSession} />
          <button
            className="lang-switch"
            onClick={async () => {
              const next = locale === 'zh-TW' ? 'en' : 'zh-TW';
              setLocale(next);
              await api.updateSettings({ locale: next }).catch(() => undefined);
            }}
          >
            {locale === 'zh-TW' ? 'English' : '中文'}
          </button>
        </header>
        {status && (
          <div className="statusbar" role="status">
            <span className={`badge ${status.searchMode}`}>
              {status.searchMode === 'hybrid' ? t.modeHybrid : t.modeKeyword}
            </span>
            <span className={`badge ${status.answerMode}`}>
              {status.answerMode === 'generative' ? t.modeGenerative : t.modeExtractive}
            </span>
            <span className="muted">
              {status.documents} {t.documents}
            </span>
            {status.problems.map((p) => (
              <span key={p} className="badge warn">
                {p}
              </span>
            ))}
          </div>
        )}
        {error && <div className="banner error">{error}</div>}
        <main className="page">
          {page === 'ask' && <AskPage status={status} />}
          {page === 'library' && <LibraryPage onChanged={refresh} />}
          {page === 'models' && <ModelsPage onChanged={refresh} />}
          {page === 'settings' && <SettingsPage onChanged={refresh} />}
          {page === 'audit' && <AuditPage />}
          {page === 'datasets' && <DatasetsPage />}
          {page === 'usb' && <UsbImportPage onChanged={refresh} />}
        </main>
      </div>
    </I18nContext.Provider>
  );
}
