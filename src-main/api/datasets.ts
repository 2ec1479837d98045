/**
 * Datasets: the feedback review queue, corrections, training-set export (never above the exporter's
 * clearance) and the export history.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exportDataset, feedbackQueue } from '../core/dataset/dataset-export';
import { answerSensitivity, saveFeedback } from '../core/store/conversations';
import type { ApiContext, HandlerGroup } from './api-context';

export function datasetHandlers(
  ctx: ApiContext,
): HandlerGroup<'feedbackQueue' | 'correctAnswer' | 'datasetExport' | 'datasetHistory'> {
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
              clearance: s.clearance(),
            },
            new Date(),
          ),
        () => ({
          target: `answer ${input.answerId}`,
          detail: { corrected: true, sensitivity: answerSensitivity(fb.db, answer) },
        }),
      );
      return { id };
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
