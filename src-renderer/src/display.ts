/** Values shown in the UI's language: dates and times, roles, sensitivity labels, audit actions. */
import type { Messages } from './i18n';

/** A date and time in the UI language (zh-TW: 2026年12月2日 下午5:00). */
export function formatTime(t: Messages, value: string | number): string {
  return new Date(value).toLocaleString(t.locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A role's name; anything else (a CLI or API-key actor's role) as stored. */
export function roleName(t: Messages, role: string): string {
  if (role === 'reader') return t.roleReader;
  if (role === 'reviewer') return t.roleReviewer;
  if (role === 'admin') return t.roleAdmin;
  return role;
}

/** A sensitivity label's name. */
export function sensitivityName(t: Messages, level: string): string {
  return (t.sensitivityNames as Record<string, string>)[level] ?? level;
}

/** An audit action's name; an action this UI does not know (a newer version's) as stored. */
export function auditActionName(t: Messages, action: string): string {
  return (t.auditActions as Record<string, string>)[action] ?? action;
}
