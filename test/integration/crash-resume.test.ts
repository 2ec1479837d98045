/**
 * Crash safety with real processes: a parser process that dies mid-file, and a whole
 * ingest run killed with SIGKILL mid-batch and then resumed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFieldbook } from '../../src-main/core/fieldbook';
import { forkParser, type ParserSpawner } from '../../src-main/core/ingest/parser-pool';
import { listDocuments } from '../../src-main/core/store/documents';
import { corpusFile, hasCorpus, repoRoot, tempDir } from '../support/paths';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()?.();
});

function writeNotes(dir: string, n: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(
      path.join(dir, `a-note-${String(i).padStart(2, '0')}.md`),
      `# Note ${i}\n\nValve V-${100 + i} 檢查完成。\n`,
    );
  }
}

describe.skipIf(!hasCorpus)('crash safety', () => {
  it('a parser process killed mid-file fails only that file, leaves no rows for it, and the batch goes on', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const docs = path.join(tmp.dir, 'docs');
    writeNotes(docs, 3);
    const victim = path.join(docs, 'm-osha.pdf');
    fs.copyFileSync(corpusFile('osha3170_safeguarding_amputations.pdf'), victim);
    // A real child process, killed from outside when it reports its first page of the victim file.
    const killing: ParserSpawner = (opts) => {
      const proc = forkParser(opts);
      return {
        ...proc,
        onMessage(handler) {
          proc.onMessage((msg) => {
            if ('progress' in msg && msg.progress.pages === 60) proc.kill();
            handler(msg);
          });
        },
      };
    };
    const fb = openFieldbook({ home: path.join(tmp.dir, 'home'), spawnParser: killing, embeddingModelRoots: [] });
    try {
      const report = await fb.ingest.ingest([docs]);
      expect(report.counts).toMatchObject({ added: 3, failed: 1 });
      const failed = report.files.find((f) => f.outcome === 'failed');
      expect(failed?.file).toBe(victim);
      expect(failed?.error?.code).toBe('PARSE_CRASHED');
      expect(listDocuments(fb.db).map((d) => d.sourcePath)).not.toContain(victim);
      const failures = fb.db.prepare('SELECT source_path, code FROM ingest_failures').all();
      expect(failures).toEqual([{ source_path: victim, code: 'PARSE_CRASHED' }]);
    } finally {
      await fb.close();
    }
  });

  it('stopping an import cancels the file in progress, keeps the rest pending, and resume finishes it', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const docs = path.join(tmp.dir, 'docs');
    writeNotes(docs, 2);
    fs.copyFileSync(corpusFile('eu_machinery_regulation_2023_1230.pdf'), path.join(docs, 'z-eu.pdf'));
    fs.copyFileSync(corpusFile('osha3170_safeguarding_amputations.pdf'), path.join(docs, 'z-osha.pdf'));
    const fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [], llmModelRoots: [] });
    try {
      const controller = new AbortController();
      const report = await fb.ingest.ingest(
        [docs],
        {},
        (p) => {
          if (p.phase === 'parse' && p.file?.endsWith('z-eu.pdf') && p.page === 5) controller.abort();
        },
        controller.signal,
      );
      expect(report.counts.cancelled).toBeGreaterThanOrEqual(1);
      expect(report.files.find((f) => f.file.endsWith('z-eu.pdf'))?.error?.code).toBe('INGEST_CANCELLED');
      expect(listDocuments(fb.db).map((d) => path.basename(d.sourcePath))).not.toContain('z-eu.pdf');
      expect(fb.db.prepare('SELECT COUNT(*) AS n FROM ingest_failures').get()).toEqual({ n: 0 });
      const resumed = await fb.ingest.resume();
      expect(resumed?.counts.failed).toBe(0);
      expect(listDocuments(fb.db)).toHaveLength(4);
    } finally {
      await fb.close();
    }
  });

  it('an ingest run killed mid-batch resumes where it stopped, without duplicates', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const docs = path.join(tmp.dir, 'docs');
    const home = path.join(tmp.dir, 'home');
    writeNotes(docs, 12);
    fs.copyFileSync(corpusFile('osha3170_safeguarding_amputations.pdf'), path.join(docs, 'z-osha.pdf'));
    fs.copyFileSync(corpusFile('eu_machinery_regulation_2023_1230.pdf'), path.join(docs, 'z-eu.pdf'));
    const total = 14;

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src-main', 'cli.ts'), 'ingest', docs, '--home', home],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    const killed = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Both big PDFs are being parsed: every note is committed, the PDFs are not.
        if (stderr.includes('z-osha.pdf') && stderr.includes('z-eu.pdf')) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    await killed;
    expect(child.signalCode).toBe('SIGKILL');

    const fb = openFieldbook({ home, embeddingModelRoots: [] });
    try {
      expect(fb.recoveredFromUncleanExit).toBe(true);
      const states = fb.db.prepare('SELECT state, COUNT(*) AS n FROM ingest_job_files GROUP BY state').all() as Array<{
        state: string;
        n: number;
      }>;
      const pending = states.find((s) => s.state === 'pending')?.n ?? 0;
      expect(pending).toBeGreaterThan(0);
      expect(listDocuments(fb.db).length).toBe(total - pending);

      const resumed = await fb.ingest.resume();
      expect(resumed?.counts).toMatchObject({ added: pending, failed: 0 });
      const all = listDocuments(fb.db);
      expect(all).toHaveLength(total);
      expect(new Set(all.map((d) => d.sourcePath)).size).toBe(total);
      expect(await fb.ingest.resume()).toBeNull();
      expect(fb.db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      await fb.close();
    }
  });
});
