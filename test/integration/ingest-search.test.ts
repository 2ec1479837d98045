/**
 * Ingestion and search end to end on real documents: real PDFs/DOCX from the shared
 * corpus, generated Markdown, a real SQLite file and real parser processes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFieldbook, type Fieldbook } from '../../src-main/core/fieldbook';
import { listDocuments, storeStats } from '../../src-main/core/store/documents';
import { corpusFile, hasCorpus, tempDir } from '../support/paths';

const CORPUS_FILES = [
  'taipei_ivoting_install_manual_zh-TW.pdf',
  'faa_amt_handbook_sample_2col.pdf',
  'osha3170_safeguarding_amputations.pdf',
  'washer_overflow_sensor_sop.docx',
  'beetle_station_operation_manual_en_zh-Hans.docx',
];

const FAULT_LOG = `# Press-3 fault log

## 2026-03-02 伺服過載
沖壓機 Press-3 顯示 E-203 伺服過載。原因：模具卡料。處理：清除卡料後按下復位鍵。

## 2026-03-09 Drive trip
Inverter showed F0001 overcurrent on Conveyor CV-2. Replaced CPU 6ES7 214-1AG40-0XB0 after the fault repeated.
`;

describe.skipIf(!hasCorpus)('ingest and search on real documents', () => {
  const tmp = tempDir();
  const docsDir = path.join(tmp.dir, 'docs');
  let fb: Fieldbook;

  beforeAll(async () => {
    fs.mkdirSync(docsDir, { recursive: true });
    for (const f of CORPUS_FILES) fs.copyFileSync(corpusFile(f), path.join(docsDir, f));
    fs.writeFileSync(path.join(docsDir, 'fault-log.md'), FAULT_LOG);
    fb = openFieldbook({ home: path.join(tmp.dir, 'home'), embeddingModelRoots: [] });
    const report = await fb.ingest.ingest([docsDir], { tags: { line: 'A' } });
    expect(report.counts).toMatchObject({ added: CORPUS_FILES.length + 1, failed: 0 });
  });

  afterAll(async () => {
    await fb.close();
    tmp.cleanup();
  });

  it('stores every document with type, pages and chunks that carry page numbers', () => {
    const docs = listDocuments(fb.db);
    const byName = new Map(docs.map((d) => [path.basename(d.sourcePath), d]));
    expect(byName.get('osha3170_safeguarding_amputations.pdf')).toMatchObject({
      type: 'pdf',
      pages: 60,
      language: 'en',
    });
    expect(byName.get('taipei_ivoting_install_manual_zh-TW.pdf')).toMatchObject({ pages: 9, language: 'zh-TW' });
    expect(byName.get('washer_overflow_sensor_sop.docx')).toMatchObject({ type: 'docx', pages: null });
    const unpaged = fb.db
      .prepare(
        "SELECT COUNT(*) AS n FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.type = 'pdf' AND c.page_start IS NULL",
      )
      .get() as { n: number };
    expect(unpaged.n).toBe(0);
    expect(storeStats(fb.db).embeddedChunks).toBe(0);
  });

  it('finds Traditional Chinese with a two-character query, and with its Simplified form', async () => {
    for (const q of ['安裝', '安装']) {
      const res = await fb.search.search(q, { k: 3 });
      expect(res.mode).toBe('keyword');
      expect(res.notice).toMatch(/keyword-only/);
      expect(path.basename(res.hits[0]?.sourcePath ?? '')).toBe('taipei_ivoting_install_manual_zh-TW.pdf');
      expect(res.hits[0]?.snippet).toContain('安裝');
      expect(res.hits[0]?.highlights.length).toBeGreaterThan(0);
    }
  });

  it('finds error codes and part numbers in any spelling and flags the exact match', async () => {
    for (const q of ['E-203', 'e203', 'Ｅ－２０３', 'F0001', '6ES7 214-1AG40-0XB0', '6ES72141AG400XB0']) {
      const res = await fb.search.search(q, { k: 3 });
      const top = res.hits[0];
      expect(path.basename(top?.sourcePath ?? ''), q).toBe('fault-log.md');
      expect(top?.exactCodeMatch, q).toBe(true);
    }
  });

  it('cites the page of a passage deep inside a long PDF', async () => {
    const res = await fb.search.search('lockout tagout energy control program', { k: 5 });
    const osha = res.hits.find((h) => h.sourcePath.endsWith('osha3170_safeguarding_amputations.pdf'));
    expect(osha?.pageStart).toBeGreaterThan(1);
    expect(osha?.boxes.length).toBeGreaterThan(0);
    expect(osha?.boxes.every((b) => b.page >= (osha.pageStart ?? 0) && b.page <= (osha.pageEnd ?? 0))).toBe(true);
  });

  it('reads two-column pages column by column and joins hyphenated words', () => {
    const text = (name: string): string =>
      (
        fb.db
          .prepare(
            'SELECT group_concat(c.text, char(10)) AS t FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.source_path LIKE ?',
          )
          .get(`%${name}`) as { t: string }
      ).t;
    const faa = text('faa_amt_handbook_sample_2col.pdf');
    expect(faa).toContain('Only a wrench applied to the nut loosens it.');
    const osha = text('osha3170_safeguarding_amputations.pdf');
    expect(osha).toContain('identifying the hazards associated with the use and care of the machine');
    // The running footer repeated on every page is gone.
    expect(osha).not.toContain('S A F E G U A R D I N G');
  });

  it('keeps DOCX headings as the heading path and tables as rows', () => {
    const rows = fb.db
      .prepare(
        "SELECT c.heading_path AS hp, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.source_path LIKE '%washer_overflow_sensor_sop.docx'",
      )
      .all() as Array<{ hp: string; text: string }>;
    expect(rows.some((r) => (JSON.parse(r.hp) as string[]).length > 0)).toBe(true);
    expect(rows.some((r) => r.text.includes(' | '))).toBe(true);
  });

  it('filters by tag and by document type', async () => {
    expect((await fb.search.search('安裝', { filters: { tags: { line: 'B' } } })).hits).toHaveLength(0);
    const docxOnly = await fb.search.search('washer', { filters: { types: ['docx'] } });
    expect(docxOnly.hits.length).toBeGreaterThan(0);
    expect(docxOnly.hits.every((h) => h.docType === 'docx')).toBe(true);
  });

  it('skips unchanged files, replaces a changed file in place and removes deleted ones when asked', async () => {
    const again = await fb.ingest.ingest([docsDir], { tags: { line: 'A' } });
    expect(again.counts).toMatchObject({ unchanged: CORPUS_FILES.length + 1, added: 0, updated: 0 });

    const log = path.join(docsDir, 'fault-log.md');
    fs.writeFileSync(log, FAULT_LOG.replace('E-203', 'E-117').replace('F0001', 'F0002'));
    const changed = await fb.ingest.ingest([docsDir], { tags: { line: 'A' } });
    expect(changed.counts).toMatchObject({ updated: 1, unchanged: CORPUS_FILES.length });
    const doc = listDocuments(fb.db).find((d) => d.sourcePath === log);
    expect(doc?.version).toBe(2);
    expect((await fb.search.search('F0001')).hits.some((h) => h.sourcePath === log)).toBe(false);
    expect((await fb.search.search('F0002')).hits[0]?.sourcePath).toBe(log);

    fs.rmSync(log);
    const kept = await fb.ingest.ingest([docsDir]);
    expect(kept.counts.removed).toBe(0);
    expect(listDocuments(fb.db).some((d) => d.sourcePath === log)).toBe(true);
    const pruned = await fb.ingest.ingest([docsDir], { removeMissing: true });
    expect(pruned.removed).toEqual([log]);
    expect(listDocuments(fb.db).some((d) => d.sourcePath === log)).toBe(false);
    const orphans = fb.db
      .prepare('SELECT COUNT(*) AS n FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)')
      .get() as { n: number };
    expect(orphans.n).toBe(0);
    expect((await fb.search.search('F0002')).hits).toHaveLength(0);
  });
});
