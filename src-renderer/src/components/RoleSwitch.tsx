/**
 * Who is using the app: the role button in the top bar (with a menu to go back to technician
 * or switch role), the switch-role dialog, and the first-run dialog that sets the
 * administrator passphrase (typed twice, with a confirmation).
 */
import { useState } from 'react';
import type { SessionInfo } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';
import { MenuButton } from './MenuButton';
import { Modal } from './Modal';
import { PassphraseForm } from './PassphraseForm';

export type RoleDialogKind = 'elevate' | 'setup';

export function RoleButton(props: {
  session: SessionInfo;
  onOpen: (kind: RoleDialogKind) => void;
  onChanged: (s: SessionInfo) => void;
}) {
  const { session, onOpen, onChanged } = props;
  const t = useT();
  if (session.setupMode) {
    return (
      <button className="role-button" onClick={() => onOpen('setup')}>
        {t.roleSetupMode}
      </button>
    );
  }
  if (session.role === 'reader') {
    return (
      <button className="role-button" onClick={() => onOpen('elevate')}>
        {t.roleReader}
      </button>
    );
  }
  const roleName = session.role === 'admin' ? t.roleAdmin : t.roleReviewer;
  return (
    <MenuButton className="role-button" label={`${roleName} ▾`} ariaLabel={`${t.role}: ${roleName}`}>
      {(close) => (
        <>
          <button
            className="menu-item"
            onClick={() => {
              close();
              void api.dropRole({}).then(onChanged, () => undefined);
            }}
          >
            {t.signOut}
          </button>
          <button
            className="menu-item"
            onClick={() => {
              close();
              onOpen('elevate');
            }}
          >
            {t.switchRole}…
          </button>
        </>
      )}
    </MenuButton>
  );
}

function ElevateForm({ onChanged }: { onChanged: (s: SessionInfo) => void }) {
  const t = useT();
  const [role, setRole] = useState<'reviewer' | 'admin'>('reviewer');
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="settings"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          onChanged(await api.elevate({ role, passphrase }));
        } catch (err) {
          setError(errorText(err));
        }
      }}
    >
      <label className="field">
        {t.role}
        <select value={role} onChange={(e) => setRole(e.target.value as 'reviewer' | 'admin')}>
          <option value="reviewer">{t.roleReviewer}</option>
          <option value="admin">{t.roleAdmin}</option>
        </select>
      </label>
      <label className="field">
        {t.passphrase}
        <input
          type="password"
          autoComplete="current-password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
        />
      </label>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <button className="big-button primary" type="submit" disabled={!passphrase}>
        {t.signIn}
      </button>
    </form>
  );
}

export function RoleDialog(props: { kind: RoleDialogKind; onClose: () => void; onChanged: (s: SessionInfo) => void }) {
  const { kind, onClose, onChanged } = props;
  const t = useT();
  const [done, setDone] = useState(false);
  const title = kind === 'setup' ? t.setAdminPassphrase : t.switchRole;
  return (
    <Modal label={title} onClose={onClose} className="small">
      <div className="viewer-head">
        <h2>{title}</h2>
        <button className="big-button" onClick={onClose}>
          ✕ {t.close}
        </button>
      </div>
      {kind === 'elevate' && (
        <ElevateForm
          onChanged={(s) => {
            onChanged(s);
            onClose();
          }}
        />
      )}
      {kind === 'setup' && !done && (
        <>
          <p className="banner warn">{t.setupModeBody}</p>
          <PassphraseForm
            role="admin"
            submitLabel={t.save}
            onSaved={() => {
              setDone(true);
              void api.session({}).then(onChanged, () => undefined);
            }}
          />
        </>
      )}
      {kind === 'setup' && done && (
        <p className="banner ok" role="status">
          {t.adminPassphraseSet}
        </p>
      )}
    </Modal>
  );
}
