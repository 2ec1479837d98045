/**
 * Datasets: the feedback review queue (suggested corrections to accept, edit or reject; thumbs-down
 * answers to correct), training-set export (never above the exporter's clearance) and the export history.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exportDataset, feedbackQueue } from '../core/dataset/dataset-export';
import { FieldbookError } from '../core/errors';
import { answerSensitivity, getFeedback, reviewCorrection, saveFeedback } from '../core/store/conversations';
import type { ApiContext, HandlerGroup } from './api-context';

export function datasetHandlers(
  ctx: ApiContext,
): HandlerGroup<'feedbackQueue' | 'correctAnswer' | 'reviewCorrection' | 'datasetExport' | 'datasetHistory'> {
  const { fb, audit, auditedChange, allowed, feedbackTarget } = ctx;
  return {
    async feedbackQueue(_input, s) {
      s.require('reviewer', 'The feedback review queue');
      return feedbackQueue(fb.db, s.clearance());
    },
    async correctAnswer(input, s) {
      s.require('reviewer', 'Correcting answers');
      const answer = feedbackTarget(s, input.answerId);
      const id = auditedChange(
        s,
        'feedback',
        () =>
          saveFeedback(
            fb.db,
            {
              answerId: input.answerId,
              rating: 'down',
              correction: input.correction,
              author: s.actor,
              // A reviewer writing the right answer approves it as they save it.
              approvedBy: s.actor,
              clearance: s.clearance(),
            },
            new Date(),
          ),
        () => ({
          target: `answer ${input.answerId}`,
          detail: { corrected: true, approvedBy: s.actor, sensitivity: answerSensitivity(fb.db, answer) },
        }),
      );
      return { id };
    },
    async reviewCorrection(input, s) {
      s.require('reviewer', 'Reviewing corrections');
      const f = getFeedback(fb.db, input.feedbackId);
      if (!f || f.correction === null)
        throw new FieldbookError('INVALID_INPUT', { detail: `no correction with id ${input.feedbackId}` });
      // Nobody reviews a correction of an answer above their clearance (the refusal is audited).
      const answer = feedbackTarget(s, f.answerId);
      const reviewed = auditedChange(
        s,
        'feedback.review',
        () =>
          reviewCorrection(
            fb.db,
            {
              feedbackId: input.feedbackId,
              decision: input.decision,
              ...(input.correction !== undefined ? { correction: input.correction } : {}),
              reviewer: s.actor,
              clearance: s.clearance(),
            },
            new Date(),
          ),
        (r) => ({
          target: `answer ${f.answerId}`,
          detail: {
            feedbackId: r.id,
            decision: r.reviewStatus,
            suggestedBy: f.author,
            sensitivity: answerSensitivity(fb.db, answer),
          },
        }),
      );
      return {
        feedbackId: reviewed.id,
        status: reviewed.reviewStatus as 'accepted' | 'edited' | 'rejected',
        reviewedBy: reviewed.reviewedBy ?? s.actor,
      };
    },
    async datasetExport(input, s) {
      s.require('admin', 'Exporting training data');
      // Never export above the exporter's own clearance.
      const wanted = input.maxSensitivity ?? 'internal';
      const maxSensitivity = allowed(s, wanted) ? wanted : s.clearance();
      const generator = input.sources.includes('generated') ? await fb.generator() : null;
      const manifest = await exportDataset(fb.db, fb.search, {
        outDir: path.resolve(input.outDir),
        format: input.format,
        sources: input.sources,
        withContext: input.withContext,
        maxSensitivity,
        seed: input.seed ?? 42,
        ratios: { train: 0.8, validation: 0.1 },
        minChars: 2,
        maxChars: 16_000,
        generateCount: input.generate ?? (input.sources.includes('generated') ? 50 : 0),
        generator,
        resetCursor: input.resetCursor === true,
        evalSet: input.evalSet === true,
        now: new Date(),
      });
      audit(s, 'dataset.export', path.resolve(input.outDir), {
        format: input.format,
        counts: manifest.counts,
        kbVersion: manifest.kbVersion,
      });
      const train = fs.readFileSync(path.join(path.resolve(input.outDir), 'train.jsonl'), 'utf8');
      return { ...manifest, preview: train.split('\n').filter(Boolean).slice(0, 3) };
    },
    async datasetHistory(_input, s) {
      s.require('reviewer', 'Dataset history');
      const rows = fb.db
        .prepare('SELECT id, created_at, format, out_dir, manifest FROM dataset_exports ORDER BY id DESC LIMIT 100')
        .all() as Array<{
        id: number;
        created_at: string;
        format: string;
        out_dir: string;
        manifest: string;
      }>;
      return rows.map((r) => ({
        id: r.id,
        createdAt: r.created_at,
        format: r.format,
        outDir: r.out_dir,
        total: (JSON.parse(r.manifest) as { counts: { total: number } }).counts.total,
      }));
    },
  };
}
