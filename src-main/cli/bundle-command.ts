/** `fieldbook bundle …`: signing keys, export, verify, stage, review, approve/reject, apply, rollback. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { appendAudit } from '../core/audit/audit-log';
import { FieldbookError } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import { ARCHIVE_EXTENSION, packBundle } from '../core/sync/bundle-archive';
import { bundleContext } from '../core/sync/bundle-context';
import { previewItem } from '../core/sync/bundle-preview';
import { exportBundle, exportHistory } from '../core/sync/bundle-export';
import {
  applyBundle,
  decide,
  reviewItems,
  stageBundle,
  verifyBundle,
  type ApplyProgress,
  type StagedItem,
} from '../core/sync/bundle-import';
import { generateSigningKeys, listTrustedKeys, trustKey, untrustKey } from '../core/sync/bundle-keys';
import { kbIdentity } from '../core/sync/bundle-manifest';
import { cliActor } from './actor';
import { bold, dim, type Output } from './format';
import { cmdRollback } from './rollback-command';

export class BundleUsageError extends Error {}

/**
 * Kill -9 trials (tests only): `FIELDBOOK_TEST_CRASH_AT=<phase>[:<n>]` kills this process with
 * SIGKILL when the apply reports that progress (`read:1` while reading documents, `commit`
 * before the transaction, `files:0` right after the commit, `files:2` after two files were
 * written), `in-commit` inside the transaction. The older `FIELDBOOK_TEST_CRASH_BEFORE_COMMIT`
 * is `in-commit`.
 */
function crashPoints(env: NodeJS.ProcessEnv): {
  kill: () => void;
  inCommit: boolean;
  progress: ((p: ApplyProgress) => void) | null;
} {
  const at = env.FIELDBOOK_TEST_CRASH_AT ?? (env.FIELDBOOK_TEST_CRASH_BEFORE_COMMIT ? 'in-commit' : '');
  const kill = (): void => {
    process.kill(process.pid, 'SIGKILL');
  };
  const [phase, n] = at.split(':');
  return {
    kill,
    inCommit: at === 'in-commit',
    progress:
      phase && at !== 'in-commit'
        ? (p) => p.phase === phase && (n === undefined || p.done === Number(n)) && kill()
        : null,
  };
}

function printItems(o: Output, items: StagedItem[]): void {
  for (const i of items) {
    const size =
      i.kind === 'changed' ? `${i.sizeBefore} → ${i.sizeAfter} bytes` : `${i.sizeAfter ?? i.sizeBefore} bytes`;
    o.out(`  ${i.kind.padEnd(9)} ${i.decision.padEnd(8)} ${i.key}  "${i.title}"  ${size}  ${i.sensitivity ?? ''}`);
    if (i.sameAs) {
      const from = i.sameAs.origin.kind === 'local' ? 'local file' : `bundle of knowledge base ${i.sameAs.origin.kb}`;
      o.out(
        `            already in the library from ${i.sameAs.path} (${from}); approve = take it over, reject = keep it`,
      );
    }
  }
}

