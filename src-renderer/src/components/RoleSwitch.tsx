/** Who is using the app: role badge, switch to reviewer/admin with a passphrase, drop back to technician. */
import { useEffect, useState } from 'react';
import type { SessionInfo } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';

export function RoleSwitch({ onChanged }: { onChanged: (s: SessionInfo) => void }) {
  const t = useT();
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState<'reviewer' | 'admin'>('reviewer');
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.session({}).then(
      (s) => {
        setSession(s);
        onChanged(s);
      },
      () => undefined,
    );
  }, [onChanged]);
  if (!session) return null;
  const update = (s: SessionInfo): void => {
    setSession(s);
    onChanged(s);
  };
  const roleName = { reader: t.roleReader, reviewer: t.roleReviewer, admin: t.roleAdmin }[session.role];
  return (
    <>
      <button
        className="role-button"
        onClick={() =>
          session.role === 'reader' || session.setupMode ? setOpen(true) : void api.dropRole({}).then(update)
        }
      >
        {roleName}
        {session.role !== 'reader' && !session.setupMode ? ` · ${t.signOut}` : ''}
      </button>
      {open && (
        <div className="viewer small" role="dialog" aria-modal="true" aria-label={t.switchRole}>
          <div className="viewer-head">
            <h2>{session.setupMode ? t.setAdminPassphrase : t.switchRole}</h2>
            <button className="big-button" onClick={() => setOpen(false)}>
              ✕ {t.close}
            </button>
          </div>
          {session.setupMode && <p className="banner warn">{t.setupModeBody}</p>}
          <form
            className="settings"
            onSubmit={async (e) => {
              e.preventDefault();
              setError(null);
              try {
                if (session.setupMode) {
                  await api.setPassphrase({ role: 'admin', passphrase });
                  update(await api.session({}));
                } else update(await api.elevate({ role, passphrase }));
                setPassphrase('');
                setOpen(false);
              } catch (err) {
                setError(errorText(err));
              }
            }}
          >
            {!session.setupMode && (
              <label className="field">
                {t.role}
                <select value={role} onChange={(e) => setRole(e.target.value as 'reviewer' | 'admin')}>
                  <option value="reviewer">{t.roleReviewer}</option>
                  <option value="admin">{t.roleAdmin}</option>
                </select>
              </label>
            )}
            <label className="field">
              {t.passphrase}
              <input
                type="password"
                autoComplete="current-password"
                value={passphrase}
                onChange={(e) => setPassphrase(e.target.value)}
              />
            </label>
            <button className="big-button primary" type="submit" disabled={!passphrase}>
              {session.setupMode ? t.save : t.signIn}
            </button>
            {error && <div className="banner error">{error}</div>}
          </form>
        </div>
      )}
    </>
  );
}
