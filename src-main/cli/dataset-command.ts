/** `fieldbook dataset export|validate` and `fieldbook feedback queue|correct|review`. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { appendAudit, audited } from '../core/audit/audit-log';
import { exportDataset, feedbackQueue, type DatasetSource } from '../core/dataset/dataset-export';
import { DATASET_FORMATS, validateJsonl, type DatasetFormat } from '../core/dataset/formats';
import type { Fieldbook } from '../core/fieldbook';
import { isSensitivity } from '../core/store/documents';
import {
  answerSensitivity,
  getAnswer,
  getFeedback,
  reviewCorrection,
  saveFeedback,
  type AnswerRecord,
} from '../core/store/conversations';
import { CLI_CLEARANCE, cliActor, cliEntry } from './actor';
import { bold, type Output } from './format';

export class DatasetUsageError extends Error {}

const SOURCES: DatasetSource[] = ['answers', 'corrections', 'generated', 'preferences'];

export async function cmdDataset(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'validate') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { format: { type: 'string' } },
    });
    const file = positionals[0];
    if (!file) throw new DatasetUsageError('dataset validate needs a .jsonl file');
    if (values.format && !DATASET_FORMATS.includes(values.format as DatasetFormat)) {
      throw new DatasetUsageError(`--format must be one of ${DATASET_FORMATS.join(', ')}`);
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new DatasetUsageError(`cannot read ${file}`);
    }
    const r = validateJsonl(text, (values.format as DatasetFormat | undefined) ?? null);
    if (json) o.out(JSON.stringify(r));
    else {
      o.out(`${file}: ${r.lines} lines, format ${r.format ?? 'unknown'}, ${r.errors.length} problems`);
      for (const e of r.errors.slice(0, 50)) o.out(`  line ${e.line}: ${e.message}`);
    }
    return r.errors.length ? 1 : 0;
  }
  if (action !== 'export')
    throw new DatasetUsageError(
      'usage: fieldbook dataset export --out DIR [--format chat|sharegpt|alpaca|dpo] … | dataset validate FILE',
    );
  const { values } = parseArgs({
    args: rest,
    options: {
      out: { type: 'string' },
      format: { type: 'string' },
      sources: { type: 'string' },
      'with-context': { type: 'boolean' },
      'max-sensitivity': { type: 'string' },
      seed: { type: 'string' },
      split: { type: 'string' },
      generate: { type: 'string' },
      'reset-cursor': { type: 'boolean' },
      'eval-set': { type: 'boolean' },
      'min-chars': { type: 'string' },
      'max-chars': { type: 'string' },
    },
  });
  if (!values.out) throw new DatasetUsageError('dataset export needs --out DIR (a folder, e.g. on the USB drive)');
  const format = (values.format ?? 'chat') as DatasetFormat;
  if (!DATASET_FORMATS.includes(format))
    throw new DatasetUsageError(`--format must be one of ${DATASET_FORMATS.join(', ')}`);
  const sources = (values.sources ?? (format === 'dpo' ? 'preferences' : 'answers,corrections'))
    .split(',')
    .map((s) => s.trim()) as DatasetSource[];
  if (sources.some((s) => !SOURCES.includes(s))) throw new DatasetUsageError(`--sources takes ${SOURCES.join(', ')}`);
  const maxSensitivity = values['max-sensitivity'] ?? 'internal';
  if (!isSensitivity(maxSensitivity))
    throw new DatasetUsageError('--max-sensitivity must be public, internal, confidential or restricted');
  const [train = 0.8, validation = 0.1] = (values.split ?? '0.8,0.1,0.1').split(',').map(Number);
  if (!(train >= 0 && validation >= 0 && train + validation <= 1))
    throw new DatasetUsageError('--split expects train,validation,test shares that add up to 1');
  const generateCount = Number(values.generate ?? (sources.includes('generated') ? 50 : 0));
  const generator = sources.includes('generated') ? await fb.generator() : null;
  const manifest = await exportDataset(fb.db, fb.search, {
    outDir: path.resolve(values.out),
    format,
    sources,
    withContext: values['with-context'] === true,
    maxSensitivity,
    seed: Number(values.seed ?? 42),
    ratios: { train, validation },
    minChars: Number(values['min-chars'] ?? 2),
    maxChars: Number(values['max-chars'] ?? 16_000),
    generateCount,
    generator,
    resetCursor: values['reset-cursor'] === true,
    evalSet: values['eval-set'] === true,
    now: new Date(),
  });
  appendAudit(
    fb.db,
    cliEntry('dataset.export', path.resolve(values.out), {
      format,
      counts: manifest.counts,
      kbVersion: manifest.kbVersion,
    }),
    new Date(),
  );
  if (json) o.out(JSON.stringify(manifest));
  else {
    const c = manifest.counts;
    o.out(
      bold(
        o,
        `${format}: ${c.total} examples (train ${c.train}, validation ${c.validation}, test ${c.test}) → ${values.out}`,
      ),
    );
    o.out(`dropped: ${JSON.stringify(manifest.dropped)}; redacted: ${JSON.stringify(manifest.redactions)}`);
    o.out(`manifest: ${path.join(values.out, 'manifest.json')}`);
  }
  return 0;
}

export async function cmdFeedback(fb: Fieldbook, args: string[], o: Output, json: boolean): Promise<number> {
  const [action, id, ...text] = args;
  if (action === 'queue' || action === undefined) {
    const q = feedbackQueue(fb.db, CLI_CLEARANCE);
    const oneLine = (text: string): string => text.replace(/\s+/g, ' ').slice(0, 160);
    if (json) o.out(JSON.stringify(q));
    else if (q.length === 0) o.out('Nothing waiting: no correction to review, no thumbs-down answer without one.');
    else
      for (const item of q)
        o.out(
          item.kind === 'correction'
            ? `correction #${item.feedbackId} (answer ${item.answerId})  ${item.question}\n    answer: ${oneLine(item.answer)}\n    suggested${item.author ? ` by ${item.author}` : ''}: ${oneLine(item.correction ?? '')}`
            : `#${item.answerId}  ${item.question}\n    answer: ${oneLine(item.answer)}${item.comment ? `\n    comment: ${item.comment}` : ''}`,
        );
    return 0;
  }
  if (action === 'review' && id && ['accept', 'edit', 'reject'].includes(text[0] ?? '')) {
    const feedbackId = Number(id);
    const decision = text[0] as 'accept' | 'edit' | 'reject';
    const edited = text.slice(1).join(' ');
    if (!Number.isInteger(feedbackId)) throw new DatasetUsageError('feedback review needs a correction id');
    if (decision === 'edit' && !edited.trim()) throw new DatasetUsageError('feedback review ID edit needs the text');
    const f = getFeedback(fb.db, feedbackId);
    const r = audited(
      fb.db,
      () =>
        reviewCorrection(
          fb.db,
          {
            feedbackId,
            decision,
            ...(decision === 'edit' ? { correction: edited } : {}),
            reviewer: cliActor(),
            clearance: CLI_CLEARANCE,
          },
          new Date(),
        ),
      (x) =>
        cliEntry('feedback.review', `answer ${x.answerId}`, {
          feedbackId: x.id,
          decision: x.reviewStatus,
          suggestedBy: f?.author ?? null,
          sensitivity: answerSensitivity(fb.db, getAnswer(fb.db, x.answerId) as AnswerRecord),
        }),
      new Date(),
    );
    o.out(json ? JSON.stringify({ id: r.id, status: r.reviewStatus }) : `Correction ${r.id}: ${r.reviewStatus}.`);
    return 0;
  }
  if (action === 'correct' && id && text.length) {
    const answerId = Number(id);
    if (!Number.isInteger(answerId)) throw new DatasetUsageError('feedback correct needs an answer id');
    const fid = audited(
      fb.db,
      () =>
        saveFeedback(
          fb.db,
          {
            answerId,
            rating: 'down',
            correction: text.join(' '),
            author: cliActor(),
            approvedBy: cliActor(),
            clearance: CLI_CLEARANCE,
          },
          new Date(),
        ),
      () =>
        cliEntry('feedback', `answer ${answerId}`, {
          corrected: true,
          sensitivity: answerSensitivity(fb.db, getAnswer(fb.db, answerId) as AnswerRecord),
        }),
      new Date(),
    );
    o.out(json ? JSON.stringify({ id: fid }) : `Correction saved for answer ${answerId}.`);
    return 0;
  }
  throw new DatasetUsageError(
    'usage: fieldbook feedback queue | feedback correct ANSWER_ID "the right answer" | feedback review CORRECTION_ID accept|reject|edit "the right answer"',
  );
}
