/**
 * An in-app confirmation for an action that cannot be undone from the same screen (remove a
 * document, reject a suggested correction): a modal dialog with large buttons, Cancel first
 * in focus order so a stray Enter does not confirm.
 */
import { useT } from '../i18n';
import { Modal } from './Modal';

export function ConfirmDialog(props: {
  title: string;
  body?: string;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { title, body, confirmLabel, onConfirm, onCancel } = props;
  const t = useT();
  return (
    <Modal label={title} onClose={onCancel} className="small">
      <h2>{title}</h2>
      {body && <p>{body}</p>}
      <div className="row-actions">
        <button className="big-button" onClick={onCancel}>
          {t.kbCancel}
        </button>
        <button className="big-button danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
