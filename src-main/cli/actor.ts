import os from 'node:os';
import { CLEARANCE } from '../core/access/roles';
import type { AuditInput } from '../core/audit/audit-log';

/** Who the audit log records for a command run in a terminal. */
export const cliActor = (): string => `cli:${os.userInfo().username}`;

/**
 * The CLI runs with the rights of whoever can open the data folder: it acts as admin (and reads
 * with the admin's clearance), and every change it makes is audited as `cli:<user>`.
 */
export const CLI_ROLE = 'admin' as const;
export const CLI_CLEARANCE = CLEARANCE[CLI_ROLE];

/** An audit entry written by the CLI. */
export const cliEntry = (
  action: AuditInput['action'],
  target: string | null,
  detail: Record<string, unknown> = {},
): AuditInput => ({ actor: cliActor(), role: CLI_ROLE, action, target, detail });
