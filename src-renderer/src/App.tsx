/**
 * The shell: navigation (inline on wide screens, a menu button on narrow ones and at high zoom),
 * the role as the server reports it (events on every change, a notice when it timed out),
 * status bar (which search/answer mode is active), the setup-mode banner and the pages.
 */
import { useCallback, useEffect, useState } from 'react';
import type { AppStatus, SessionInfo } from '../../src-preload/contract';
import { api, errorText } from './api';
import { I18nContext, MESSAGES } from './i18n';
import { MenuButton } from './components/MenuButton';
import { RoleButton, RoleDialog, type RoleDialogKind } from './components/RoleSwitch';
import { hasRole, SessionContext } from './session';
import { AskPage } from './pages/AskPage';
import { AuditPage } from './pages/AuditPage';
import { DatasetsPage } from './pages/DatasetsPage';
import { UsbImportPage } from './pages/UsbImportPage';
import { LibraryPage } from './pages/LibraryPage';
import { ModelsPage } from './pages/ModelsPage';
import { SettingsPage } from './pages/SettingsPage';

export type PageId = 'ask' | 'library' | 'models' | 'settings' | 'audit' | 'datasets' | 'usb';

/** Pages only a reviewer or administrator can use (their tabs are hidden from technicians). */
const REVIEWER_PAGES: ReadonlySet<PageId> = new Set(['usb', 'datasets', 'audit']);

export function App() {
  const [page, setPage] = useState<PageId>('ask');
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [locale, setLocale] = useState<'en' | 'zh-TW'>('zh-TW');
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [roleDialog, setRoleDialog] = useState<RoleDialogKind | null>(null);
  const [roleTimedOut, setRoleTimedOut] = useState(false);

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
    api.session({}).then(
      (s) => setSession(s ?? null),
      () => undefined,
    );
    // The server says when the role changes, e.g. dropped back to technician after inactivity.
    return api.onEvent((e) => {
      if (e.type !== 'session') return;
      setSession(e.session);
      setRoleTimedOut(e.reason === 'idle');
    });
  }, [refresh]);

  const onSession = useCallback(
    (s: SessionInfo) => {
      setSession(s);
      setRoleTimedOut(false);
      void refresh();
    },
    [refresh],
  );

  const t = MESSAGES[locale];
  const canReview = hasRole(session, 'reviewer');
  const nav: Array<[PageId, string]> = (
    [
      ['ask', t.navAsk],
      ['library', t.navLibrary],
      ['models', t.navModels],
      ['settings', t.navSettings],
      ['usb', t.navUsb],
      ['datasets', t.navDatasets],
      ['audit', t.navAudit],
    ] as Array<[PageId, string]>
  ).filter(([id]) => canReview || !REVIEWER_PAGES.has(id));
  // A page whose tab went away (role dropped or timed out) is not left on screen.
  const shown: PageId = nav.some(([id]) => id === page) ? page : 'ask';
  useEffect(() => {
    if (shown !== page) setPage(shown);
  }, [shown, page]);
  const pageLabel = nav.find(([id]) => id === shown)?.[1] ?? t.navAsk;

  return (
    <I18nContext.Provider value={t}>
      <SessionContext.Provider value={session}>
        <div className="app" lang={locale === 'zh-TW' ? 'zh-Hant' : 'en'}>
          <header className="topbar">
            <h1 className="brand">{t.appName}</h1>
            <nav className="nav" aria-label={t.navMenu}>
              {nav.map(([id, label]) => (
                <button
                  key={id}
                  className={`nav-button${shown === id ? ' active' : ''}`}
                  aria-current={shown === id ? 'page' : undefined}
                  onClick={() => setPage(id)}
                >
                  {label}
                </button>
              ))}
            </nav>
            <div className="nav-compact">
              <MenuButton
                className="nav-button menu-button"
                label={`☰ ${pageLabel}`}
                ariaLabel={`${t.navMenu}: ${pageLabel}`}
              >
                {(close) =>
                  nav.map(([id, label]) => (
                    <button
                      key={id}
                      className={`menu-item${shown === id ? ' active' : ''}`}
                      aria-current={shown === id ? 'page' : undefined}
                      onClick={() => {
                        setPage(id);
                        close();
                      }}
                    >
                      {label}
                    </button>
                  ))
                }
              </MenuButton>
            </div>
            {session && <RoleButton session={session} onOpen={setRoleDialog} onChanged={onSession} />}
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
          {session?.setupMode && (
            <div className="banner warn setup-banner" role="status">
              <span>{t.setupBanner}</span>
              <button className="big-button" onClick={() => setRoleDialog('setup')}>
                {t.setupNow}
              </button>
            </div>
          )}
          {roleTimedOut && (
            <div className="banner warn setup-banner" role="alert">
              <span>{t.roleTimedOut}</span>
              <button className="big-button" onClick={() => setRoleDialog('elevate')}>
                {t.switchRole}
              </button>
              <button className="big-button" onClick={() => setRoleTimedOut(false)}>
                {t.dismiss}
              </button>
            </div>
          )}
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
            {shown === 'ask' && <AskPage status={status} />}
            {shown === 'library' && <LibraryPage onChanged={refresh} />}
            {shown === 'models' && <ModelsPage onChanged={refresh} />}
            {shown === 'settings' && <SettingsPage onChanged={refresh} />}
            {shown === 'audit' && <AuditPage />}
            {shown === 'datasets' && <DatasetsPage />}
            {shown === 'usb' && <UsbImportPage onChanged={refresh} />}
          </main>
          {roleDialog && session && (
            <RoleDialog kind={roleDialog} onClose={() => setRoleDialog(null)} onChanged={onSession} />
          )}
        </div>
      </SessionContext.Provider>
    </I18nContext.Provider>
  );
}
