/**
 * The data folder holds the knowledge base (restricted passages, passphrase hashes, API key
 * hashes), snapshots, library files and models: only the user running Fieldbook may read it.
 *
 * POSIX: the folder and every folder inside it 0700, every file 0600, fixed on each start for
 * what earlier versions (or a copy, or a restore) left readable — the database and its -wal/-shm
 * files, library/, snapshots (backups), models, staged bundles. Links are never followed.
 * Windows: best effort — icacls drops inherited entries and grants the current user alone full
 * control on the folder (inherited by everything in it); a failure is ignored.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export interface PrivacyHost {
  platform: NodeJS.Platform;
  /** Runs icacls with these arguments (Windows). */
  icacls(args: string[]): void;
  /** The account to grant (Windows), e.g. "PLANT\\tech01". */
  user(): string;
}

const defaultHost: PrivacyHost = {
  platform: process.platform,
  icacls: (args) => {
    execFileSync('icacls', args, { stdio: 'ignore', windowsHide: true, timeout: 30_000 });
  },
  user: () =>
    process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${os.userInfo().username}` : os.userInfo().username,
};

/** chmod unless already private; a file that vanished or is not ours is left as it is. */
function tighten(file: string, st: fs.Stats, mode: number): void {
  if ((st.mode & 0o777) === mode) return;
  try {
    fs.chmodSync(file, mode);
  } catch {
    // Not ours (EPERM) or gone: nothing more can be done here.
  }
}

/** Make an existing file or folder tree private (POSIX), without following links. */
export function tightenTree(root: string): void {
  const stack = [root];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    const st = fs.lstatSync(current, { throwIfNoEntry: false });
    if (!st || st.isSymbolicLink()) continue;
    if (st.isDirectory()) {
      tighten(current, st, PRIVATE_DIR_MODE);
      let names: string[] = [];
      try {
        names = fs.readdirSync(current);
      } catch {
        continue;
      }
      for (const name of names) stack.push(path.join(current, name));
    } else if (st.isFile()) tighten(current, st, PRIVATE_FILE_MODE);
  }
}

/** Create the data folder if needed and make it (and everything already in it) private. */
export function makeDataFolderPrivate(home: string, host: PrivacyHost = defaultHost): void {
  fs.mkdirSync(home, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (host.platform === 'win32') {
    try {
      host.icacls([home, '/inheritance:r', '/grant:r', `${host.user()}:(OI)(CI)F`]);
    } catch {
      // Best effort: the folder keeps the ACL it inherited (the user profile's, normally private).
    }
    return;
  }
  tightenTree(home);
}

/** Create an empty file readable by its owner only (no-op when it exists: its mode is fixed by the tree pass). */
export function createPrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
}
