/**
 * The sample knowledge base (resources/samples): its manifest.json gives each file's tags,
 * sensitivity label and safety flag. Ingested by `fieldbook demo` and by the procedure eval.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FieldbookError } from './errors';
import type { Fieldbook } from './fieldbook';
import type { IngestOptions, IngestReport } from './ingest/ingest-service';
import { SENSITIVITY_LEVELS } from './store/documents';

const SampleManifest = z.array(
  z.object({
    file: z.string(),
    title: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
    sensitivity: z.enum(SENSITIVITY_LEVELS).optional(),
    safety: z.boolean().optional(),
  }),
);

/** One sample file ingested: its path, the options it was ingested with, and the report. */
export interface SampleIngested {
  file: string;
  options: IngestOptions;
  report: IngestReport;
}

/**
 * Ingest every file of the sample knowledge base in `samplesDir` with the labels of its
 * manifest, one file per call so each gets its own options; `onFile` sees each result.
 */
export async function ingestSamples(
  fb: Fieldbook,
  samplesDir: string,
  onFile?: (done: SampleIngested) => void,
): Promise<SampleIngested[]> {
  const manifestFile = path.join(samplesDir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new FieldbookError('PATH_NOT_FOUND', { file: manifestFile });
  const manifest = SampleManifest.parse(JSON.parse(fs.readFileSync(manifestFile, 'utf8')));
  const done: SampleIngested[] = [];
  for (const entry of manifest) {
    const file = path.join(samplesDir, entry.file);
    const options: IngestOptions = {
      isSafety: entry.safety === true,
      ...(entry.tags ? { tags: entry.tags } : {}),
      ...(entry.sensitivity ? { sensitivity: entry.sensitivity } : {}),
    };
    const report = await fb.ingest.ingest([file], options);
    const result = { file, options, report };
    onFile?.(result);
    done.push(result);
  }
  return done;
}
