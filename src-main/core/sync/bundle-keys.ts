/** Publisher signing keys: generate a pair (master workstation), and the trust list of an isolated PC. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { FieldbookError } from '../errors';
import type { Db } from '../store/db';
import { keyFingerprint } from './bundle-manifest';

export function generateSigningKeys(): { publicKeyPem: string; privateKeyPem: string; fingerprint: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    publicKeyPem,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint: keyFingerprint(publicKeyPem),
  };
}

/** Trust a publisher's Ed25519 public key (PEM) under a name; returns its fingerprint. */
export function trustKey(db: Db, publicKeyPem: string, name: string, now: Date): string {
  let type: string | undefined;
  try {
    type = createPublicKey(publicKeyPem).asymmetricKeyType;
  } catch {
    type = undefined;
  }
  if (type !== 'ed25519')
    throw new FieldbookError('BUNDLE_INVALID', {
      detail: 'not an Ed25519 public key in PEM form (use the .pub.pem file from `bundle keys generate`)',
    });
  const fp = keyFingerprint(publicKeyPem);
  db.prepare(
    'INSERT INTO trusted_keys(fingerprint, name, public_pem, added_at) VALUES (?, ?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET name = excluded.name',
  ).run(fp, name, publicKeyPem, now.toISOString());
  return fp;
}

/** Stop trusting a signing key (bundles it signed are refused from now on). False if it was not trusted. */
export function untrustKey(db: Db, fingerprint: string): boolean {
  return db.prepare('DELETE FROM trusted_keys WHERE fingerprint = ?').run(fingerprint).changes > 0;
}

export function listTrustedKeys(db: Db): Array<{ fingerprint: string; name: string; addedAt: string }> {
  return db.prepare('SELECT fingerprint, name, added_at AS addedAt FROM trusted_keys ORDER BY name').all() as Array<{
    fingerprint: string;
    name: string;
    addedAt: string;
  }>;
}
