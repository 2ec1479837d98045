/**
 * The signed-in role as the server sees it. The App keeps it current from `session` calls and
 * the server's `session` events (a role dropped for inactivity is noticed on the next call), so
 * pages show only the controls the role can use.
 */
import { createContext, useContext } from 'react';
import type { SessionInfo } from '../../src-preload/contract';

export type Role = SessionInfo['role'];

const RANK: Record<Role, number> = { reader: 0, reviewer: 1, admin: 2 };

export const SessionContext = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo | null {
  return useContext(SessionContext);
}

/** Whether the session's role is at least `needed` (no session yet: nothing beyond reading). */
export function hasRole(session: SessionInfo | null, needed: Role): boolean {
  return RANK[session?.role ?? 'reader'] >= RANK[needed];
}

/** Shorthand for pages: may the current role do what needs `needed`? */
export function useCan(needed: Role): boolean {
  return hasRole(useSession(), needed);
}
