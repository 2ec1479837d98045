#!/usr/bin/env node
/**
 * Electron is an optional dependency of Fieldbook. Its own install step downloads a ~100 MB
 * binary from outside the npm registry, which an offline or air-gapped build machine cannot
 * reach; as an optional dependency its failure no longer fails `npm install`, but npm then
 * removes the package.
 *
 *   node bin/ensure-electron.mjs            (npm's postinstall)
 *     If npm removed the package, put it back without its binary (same version as the lock
 *     file, install scripts off, lock file untouched), so type-checking, `electron-vite build`
 *     and the shell's tests work everywhere. Never fails the install.
 *
 *   node bin/ensure-electron.mjs --binary   (before `npm start`, `npm run dev`, `npm run dist:*`)
 *     Make sure the Electron binary is there, downloading it now if needed; says clearly what
 *     to do when it cannot.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const electronDir = path.join(root, 'node_modules', 'electron');

function lockedElectronVersion() {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const entry = lock.packages?.['node_modules/electron'];
  if (!entry?.version) throw new Error('package-lock.json has no entry for electron');
  return entry.version;
}

function packageInstalled() {
  return fs.existsSync(path.join(electronDir, 'package.json'));
}

function binaryInstalled() {
  try {
    const rel = fs.readFileSync(path.join(electronDir, 'path.txt'), 'utf8').trim();
    return rel !== '' && fs.existsSync(path.join(electronDir, 'dist', rel));
  } catch {
    return false;
  }
}

function npm(args) {
  const cmd = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
}

function restorePackageWithoutBinary() {
  if (packageInstalled()) return;
  const version = lockedElectronVersion();
  console.log(
    `\nfieldbook: the Electron binary could not be downloaded (offline machine?). ` +
      `Installing the electron ${version} package without its binary, so that the CLI, ` +
      `the browser UI (npm run serve), type checks and tests work. ` +
      `"npm start" will try the download again.\n`,
  );
  const result = npm(['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `electron@${version}`]);
  if (result.status !== 0 || !packageInstalled()) {
    console.warn(
      'fieldbook: could not install the electron package; the desktop shell cannot be ' +
        'type-checked or built on this machine (the CLI and `npm run serve` still work).',
    );
  }
}

function ensureBinary() {
  if (!packageInstalled()) restorePackageWithoutBinary();
  if (binaryInstalled()) return 0;
  console.log('fieldbook: downloading the Electron binary…');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const result = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], {
    cwd: electronDir,
    stdio: 'inherit',
    env,
  });
  if (result.status === 0 && binaryInstalled()) return 0;
  console.error(
    '\nfieldbook: the Electron binary is not installed and could not be downloaded.\n' +
      '  The desktop app and installers need it: run this command on a machine with internet\n' +
      '  access (or copy node_modules/electron/dist from one with the same version).\n' +
      '  Without it, use the same UI in a browser: npm run serve\n',
  );
  return 1;
}

if (process.argv.includes('--binary')) {
  process.exit(ensureBinary());
} else {
  try {
    restorePackageWithoutBinary();
  } catch (err) {
    console.warn(`fieldbook: electron setup skipped: ${err instanceof Error ? err.message : err}`);
  }
}
