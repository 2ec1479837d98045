/** `fieldbook bundle rollback --to N | --list`: undo USB updates in the open knowledge base (the app may run). */
import { parseArgs } from 'node:util';
import { appendAudit } from '../core/audit/audit-log';
import { describeError } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import { listSnapshots, rollbackKnowledge, type UndoneBundle } from '../core/sync/rollback';
import { bold, dim, type Output } from './format';

export class RollbackUsageError extends Error {}

const describeBundle = (b: UndoneBundle): string =>
  `bundle v${b.version} from "${b.signer}" (${b.documents} documents, applied ${b.appliedAt ?? '?'})`;

export async function cmdRollback(
  fb: Fieldbook,
  args: string[],
  o: Output,
  json: boolean,
  actor: string,
): Promise<number> {
  const { values } = parseArgs({ args, options: { to: { type: 'string' }, list: { type: 'boolean' } } });
  if (values.list) {
    const list = listSnapshots(fb.db, fb.home);
    if (json) o.out(JSON.stringify(list));
    else {
      o.out(bold(o, `Current version: ${list.current}`));
      if (list.snapshots.length === 0) o.out('No earlier version saved.');
      for (const s of list.snapshots) {
        o.out(`v${s.version}  ${s.takenAt}  ${s.documents} documents  ${(s.sizeBytes / 1e6).toFixed(1)} MB`);
        if (s.problem) o.out(`   ! ${s.problem}`);
        for (const b of s.undoes) o.out(dim(o, `   undoes ${describeBundle(b)}`));
      }
    }
    return 0;
  }
  const to = Number(values.to);
  if (values.to === undefined || !Number.isInteger(to) || to < 0)
    throw new RollbackUsageError('bundle rollback needs --to VERSION (or --list)');
  const audit = (detail: Record<string, unknown>): void => {
    appendAudit(fb.db, { actor, role: 'admin', action: 'bundle.rollback', target: `v${to}`, detail }, new Date());
  };
  const r = await rollbackKnowledge(fb.db, fb.home, to, {
    now: new Date(),
    embedMissing: () => fb.ingest.embedMissing(),
    // Tests kill the process inside the transaction to prove nothing changes.
    ...(process.env.FIELDBOOK_TEST_CRASH_BEFORE_COMMIT
      ? { beforeCommit: () => process.kill(process.pid, 'SIGKILL') }
      : {}),
  }).catch((err: unknown) => {
    const report = describeError(err);
    audit({ failed: report.code, detail: report.detail ?? null });
    throw err;
  });
  audit({ ...r });
  if (json) {
    o.out(JSON.stringify(r));
    return 0;
  }
  o.out(bold(o, `Knowledge base restored to version ${r.version} (was ${r.from}).`));
  for (const b of r.undone) o.out(`  undone: ${describeBundle(b)}`);
  o.out(
    `  documents: ${r.documents.removed} removed, ${r.documents.restored} restored, ${r.documents.unchanged} unchanged`,
  );
  o.out('  conversations, feedback, settings, keys, audit log and local documents are kept');
  if (r.files.restored) o.out(`  ${r.files.restored} library file(s) put back`);
  for (const f of r.files.missing) o.out(`  ! the original file of this version is not available: ${f}`);
  if (r.snapshotsRemoved.length)
    o.out(dim(o, `  removed saved versions ${r.snapshotsRemoved.map((v) => `v${v}`).join(', ')}`));
  if (r.chunksEmbedded) o.out(`  ${r.chunksEmbedded} passages embedded with the active model`);
  if (r.chunksToEmbed) o.out(`  ${r.chunksToEmbed} passages still need vectors: run "fieldbook reembed"`);
  return 0;
}
