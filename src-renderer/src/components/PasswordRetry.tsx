/**
 * "Enter password" on a file that failed because it is a password-protected PDF. The password
 * is held only in this form until it is sent with that one ingest call, then cleared; a wrong
 * password keeps the form open with the reason.
 */
import { useState } from 'react';
import { api, errorText } from '../api';
import { useT } from '../i18n';

export function PasswordRetry(props: { file: string; onAdded: () => void }) {
  const { file, onAdded } = props;
  const t = useT();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const close = (): void => {
    setOpen(false);
    setPassword('');
    setError(null);
  };
  if (!open) {
    return (
      <button className="big-button" onClick={() => setOpen(true)}>
        {t.enterPassword}
      </button>
    );
  }
  return (
    <form
      className="password-retry"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const report = await api.ingest({ paths: [file], password });
          const result = report.files.find((f) => f.file === file) ?? report.files[0];
          if (result?.error) setError(`${result.error.message} — ${result.error.hint}`);
          else {
            close();
            onAdded();
          }
        } catch (err) {
          setError(errorText(err));
        } finally {
          setPassword('');
          setBusy(false);
        }
      }}
    >
      <label className="field">
        {t.pdfPassword}
        <input
          type="password"
          autoComplete="off"
          autoFocus
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <button className="big-button primary" type="submit" disabled={busy || !password}>
        {t.openWithPassword}
      </button>
      <button className="big-button" type="button" disabled={busy} onClick={close}>
        {t.closePassword}
      </button>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
    </form>
  );
}
