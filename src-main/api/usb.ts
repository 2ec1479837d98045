/**
 * USB import: find, stage (verify), review, preview, decide and apply update bundles; trusted publisher
 * keys; knowledge-base versions and rollback. An apply and a rollback never overlap each other or an import.
 */
import fs from 'node:fs';
import { describeError, FieldbookError } from '../core/errors';
import { bundleContext } from '../core/sync/bundle-context';
import {
  applyBundle,
  bundleHistory,
  decide,
  findBundles,
  removableRoots,
  reviewItems,
  stageBundle,
} from '../core/sync/bundle-import';
import { listTrustedKeys, trustKey, untrustKey } from '../core/sync/bundle-keys';
import { previewItem } from '../core/sync/bundle-preview';
import { listSnapshots, rollbackKnowledge } from '../core/sync/rollback';
import type { ApiContext, HandlerGroup } from './api-context';

export function usbHandlers(
  ctx: ApiContext,
): HandlerGroup<
  | 'bundleScan'
  | 'bundleStage'
  | 'bundleReview'
  | 'bundlePreview'
  | 'bundleDecide'
  | 'bundleApply'
  | 'bundleHistory'
  | 'bundleKeys'
  | 'bundleTrustKey'
  | 'bundleUntrustKey'
  | 'bundleSnapshots'
  | 'bundleRollback'
> {
  const { fb, emit, audit, allowed, exclusively } = ctx;
  return {
    async bundleScan(input, s) {
      s.require('reviewer', 'Looking for update bundles');
      return { bundles: findBundles(input.path ? [input.path] : removableRoots()) };
    },
    async bundleStage(input, s) {
      s.require('reviewer', 'Staging an update bundle');
      try {
        const staged = await stageBundle(fb.db, fb.home, input.source, new Date(), s.clearance());
        audit(s, 'bundle.stage', staged.bundleId, {
          source: input.source,
          version: staged.info.version,
          baseVersion: staged.info.baseVersion,
          items: staged.items.length,
          alreadyApplied: staged.alreadyApplied,
        });
        return staged;
      } catch (err) {
        if (err instanceof FieldbookError)
          audit(s, 'bundle.verify-failed', input.source, { code: err.code, detail: err.detail ?? null });
        throw err;
      }
    },
    async bundleReview(input, s) {
      s.require('reviewer', 'Reviewing an update bundle');
      // Changes above the reviewer's clearance are listed without key or title.
      return reviewItems(fb.db, input.bundleId, s.clearance());
    },
    async bundlePreview(input, s) {
      s.require('reviewer', 'Previewing a change in an update bundle');
      const preview = await previewItem(bundleContext(fb), input.bundleId, input.key);
      // The text of a document above the reviewer's clearance is not shown, incoming or outgoing.
      for (const labels of [preview.labelsBefore, preview.labelsAfter]) {
        if (labels && !allowed(s, labels.sensitivity)) {
          audit(s, 'access.denied', `${input.bundleId}:${input.key}`, { sensitivity: labels.sensitivity });
          throw new FieldbookError('ACCESS_DENIED', { detail: `the document is labelled ${labels.sensitivity}` });
        }
      }
      return preview;
    },
    async bundleDecide(input, s) {
      s.require('reviewer', 'Approving or rejecting changes');
      let changed: number;
      try {
        // Nobody decides on a change to a document they may not see (the rule of updateDocument).
        changed = decide(
          fb.db,
          input.bundleId,
          input.keys,
          input.decision,
          s.actor,
          input.comment ?? null,
          s.clearance(),
        );
      } catch (err) {
        if (err instanceof FieldbookError && err.code === 'ACCESS_DENIED')
          audit(s, 'access.denied', input.bundleId, { decision: input.decision, clearance: s.clearance() });
        throw err;
      }
      audit(s, input.decision === 'approved' ? 'bundle.approve' : 'bundle.reject', input.bundleId, {
        keys: input.keys,
        comment: input.comment ?? null,
      });
      return { changed };
    },
    async bundleApply(input, s) {
      s.require('reviewer', 'Applying an update bundle');
      return exclusively('BUNDLE_BUSY', async () => {
        try {
          return await applyBundle(input.bundleId, {
            ...bundleContext(fb),
            embedder: await fb.embedder(),
            now: new Date(),
            clearance: s.clearance(),
            // Written inside the apply transaction: committed with the new version or not at all.
            record: (r) => audit(s, 'bundle.apply', input.bundleId, { ...r }),
            onProgress: (progress) => emit({ type: 'bundle-progress', bundleId: input.bundleId, progress }, s),
          });
        } catch (err) {
          if (err instanceof FieldbookError && err.code === 'ACCESS_DENIED')
            audit(s, 'access.denied', input.bundleId, { clearance: s.clearance() });
          throw err;
        }
      });
    },
    async bundleHistory(_input, s) {
      s.require('reviewer', 'Bundle history');
      return bundleHistory(fb.db);
    },
    async bundleKeys(_input, s) {
      s.require('reviewer', 'Trusted publisher keys');
      return listTrustedKeys(fb.db);
    },
    async bundleTrustKey(input, s) {
      s.require('admin', 'Trusting a publisher key');
      const st = fs.statSync(input.path, { throwIfNoEntry: false });
      if (!st?.isFile()) throw new FieldbookError('PATH_NOT_FOUND', { file: input.path });
      if (st.size > 16 * 1024)
        throw new FieldbookError('BUNDLE_INVALID', { file: input.path, detail: 'too large for a public key file' });
      const fingerprint = trustKey(fb.db, fs.readFileSync(input.path, 'utf8'), input.name, new Date());
      audit(s, 'bundle.trust', fingerprint, { name: input.name, file: input.path });
      return { fingerprint };
    },
    async bundleUntrustKey(input, s) {
      s.require('admin', 'Removing a trusted publisher key');
      const removed = untrustKey(fb.db, input.fingerprint);
      if (removed) audit(s, 'bundle.untrust', input.fingerprint);
      return { removed };
    },
    async bundleSnapshots(_input, s) {
      s.require('reviewer', 'Knowledge-base versions');
      return listSnapshots(fb.db, fb.home);
    },
    async bundleRollback(input, s) {
      s.require('admin', 'Restoring an earlier knowledge-base version');
      return exclusively('ROLLBACK_BUSY', async () => {
        try {
          const r = await rollbackKnowledge(fb.db, fb.home, input.to, {
            now: new Date(),
            embedMissing: () => fb.ingest.embedMissing((progress) => emit({ type: 'ingest-progress', progress }, s)),
          });
          // Model files whose approval was undone must not stay loaded.
          if (r.modelApprovalsReverted > 0) await fb.unloadModels();
          audit(s, 'bundle.rollback', `v${input.to}`, { ...r });
          return r;
        } catch (err) {
          const report = describeError(err);
          audit(s, 'bundle.rollback', `v${input.to}`, { failed: report.code, detail: report.detail ?? null });
          throw err;
        }
      });
    },
  };
}
