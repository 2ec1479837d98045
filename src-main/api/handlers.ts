/**
 * The contract's methods implemented over the core services, composed from one module per feature
 * (the renderer's pages): `status.ts`, `ask.ts`, `library.ts`, `usb.ts`, `datasets.ts`, `models.ts`,
 * `settings.ts`, `access.ts` (roles), `audit.ts`. Each method checks the caller's role itself; what
 * they share (audit, clearance checks, the update lock, events) is in `api-context.ts`.
 *
 * Both transports — Electron IPC and the loopback HTTP bridge — call `invoke`, which validates the
 * input against the contract's schema and returns an Envelope (a result, or an error in plain words).
 */
import { EventEmitter } from 'node:events';
import { METHOD_NAMES, schemas, type Envelope, type FieldbookEvent, type MethodName } from '../../src-preload/contract';
import type { AccessSession } from '../core/access/roles';
import { describeError, FieldbookError } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import { accessHandlers, sessionInfo } from './access';
import { createApiContext, type ApiEvents, type ApiHost, type Handlers } from './api-context';
import { askHandlers } from './ask';
import { auditHandlers } from './audit';
import { datasetHandlers } from './datasets';
import { libraryHandlers } from './library';
import { modelHandlers } from './models';
import { settingsHandlers } from './settings';
import { statusHandlers } from './status';
import { usbHandlers } from './usb';

export type { ApiHost, Handlers } from './api-context';

export interface Api {
  /** Validate and run one contract call for the given user session. */
  invoke(method: string, input: unknown, session: AccessSession): Promise<Envelope<unknown>>;
  /** Progress and streaming events, with the session whose call caused each. */
  events: ApiEvents;
  handlers: Handlers;
}

export function createApi(fb: Fieldbook, host: ApiHost): Api {
  const events = new EventEmitter<{ event: [FieldbookEvent, AccessSession] }>();
  const ctx = createApiContext(fb, host, events);
  const handlers: Handlers = {
    ...statusHandlers(ctx),
    ...askHandlers(ctx),
    ...libraryHandlers(ctx),
    ...usbHandlers(ctx),
    ...datasetHandlers(ctx),
    ...modelHandlers(ctx),
    ...settingsHandlers(ctx),
    ...accessHandlers(ctx),
    ...auditHandlers(ctx),
  };

  /** The role each session had after its previous call, to tell the UI when it changes (e.g. dropped when idle). */
  const lastRoles = new WeakMap<AccessSession, ReturnType<AccessSession['role']>>();
  const followRole = (method: MethodName, s: AccessSession): void => {
    const before = lastRoles.get(s);
    const now = s.role();
    lastRoles.set(s, now);
    if (before === undefined || before === now) return;
    // Elevated to reader without dropRole or a new admin passphrase (which ends setup mode): the idle timeout.
    const idle = now === 'reader' && method !== 'dropRole' && method !== 'setPassphrase';
    ctx.emit({ type: 'session', session: sessionInfo(fb.db, s), reason: idle ? 'idle' : 'changed' }, s);
  };

  return {
    events,
    handlers,
    async invoke(method, input, session) {
      const locale = fb.settings().locale;
      if (!(METHOD_NAMES as string[]).includes(method)) {
        return {
          ok: false,
          error: describeError(new FieldbookError('INVALID_INPUT', { detail: `unknown method ${method}` }), locale),
        };
      }
      const m = method as MethodName;
      const parsed = schemas[m].safeParse(input ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const detail = `${m}: ${issue ? `${issue.path.join('.') || 'input'} — ${issue.message}` : 'invalid input'}`;
        return { ok: false, error: describeError(new FieldbookError('INVALID_INPUT', { detail }), locale) };
      }
      try {
        const handler = handlers[m] as (i: unknown, s: AccessSession) => Promise<unknown>;
        return { ok: true, result: await handler(parsed.data, session) };
      } catch (err) {
        return { ok: false, error: describeError(err, locale) };
      } finally {
        followRole(m, session);
      }
    },
  };
}
