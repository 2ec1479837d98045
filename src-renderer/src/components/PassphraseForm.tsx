/**
 * Set or change a role's passphrase: typed twice, checked here (length, match) so the user
 * gets plain words before anything is sent, then saved through `setPassphrase`.
 */
import { useState } from 'react';
import { api, errorText } from '../api';
import { useT } from '../i18n';

/** The server's minimum (src-main/core/access/roles.ts). */
export const MIN_PASSPHRASE = 8;

export function PassphraseForm(props: { role: 'reviewer' | 'admin'; submitLabel: string; onSaved: () => void }) {
  const { role, submitLabel, onSaved } = props;
  const t = useT();
  const [first, setFirst] = useState('');
  const [second, setSecond] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="settings"
      onSubmit={async (e) => {
        e.preventDefault();
        if (first.length < MIN_PASSPHRASE) return setError(t.passphraseTooShort);
        if (first !== second) return setError(t.passphraseMismatch);
        setError(null);
        setBusy(true);
        try {
          await api.setPassphrase({ role, passphrase: first });
          setFirst('');
          setSecond('');
          onSaved();
        } catch (err) {
          setError(errorText(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <label className="field">
        {t.newPassphrase}
        <input type="password" autoComplete="new-password" value={first} onChange={(e) => setFirst(e.target.value)} />
      </label>
      <label className="field">
        {t.repeatPassphrase}
        <input type="password" autoComplete="new-password" value={second} onChange={(e) => setSecond(e.target.value)} />
      </label>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <button className="big-button primary" type="submit" disabled={busy || !first || !second}>
        {submitLabel}
      </button>
    </form>
  );
}