export async function cmdBundle(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  const [action, ...rest] = args;
  const audit = (
    a:
      | 'bundle.export'
      | 'bundle.verify-failed'
      | 'bundle.stage'
      | 'bundle.approve'
      | 'bundle.reject'
      | 'bundle.apply'
      | 'bundle.trust'
      | 'bundle.untrust',
    target: string,
    detail: Record<string, unknown> = {},
  ): void => {
    appendAudit(fb.db, { actor: cliActor(), role: 'admin', action: a, target, detail }, new Date());
  };
  switch (action) {
    case 'keys': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { out: { type: 'string' }, name: { type: 'string' } },
      });
      const [sub, file] = positionals;
      if (sub === 'generate') {
        const out = values.out ?? '.';
        fs.mkdirSync(out, { recursive: true });
        const k = generateSigningKeys();
        fs.writeFileSync(path.join(out, 'fieldbook-signing.key.pem'), k.privateKeyPem, { mode: 0o600 });
        fs.writeFileSync(path.join(out, 'fieldbook-signing.pub.pem'), k.publicKeyPem);
        o.out(
          json
            ? JSON.stringify({ fingerprint: k.fingerprint })
            : `Key pair written to ${out} (fingerprint ${k.fingerprint}). Keep the .key.pem file off the plant network.`,
        );
        return 0;
      }
      if (sub === 'trust' && file) {
        const fp = trustKey(fb.db, fs.readFileSync(file, 'utf8'), values.name ?? path.basename(file), new Date());
        audit('bundle.trust', fp, { name: values.name ?? path.basename(file) });
        o.out(json ? JSON.stringify({ fingerprint: fp }) : `Trusted key ${fp}.`);
        return 0;
      }
      if (sub === 'untrust' && file) {
        if (!untrustKey(fb.db, file)) throw new BundleUsageError(`no trusted key with fingerprint ${file}`);
        audit('bundle.untrust', file);
        o.out(json ? JSON.stringify({ fingerprint: file, trusted: false }) : `Key ${file} is no longer trusted.`);
        return 0;
      }
      if (sub === 'list' || sub === undefined) {
        const keys = listTrustedKeys(fb.db);
        o.out(
          json
            ? JSON.stringify(keys)
            : keys.map((k) => `${k.fingerprint}  ${k.name}  ${k.addedAt}`).join('\n') || 'No trusted keys.',
        );
        return 0;
      }
      throw new BundleUsageError(
        'usage: fieldbook bundle keys generate --out DIR | keys trust PUB.pem --name N | keys untrust FINGERPRINT | keys list',
      );
    }
    case 'export': {
      const { values } = parseArgs({
        args: rest,
        options: {
          key: { type: 'string' },
          out: { type: 'string' },
          model: { type: 'string', multiple: true },
          since: { type: 'string' },
          'with-index': { type: 'boolean' },
        },
      });
      if (!values.key || !values.out)
        throw new BundleUsageError(
          `bundle export needs --key PRIVATE.pem and --out DIR (a folder) or --out FILE${ARCHIVE_EXTENSION} (one file)`,
        );
      let since: number | undefined;
      if (values.since === 'last') {
        since = exportHistory(fb.db).at(-1)?.version;
        if (since === undefined)
          throw new BundleUsageError('--since last: nothing was exported yet; make a full bundle');
      } else if (values.since !== undefined) {
        since = Number(values.since);
        if (!Number.isInteger(since) || since < 1)
          throw new BundleUsageError('--since needs a version number or "last"');
      }
      const archive = values.out.toLowerCase().endsWith(ARCHIVE_EXTENSION) ? values.out : null;
      const folder = archive ? `${archive}.folder` : values.out;
      if (archive && fs.existsSync(archive)) throw new BundleUsageError(`${archive} already exists`);
      if (fs.existsSync(folder) && fs.readdirSync(folder).length > 0)
        throw new BundleUsageError(`${folder} is not empty; export into a new folder`);
      let m;
      try {
        m = exportBundle(fb.db, {
          privateKeyPem: fs.readFileSync(values.key, 'utf8'),
          outDir: folder,
          now: new Date(),
          ...(values.model?.length ? { models: values.model } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(values['with-index'] ? { withIndex: true } : {}),
        });
        if (archive) await packBundle(folder, archive);
      } finally {
        if (archive) fs.rmSync(folder, { recursive: true, force: true });
      }
      const where = archive ?? folder;
      audit('bundle.export', where, {
        bundleId: m.bundleId,
        version: m.version,
        baseVersion: m.baseVersion,
        documents: m.documents.length,
        removed: m.removed.length,
      });
      o.out(
        json
          ? JSON.stringify({ ...m, out: where })
          : `Bundle ${m.bundleId} (${m.baseVersion ? `incremental ${m.baseVersion} → ${m.version}` : `full, version ${m.version}`}: ${m.documents.length} document(s), ${m.removed.length} removal(s)) written to ${where}.`,
      );
      return 0;
    }
    case 'preview': {
      const [id, key] = rest;
      if (!id || !key)
        throw new BundleUsageError('bundle preview needs a bundle id and a change key (see bundle review)');
      const p = await previewItem(bundleContext(fb), id, key);
      if (json) {
        o.out(JSON.stringify(p));
        return 0;
      }
      o.out(bold(o, `${p.kind}: ${p.title}${p.pages ? ` (${p.pages} pages)` : ''}`));
      if (p.labelsBefore || p.labelsAfter)
        o.out(`  labels: ${JSON.stringify(p.labelsBefore)} → ${JSON.stringify(p.labelsAfter)}`);
      if (p.diff) {
        o.out(`  passages: +${p.diff.added} −${p.diff.removed} (=${p.diff.unchanged})`);
        for (const t of p.diff.addedSamples) o.out(`  + ${t}`);
        for (const t of p.diff.removedSamples) o.out(`  − ${t}`);
      }
      for (const f of p.files) o.out(`  ${f.target}  ${f.size} bytes`);
      for (const e of p.excerpt) o.out(dim(o, `  [p.${e.page ?? '-'}] ${e.text}`));
      if (p.excerptTruncated) o.out(dim(o, '  …'));
      return 0;
    }
    case 'verify':
    case 'stage': {
      const dir = rest[0];
      if (!dir) throw new BundleUsageError(`bundle ${action} needs the bundle folder`);
      try {
        if (action === 'verify') {
          const { manifest, signerName } = await verifyBundle(fb.db, dir);
          o.out(
            json
              ? JSON.stringify({ ok: true, bundleId: manifest.bundleId, signer: signerName })
              : `Bundle ${manifest.bundleId} verified: signed by ${signerName}, ${manifest.documents.length} documents, all hashes match.`,
          );
          return 0;
        }
        const staged = await stageBundle(fb.db, fb.home, dir, new Date());
        audit('bundle.stage', staged.bundleId, { items: staged.items.length, alreadyApplied: staged.alreadyApplied });
        if (json) o.out(JSON.stringify(staged));
        else {
          o.out(
            bold(
              o,
              staged.alreadyApplied
                ? `Bundle ${staged.bundleId} was already applied: nothing to do.`
                : `Staged ${staged.bundleId} in quarantine. Changes to review:`,
            ),
          );
          if (!staged.alreadyApplied) printItems(o, staged.items);
        }
        return 0;
      } catch (err) {
        if (err instanceof FieldbookError)
          audit('bundle.verify-failed', dir, { code: err.code, detail: err.detail ?? null });
        throw err;
      }
    }
    case 'review': {
      const id = rest[0];
      if (!id) throw new BundleUsageError('bundle review needs a bundle id');
      const items = reviewItems(fb.db, id);
      if (json) o.out(JSON.stringify(items));
      else printItems(o, items);
      return 0;
    }
    case 'approve':
    case 'reject': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          item: { type: 'string', multiple: true },
          all: { type: 'boolean' },
          name: { type: 'string' },
          comment: { type: 'string' },
        },
      });
      const id = positionals[0];
      if (!id || !values.name || (!values.all && !values.item?.length))
        throw new BundleUsageError(`bundle ${action} needs an id, --name REVIEWER and --all or --item KEY`);
      const decision = action === 'approve' ? 'approved' : 'rejected';
      const n = decide(
        fb.db,
        id,
        values.all ? 'all' : (values.item ?? []),
        decision,
        values.name,
        values.comment ?? null,
      );
      audit(action === 'approve' ? 'bundle.approve' : 'bundle.reject', id, {
        reviewer: values.name,
        comment: values.comment ?? null,
        items: values.all ? 'all' : values.item,
      });
      o.out(json ? JSON.stringify({ changed: n }) : `${n} change(s) ${decision} by ${values.name}.`);
      return 0;
    }
    case 'apply': {
      const id = rest[0];
      if (!id) throw new BundleUsageError('bundle apply needs a bundle id');
      const crash = crashPoints(process.env);
      const r = await applyBundle(id, {
        ...bundleContext(fb),
        embedder: await fb.embedder(),
        now: new Date(),
        // The audit entry is committed with the new version, or not at all.
        record: (result) => audit('bundle.apply', id, { ...result }),
        ...(crash.inCommit ? { beforeCommit: crash.kill } : {}),
        ...(crash.progress ? { onProgress: crash.progress } : {}),
      });
      o.out(
        json
          ? JSON.stringify(r)
          : `Applied: ${r.applied} document(s) added or changed, ${r.removed} removed. Knowledge base is now version ${r.version}.`,
      );
      return 0;
    }
    case 'rollback':
      return await cmdRollback(fb, rest, o, json, cliActor());
    case 'status': {
      const kb = kbIdentity(fb.db);
      o.out(json ? JSON.stringify(kb) : `Knowledge base ${kb.id}, version ${kb.version}`);
      return 0;
    }
    default:
      o.err(dim(o, ''));
      throw new BundleUsageError(
        'usage: fieldbook bundle keys|export|verify|stage|review|preview|approve|reject|apply|rollback|status',
      );
  }
}
