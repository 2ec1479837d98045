import os from 'node:os';

/** Who the audit log records for a command run in a terminal. */
export const cliActor = (): string => `cli:${os.userInfo().username}`;
