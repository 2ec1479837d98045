/** `fieldbook bundle …`: signing keys, export, verify, stage, review, approve/reject, apply, rollback. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { appendAudit } from '../core/audit/audit-log';
import { FieldbookError } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import {
  applyBundle,
  decide,
  exportBundle,
  generateSigningKeys,
  kbIdentity,
  listTrustedKeys,
  reviewItems,
  stageBundle,
  trustKey,
  verifyBundle,
  type StagedItem,
} from '../core/sync/bundle';
import { bold, dim, type Output } from './format';

export class BundleUsageError extends Error {}

const actor = (): string => `cli:${os.userInfo().username}`;

function printItems(o: Output, items: StagedItem[]): void {
  for (const i of items) {
    const size =
      i.kind === 'changed' ? `${i.sizeBefore} → ${i.sizeAfter} bytes` : `${i.sizeAfter ?? i.sizeBefore} bytes`;
    o.out(`  ${i.kind.padEnd(9)} ${i.decision.padEnd(8)} ${i.key}  "${i.title}"  ${size}  ${i.sensitivity ?? ''}`);
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
      | 'bundle.trust',
    target: string,
    detail: Record<string, unknown> = {},
  ): void => {
    appendAudit(fb.db, { actor: actor(), role: 'admin', action: a, target, detail }, new Date());
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
        'usage: fieldbook bundle keys generate --out DIR | keys trust PUB.pem --name N | keys list',
      );
    }
    case 'export': {
      const { values } = parseArgs({
        args: rest,
        options: { key: { type: 'string' }, out: { type: 'string' }, model: { type: 'string', multiple: true } },
      });
      if (!values.key || !values.out) throw new BundleUsageError('bundle export needs --key PRIVATE.pem and --out DIR');
      const m = exportBundle(fb.db, {
        privateKeyPem: fs.readFileSync(values.key, 'utf8'),
        outDir: values.out,
        now: new Date(),
        ...(values.model?.length ? { models: values.model } : {}),
      });
      audit('bundle.export', values.out, { bundleId: m.bundleId, version: m.version, documents: m.documents.length });
      o.out(
        json
          ? JSON.stringify(m)
          : `Bundle ${m.bundleId} (version ${m.version}, ${m.documents.length} documents) written to ${values.out}.`,
      );
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
      const r = await applyBundle(id, {
        db: fb.db,
        home: fb.home,
        parser: fb.parsers(),
        limits: fb.settings().limits,
        chunking: fb.settings().chunk,
        embedder: await fb.embedder(),
        now: new Date(),
        ...(process.env.FIELDBOOK_TEST_CRASH_BEFORE_COMMIT
          ? { beforeCommit: () => process.kill(process.pid, 'SIGKILL') }
          : {}),
      });
      audit('bundle.apply', id, r);
      o.out(
        json
          ? JSON.stringify(r)
          : `Applied: ${r.applied} document(s) added or changed, ${r.removed} removed. Knowledge base is now version ${r.version}.`,
      );
      return 0;
    }
    case 'status': {
      const kb = kbIdentity(fb.db);
      o.out(json ? JSON.stringify(kb) : `Knowledge base ${kb.id}, version ${kb.version}`);
      return 0;
    }
    default:
      o.err(dim(o, ''));
      throw new BundleUsageError(
        'usage: fieldbook bundle keys|export|verify|stage|review|approve|reject|apply|status  (rollback: fieldbook bundle-rollback --to N, with the app closed)',
      );
  }
}
