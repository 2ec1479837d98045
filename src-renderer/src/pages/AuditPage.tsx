/** Audit: the hash-chained log with a filter, an integrity check and export for auditors. */
import { useCallback, useEffect, useState } from 'react';
import type { Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';
import { useCan } from '../session';
import { auditActionName, formatTime, roleName } from '../display';

export function AuditPage() {
  const t = useT();
  const canExport = useCan('admin');
  const [entries, setEntries] = useState<Outputs['auditList']>([]);
  const [action, setAction] = useState('');
  const [check, setCheck] = useState<Outputs['auditVerify'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api
      .auditList(action ? { action, limit: 500 } : { limit: 500 })
      .then(setEntries, (err: unknown) => setError(errorText(err)));
  }, [action]);
  useEffect(() => {
    load();
  }, [load]);
  const download = async (format: 'jsonl' | 'csv'): Promise<void> => {
    try {
      const { text } = await api.auditExport({ format });
      const url = URL.createObjectURL(
        new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = `fieldbook-audit.${format}`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const actions = [
    '',
    'ingest',
    'document.delete',
    'document.labels',
    'settings.change',
    'model.approve',
    'role.elevate',
    'role.elevate-failed',
    'access.denied',
    'question',
    'feedback',
    'feedback.review',
  ];
  return (
    <div className="audit">
      <div className="toolbar">
        <select
          className="search"
          value={action}
          onChange={(e) => setAction(e.target.value)}
          aria-label={t.auditAction}
        >
          {actions.map((a) => (
            <option key={a} value={a}>
              {a ? auditActionName(t, a) : t.any}
            </option>
          ))}
        </select>
        <button
          className="big-button primary"
          onClick={() => api.auditVerify({}).then(setCheck, (err: unknown) => setError(errorText(err)))}
        >
          {t.auditVerify}
        </button>
        {/* Exporting the log is for administrators (reviewers read and check it). */}
        {canExport && (
          <>
            <button className="big-button" onClick={() => void download('csv')}>
              CSV
            </button>
            <button className="big-button" onClick={() => void download('jsonl')}>
              JSONL
            </button>
          </>
        )}
      </div>
      {check && (
        <div className={`banner ${check.ok ? 'ok' : 'error'}`} title={check.reason ?? check.head}>
          {check.ok
            ? `${t.auditIntact} (${check.entries})${check.anchor ? ` · ${t.auditAnchored}` : ''}`
            : `${t.auditTampered}: ${check.finding ? t.auditFindings[check.finding] : check.reason}${
                check.firstBadId !== null ? ` (#${check.firstBadId})` : ''
              }`}
        </div>
      )}
      {error && <div className="banner error">{error}</div>}
      <table className="docs">
        <thead>
          <tr>
            <th>#</th>
            <th>{t.auditTime}</th>
            <th>{t.role}</th>
            <th>{t.auditWho}</th>
            <th>{t.auditAction}</th>
            <th>{t.auditTarget}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>{e.id}</td>
              <td>{formatTime(t, e.at)}</td>
              <td>{roleName(t, e.role)}</td>
              <td>{e.actor}</td>
              <td>{auditActionName(t, e.action)}</td>
              <td className="path">{e.target}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
