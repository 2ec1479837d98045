/** Test helpers for USB bundles. */
import { sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BundleManifest } from '../../src-main/core/sync/bundle-manifest';

/** Edit a bundle folder's manifest and sign it again with `privateKeyPem` (a validly signed hostile bundle). */
export function resignBundle(dir: string, privateKeyPem: string, edit: (m: BundleManifest) => void): void {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
  edit(m);
  const bytes = Buffer.from(JSON.stringify(m, null, 2));
  fs.writeFileSync(path.join(dir, 'manifest.json'), bytes);
  fs.writeFileSync(path.join(dir, 'manifest.sig'), sign(null, bytes, privateKeyPem).toString('base64'));
}
