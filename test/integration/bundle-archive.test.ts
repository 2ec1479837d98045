/**
 * One-file `.fbbundle` archives: a real exported bundle packed, staged from the file,
 * and every hostile or damaged archive refused with its own error and nothing written
 * outside the unpack folder.
 */
import { sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { exportBundle } from '../../src-main/core/sync/bundle-export';
import { findBundles, stageBundle } from '../../src-main/core/sync/bundle-import';
import { generateSigningKeys, trustKey } from '../../src-main/core/sync/bundle-keys';
import type { BundleManifest } from '../../src-main/core/sync/bundle-manifest';
import { packBundle, tarHeader, unpackBundle, type TarEntryType } from '../../src-main/core/sync/bundle-archive';
import { samplesDir, tempDir } from '../support/paths';

const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

/** An archive from explicit entries, in the same layout the product writes. */
function buildArchive(entries: Array<{ name: string; data?: Buffer; type?: TarEntryType; linkName?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(
      tarHeader({ name: e.name, size: data.length, ...(e.type ? { type: e.type } : {}), linkName: e.linkName ?? '' }),
    );
    if (data.length) parts.push(pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

describe('one-file bundle archives', () => {
  const tmp = tempDir();
  const keys = generateSigningKeys();
  const bundleDir = path.join(tmp.dir, 'bundle');
  const archive = path.join(tmp.dir, 'usb', 'update.fbbundle');
  let master: Fieldbook;
  let target: Fieldbook;
  const limits = { maxEntries: 100, maxFileBytes: 10_000_000, maxTotalBytes: 50_000_000 };

  beforeAll(async () => {
    master = openFieldbook({ home: path.join(tmp.dir, 'master'), embeddingModelRoots: [], llmModelRoots: [] });
    await master.ingest.ingest([path.join(samplesDir, 'troubleshooting-log.md')], {});
    exportBundle(master.db, { privateKeyPem: keys.privateKeyPem, outDir: bundleDir, now: new Date() });
    fs.mkdirSync(path.dirname(archive), { recursive: true });
    await packBundle(bundleDir, archive);
    target = openFieldbook({ home: path.join(tmp.dir, 'target'), embeddingModelRoots: [], llmModelRoots: [] });
    trustKey(target.db, keys.publicKeyPem, 'master', new Date());
  });
  afterAll(async () => {
    await master.close();
    await target.close();
    tmp.cleanup();
  });

  const variant = (name: string, bytes: Buffer): string => {
    const file = path.join(tmp.dir, 'variants', `${name}.fbbundle`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    return file;
  };
  const stagingLeftovers = (): string[] => {
    const dir = path.join(target.home, 'staging');
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('unpack-')) : [];
  };

  it('is found on the drive and staged straight from the file, leaving no unpacked copy behind', async () => {
    expect(findBundles([path.join(tmp.dir, 'usb')])).toEqual([archive]);
    const staged = await stageBundle(target.db, target.home, archive, new Date());
    expect(staged.items.map((i) => [i.kind, i.key])).toEqual([['new', 'troubleshooting-log.md']]);
    expect(staged.info).toMatchObject({ baseVersion: 0, version: 1, signer: 'master' });
    expect(stagingLeftovers()).toEqual([]);
  });

  it('issue 14.18: an archive from an unknown signer is refused from its manifest entry, before anything is unpacked', async () => {
    // The bundle re-signed by a key this PC does not trust, followed by an entry that claims
    // 100 MB (only 64 KB present): unpacking first would write those bytes and then report a
    // truncated copy; checking the manifest first refuses the signer without writing anything.
    const stranger = generateSigningKeys();
    const m = JSON.parse(fs.readFileSync(path.join(bundleDir, 'manifest.json'), 'utf8')) as BundleManifest;
    m.signer = stranger.fingerprint;
    const manifest = Buffer.from(JSON.stringify(m));
    const signature = Buffer.from(sign(null, manifest, stranger.privateKeyPem).toString('base64'));
    const bytes = Buffer.concat([
      tarHeader({ name: 'manifest.json', size: manifest.length }),
      pad(manifest),
      tarHeader({ name: 'manifest.sig', size: signature.length }),
      pad(signature),
      tarHeader({ name: 'files/huge.pdf', size: 100 * 1024 * 1024 }),
      Buffer.alloc(64 * 1024, 0x41),
    ]);
    const staging = path.join(target.home, 'staging');
    fs.rmSync(staging, { recursive: true, force: true });
    const watcher: string[] = [];
    fs.mkdirSync(staging, { recursive: true });
    const watch = fs.watch(staging, (_event, name) => watcher.push(String(name)));
    try {
      await expect(stageBundle(target.db, target.home, variant('stranger', bytes), new Date())).rejects.toMatchObject({
        code: 'BUNDLE_UNKNOWN_SIGNER',
      });
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      watch.close();
    }
    expect(watcher).toEqual([]);
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  it('issue 14.18: only the files the signed manifest lists are unpacked, at their listed size; the manifest comes first', async () => {
    const listed = [
      'manifest.json',
      'manifest.sig',
      ...fs.readdirSync(path.join(bundleDir, 'files')).map((f) => `files/${f}`),
    ].map((name) => ({ name, data: fs.readFileSync(path.join(bundleDir, name)) }));
    const extra = buildArchive([...listed, { name: 'files/autorun.sh', data: Buffer.from('#!/bin/sh\nrm -rf ~\n') }]);
    await expect(stageBundle(target.db, target.home, variant('extra', extra), new Date())).rejects.toMatchObject({
      code: 'BUNDLE_UNSAFE',
      detail: expect.stringMatching(/not listed in the signed manifest/),
    });
    const [first, second, ...rest] = listed;
    const resized = buildArchive([
      first as (typeof listed)[number],
      second as (typeof listed)[number],
      ...rest.map((e) => ({ ...e, data: Buffer.concat([e.data, Buffer.from('more')]) })),
    ]);
    await expect(stageBundle(target.db, target.home, variant('resized', resized), new Date())).rejects.toMatchObject({
      code: 'BUNDLE_HASH_MISMATCH',
    });
    const late = buildArchive([...rest, first as (typeof listed)[number], second as (typeof listed)[number]]);
    await expect(stageBundle(target.db, target.home, variant('late', late), new Date())).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
      detail: expect.stringMatching(/must start with manifest.json/),
    });
    expect(stagingLeftovers()).toEqual([]);
  });

  it('refuses a copy cut off part-way, naming the cut', async () => {
    const bytes = fs.readFileSync(archive);
    for (const cut of [bytes.length - 700, Math.floor(bytes.length / 2), 600]) {
      await expect(
        stageBundle(target.db, target.home, variant(`cut-${cut}`, bytes.subarray(0, cut)), new Date()),
      ).rejects.toMatchObject({ code: 'BUNDLE_TRUNCATED' });
    }
    expect(stagingLeftovers()).toEqual([]);
  });

  it('refuses changed file data (hash) and a damaged header (checksum)', async () => {
    const bytes = Buffer.from(fs.readFileSync(archive));
    const dataAt = bytes.indexOf(Buffer.from('E-203'));
    expect(dataAt).toBeGreaterThan(0);
    const data = Buffer.from(bytes);
    data[dataAt] = 'F'.charCodeAt(0);
    await expect(stageBundle(target.db, target.home, variant('data', data), new Date())).rejects.toMatchObject({
      code: 'BUNDLE_HASH_MISMATCH',
    });
    const header = Buffer.from(bytes);
    header[3] = (header[3] ?? 0) ^ 0x20;
    await expect(stageBundle(target.db, target.home, variant('header', header), new Date())).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
    });
  });

  it.each([
    ['a symbolic link', { name: 'files/link', type: 'symlink', linkName: '/etc/passwd' }],
    ['a hard link', { name: 'files/hard', type: 'hardlink', linkName: 'manifest.json' }],
    ['a character device', { name: 'files/dev', type: 'chardev' }],
    ['a block device', { name: 'files/blk', type: 'blockdev' }],
    ['a named pipe', { name: 'files/fifo', type: 'fifo' }],
    ['a parent-folder path', { name: '../escaped.txt', data: Buffer.from('x') }],
    ['a nested parent-folder path', { name: 'files/../../escaped.txt', data: Buffer.from('x') }],
    ['an absolute path', { name: '/tmp/fieldbook-escaped.txt', data: Buffer.from('x') }],
    ['a drive-letter path', { name: 'C:/escaped.txt', data: Buffer.from('x') }],
    ['a name outside the bundle layout', { name: 'autorun.inf', data: Buffer.from('x') }],
    ['a duplicate name', { name: 'manifest.sig', data: Buffer.from('again') }],
    ['a file where a folder already is', { name: 'files', data: Buffer.from('x') }],
  ] as const)('refuses an archive with %s and writes nothing outside', async (_label, entry) => {
    const files = [
      'manifest.json',
      'manifest.sig',
      ...fs.readdirSync(path.join(bundleDir, 'files')).map((f) => `files/${f}`),
    ];
    const bytes = buildArchive([
      ...files.map((name) => ({ name, data: fs.readFileSync(path.join(bundleDir, name)) })),
      entry,
    ]);
    const work = path.join(tmp.dir, 'work', 'inner');
    await expect(unpackBundle(variant(_label.replace(/\W+/g, '-'), bytes), work, limits)).rejects.toMatchObject({
      code: 'BUNDLE_UNSAFE',
    });
    expect(fs.readdirSync(work)).toEqual([]);
    expect(fs.existsSync(path.join(tmp.dir, 'work', 'escaped.txt'))).toBe(false);
    expect(fs.existsSync('/tmp/fieldbook-escaped.txt')).toBe(false);
  });

  it('enforces entry count, per-file and total size limits', async () => {
    const many = buildArchive(Array.from({ length: 5 }, (_, i) => ({ name: `files/${i}`, data: Buffer.from('x') })));
    const big = buildArchive([{ name: 'files/big', data: Buffer.alloc(5000) }]);
    const total = buildArchive([
      { name: 'files/a', data: Buffer.alloc(3000) },
      { name: 'files/b', data: Buffer.alloc(3000) },
    ]);
    const small = { maxEntries: 4, maxFileBytes: 4000, maxTotalBytes: 5000 };
    const work = path.join(tmp.dir, 'work-limits');
    for (const [name, bytes, detail] of [
      ['many', many, /more than 4 entries/],
      ['big', big, /larger than the limit/],
      ['total', total, /more than the size limit/],
    ] as const) {
      const err = await unpackBundle(variant(name, bytes), work, small).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'BUNDLE_UNSAFE' });
      expect(String((err as { detail?: string }).detail)).toMatch(detail);
    }
    expect(fs.readdirSync(work)).toEqual([]);
  });
});
