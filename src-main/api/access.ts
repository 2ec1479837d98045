/**
 * Roles: the session's role, elevating with a passphrase (a growing wait after repeated wrong ones),
 * dropping back to reader, and setting passphrases (the first admin one in setup mode).
 */
import type { SessionInfo } from '../../src-preload/contract';
import { hasPassphrase, setPassphrase, type AccessSession } from '../core/access/roles';
import { FieldbookError } from '../core/errors';
import type { Db } from '../core/store/db';
import type { ApiContext, HandlerGroup } from './api-context';

/** What the UI shows of a session: role, clearance, which passphrases exist, setup mode. */
export function sessionInfo(db: Db, s: AccessSession): SessionInfo {
  return {
    role: s.role(),
    clearance: s.clearance(),
    passphrases: { reviewer: hasPassphrase(db, 'reviewer'), admin: hasPassphrase(db, 'admin') },
    setupMode: !hasPassphrase(db, 'admin'),
  };
}

export function accessHandlers(ctx: ApiContext): HandlerGroup<'session' | 'elevate' | 'dropRole' | 'setPassphrase'> {
  const { fb, audit } = ctx;
  /** Wrong-passphrase streaks per session, for a growing wait after 5 in a row. */
  const elevateLocks = new WeakMap<AccessSession, { failures: number; until: number }>();
  return {
    async session(_input, s) {
      return sessionInfo(fb.db, s);
    },
    async elevate(input, s) {
      const lock = elevateLocks.get(s);
      const now = Date.now();
      if (lock && lock.until > now)
        throw new FieldbookError('ELEVATION_LOCKED', {
          detail: `too many wrong passphrases: try again in ${Math.ceil((lock.until - now) / 1000)} s`,
        });
      if (!s.elevate(input.role, input.passphrase)) {
        const failures = (lock?.failures ?? 0) + 1;
        // After 5 wrong guesses in a row, each further guess waits 30 s more (scrypt also costs ~0.25 s each).
        elevateLocks.set(s, { failures, until: failures >= 5 ? now + 30_000 * (failures - 4) : 0 });
        audit(s, 'role.elevate-failed', input.role, { failures });
        throw new FieldbookError('PASSPHRASE_WRONG', {
          detail: 'wrong passphrase, or no passphrase set for this role',
        });
      }
      elevateLocks.delete(s);
      audit(s, 'role.elevate', input.role);
      return sessionInfo(fb.db, s);
    },
    async dropRole(_input, s) {
      s.drop();
      audit(s, 'role.drop', null);
      return sessionInfo(fb.db, s);
    },
    async setPassphrase(input, s) {
      // First run: whoever sits at the PC sets the first admin passphrase; afterwards only an admin may.
      if (hasPassphrase(fb.db, 'admin')) s.require('admin', 'Setting passphrases');
      else if (input.role !== 'admin')
        throw new FieldbookError('ACCESS_DENIED', { detail: 'set the admin passphrase first' });
      setPassphrase(fb.db, input.role, input.passphrase, new Date());
      audit(s, 'role.passphrase', input.role);
      return { ok: true };
    },
  };
}
