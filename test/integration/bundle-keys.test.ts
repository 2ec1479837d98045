/**
 * The administrator's list of trusted publisher keys, through the API contract: only an
 * admin changes it, only Ed25519 public keys are accepted, and a removed key's bundles
 * are refused from then on. Every change is audited.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src-main/api/handlers';
import { createAccessSession, type AccessSession } from '../../src-main/core/access/roles';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { verifyBundle } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys } from '../../src-main/core/sync/bundle-keys';
import { samplesDir, tempDir } from '../support/paths';

describe('trusted publisher keys', () => {
  const tmp = tempDir();
  const publisher = generateSigningKeys();
  const pubFile = path.join(tmp.dir, 'usb', 'publisher.pub.pem');
  const bundle = path.join(tmp.dir, 'usb', 'bundle');
  let fb: Fieldbook;
  let api: Api;
  let user: AccessSession;
  const call = async <T = unknown>(method: string, input: unknown): Promise<T> => {
    const env = await api.invoke(method, input, user);
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
    return env.result as T;
  };

  beforeAll(async () => {
    fs.mkdirSync(path.dirname(pubFile), { recursive: true });
    fs.writeFileSync(pubFile, publisher.publicKeyPem);
    const master = openFieldbook({ home: path.join(tmp.dir, 'master'), embeddingModelRoots: [], llmModelRoots: [] });
    try {
      await master.ingest.ingest([path.join(samplesDir, 'troubleshooting-log.md')], {});
      exportBundle(master.db, { privateKeyPem: publisher.privateKeyPem, outDir: bundle, now: new Date() });
    } finally {
      await master.close();
    }
    fb = openFieldbook({ home: path.join(tmp.dir, 'pc'), embeddingModelRoots: [], llmModelRoots: [] });
    api = createApi(fb, { transport: 'http' });
    user = createAccessSession({ db: fb.db, actor: 'it-admin', idleMs: 60_000, now: () => new Date() });
  });
  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('an admin trusts a publisher key file; a bundle it signed then verifies', async () => {
    const { fingerprint } = await call<{ fingerprint: string }>('bundleTrustKey', {
      path: pubFile,
      name: 'Plant master workstation',
    });
    expect(fingerprint).toBe(publisher.fingerprint);
    expect(await call('bundleKeys', {})).toMatchObject([{ fingerprint, name: 'Plant master workstation' }]);
    expect((await verifyBundle(fb.db, bundle)).signerName).toBe('Plant master workstation');
  });

  it('refuses anything but an Ed25519 public key, and a missing file, with specific errors', async () => {
    const rsa = path.join(tmp.dir, 'rsa.pub.pem');
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    fs.writeFileSync(rsa, publicKey.export({ type: 'spki', format: 'pem' }));
    await expect(call('bundleTrustKey', { path: rsa, name: 'rsa' })).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    const junk = path.join(tmp.dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a key');
    await expect(call('bundleTrustKey', { path: junk, name: 'junk' })).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
    });
    await expect(call('bundleTrustKey', { path: path.join(tmp.dir, 'nope.pem'), name: 'x' })).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    expect(await call<unknown[]>('bundleKeys', {})).toHaveLength(1);
  });

  it('only an admin changes the list; a removed key’s bundles are refused; all of it is audited', async () => {
    await call('setPassphrase', { role: 'admin', passphrase: 'admin-pass-123' });
    await expect(call('bundleKeys', {})).rejects.toMatchObject({ code: 'ACCESS_DENIED' }); // a reader
    await call('elevate', { role: 'admin', passphrase: 'admin-pass-123' });
    await call('setPassphrase', { role: 'reviewer', passphrase: 'review-pass-123' });
    await call('dropRole', {});
    await call('elevate', { role: 'reviewer', passphrase: 'review-pass-123' });
    expect(await call<unknown[]>('bundleKeys', {})).toHaveLength(1);
    await expect(call('bundleUntrustKey', { fingerprint: publisher.fingerprint })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    await call('elevate', { role: 'admin', passphrase: 'admin-pass-123' });
    expect(await call('bundleUntrustKey', { fingerprint: publisher.fingerprint })).toEqual({ removed: true });
    await expect(verifyBundle(fb.db, bundle)).rejects.toMatchObject({ code: 'BUNDLE_UNKNOWN_SIGNER' });
    const actions = (
      fb.db.prepare("SELECT action FROM audit_log WHERE action LIKE 'bundle.%' ORDER BY id").all() as Array<{
        action: string;
      }>
    ).map((r) => r.action);
    expect(actions).toEqual(['bundle.trust', 'bundle.untrust']);
  });
});
