/**
 * Library: the documents and failed files, importing (with cancel), labels, removal, re-indexing, and
 * choosing files or folders to import (the folder browser or the native dialog).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowseResult } from '../../src-preload/contract';
import { atLeast } from '../core/access/roles';
import { ingestAudit } from '../core/audit/audit-labels';
import { describeError, FieldbookError, isErrorCode } from '../core/errors';
import type { Fieldbook } from '../core/fieldbook';
import { SCANNED_EXTENSIONS } from '../core/ingest/detect';
import { getDocument, getDocumentByPath, higherLabel, listDocuments, setDocumentLabels } from '../core/store/documents';
import { withOrigins } from '../core/sync/document-origin';
import type { ApiContext, HandlerGroup } from './api-context';

/** Where the folder browser offers to start: the home folder and mounted drives. */
function browseRoots(): string[] {
  const roots = [os.homedir()];
  if (process.platform === 'win32') {
    for (const letter of 'CDEFGHIJKLMNOPQRSTUVWXYZ') if (fs.existsSync(`${letter}:\\`)) roots.push(`${letter}:\\`);
  } else {
    for (const r of ['/media', '/mnt', '/run/media']) if (fs.existsSync(r)) roots.push(r);
  }
  return roots;
}

export function libraryHandlers(
  ctx: ApiContext,
): HandlerGroup<
  | 'listDocuments'
  | 'ingest'
  | 'cancelIngest'
  | 'removeDocument'
  | 'updateDocument'
  | 'reindexDocument'
  | 'browse'
  | 'chooseFiles'
> {
  const { fb, host, emit, audit, auditedChange, allowed, visibleDocument, importing, cancelImport } = ctx;
  return {
    async listDocuments(_input, s) {
      const locale = fb.settings().locale;
      // Failed files are for the people who import (reviewers, admins): their paths and details can
      // name documents a reader may not see. A failure of an indexed document above the session's
      // clearance (a failed re-index) stays hidden from them too.
      const rows = atLeast(s.role(), 'reviewer')
        ? (
            fb.db
              .prepare('SELECT source_path, code, detail, failed_at FROM ingest_failures ORDER BY failed_at DESC')
              .all() as Array<{ source_path: string; code: string; detail: string | null; failed_at: string }>
          ).filter((r) => {
            const doc = getDocumentByPath(fb.db, r.source_path);
            return !doc || allowed(s, doc.sensitivity);
          })
        : [];
      const failures = rows.map((r) => {
        const code = isErrorCode(r.code) ? r.code : 'PARSE_FAILED';
        const report = describeError(new FieldbookError(code, r.detail ? { detail: r.detail } : {}), locale);
        return {
          sourcePath: r.source_path,
          code: r.code,
          message: report.message,
          hint: report.hint,
          detail: r.detail,
          failedAt: r.failed_at,
        };
      });
      // Each with where it came from: a local file, or which bundle (knowledge base, version, publisher).
      const documents = withOrigins(
        fb.db,
        listDocuments(fb.db).filter((d) => allowed(s, d.sensitivity)),
      );
      return { documents, failures };
    },
    async ingest(input, s) {
      s.require('reviewer', 'Adding documents');
      // Nobody labels documents above their own clearance or changes ones they may not see.
      if (input.sensitivity && !allowed(s, input.sensitivity)) {
        audit(s, 'access.denied', input.paths.join('; ').slice(0, 500), { sensitivity: input.sensitivity });
        throw new FieldbookError('ACCESS_DENIED', { detail: `your clearance is ${s.clearance()}` });
      }
      const opts: Parameters<Fieldbook['ingest']['ingest']>[1] = { maxSensitivity: s.clearance() };
      if (input.tags) opts.tags = input.tags;
      if (input.sensitivity) opts.sensitivity = input.sensitivity;
      if (input.isSafety !== undefined) opts.isSafety = input.isSafety;
      if (input.password) opts.password = input.password;
      const report = await importing((signal) =>
        fb.ingest.ingest(input.paths, opts, (progress) => emit({ type: 'ingest-progress', progress }, s), signal),
      );
      const entry = ingestAudit(fb.db, input.paths, opts, report);
      audit(s, 'ingest', entry.target, entry.detail);
      return report;
    },
    async cancelIngest(_input, s) {
      s.require('reviewer', 'Stopping an import');
      return { cancelled: cancelImport() };
    },
    async removeDocument(input, s) {
      s.require('reviewer', 'Removing documents');
      const doc = visibleDocument(s, input.id);
      auditedChange(
        s,
        'document.delete',
        () => fb.ingest.removeDocument(input.id),
        () => ({
          target: doc.sourcePath,
          detail: { title: doc.title, version: doc.version, sensitivity: doc.sensitivity },
        }),
      );
      return { removed: true };
    },
    async updateDocument(input, s) {
      s.require('reviewer', 'Changing labels');
      const before = visibleDocument(s, input.id);
      const labels: Parameters<typeof setDocumentLabels>[2] = {};
      if (input.tags) labels.tags = input.tags;
      if (input.sensitivity) labels.sensitivity = input.sensitivity;
      if (input.isSafety !== undefined) labels.isSafety = input.isSafety;
      auditedChange(
        s,
        'document.labels',
        () => setDocumentLabels(fb.db, input.id, labels, new Date()),
        () => ({
          target: before.sourcePath,
          detail: {
            before: { tags: before.tags, sensitivity: before.sensitivity, isSafety: before.isSafety },
            after: labels,
            sensitivity: higherLabel(before.sensitivity, labels.sensitivity ?? before.sensitivity),
          },
        }),
      );
      return getDocument(fb.db, input.id) as NonNullable<ReturnType<typeof getDocument>>;
    },
    async reindexDocument(input, s) {
      s.require('reviewer', 'Re-indexing');
      const doc = visibleDocument(s, input.id);
      const report = await fb.ingest.ingest([doc.sourcePath], { force: true }, (progress) =>
        emit({ type: 'ingest-progress', progress }, s),
      );
      audit(s, 'document.reindex', doc.sourcePath, { counts: report.counts, sensitivity: doc.sensitivity });
      return report;
    },
    async browse(input, s) {
      s.require('reviewer', 'Browsing folders to add documents');
      const dir = path.resolve(input.path ?? os.homedir());
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        throw new FieldbookError('PATH_NOT_FOUND', { file: dir });
      }
      const result: BrowseResult = {
        path: dir,
        parent: path.dirname(dir) === dir ? null : path.dirname(dir),
        roots: browseRoots(),
        entries: entries
          .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isFile()))
          .map((e) => ({
            name: e.name,
            path: path.join(dir, e.name),
            kind: e.isDirectory() ? ('dir' as const) : ('file' as const),
            supported: e.isDirectory() || SCANNED_EXTENSIONS.has(path.extname(e.name).toLowerCase()),
          }))
          .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1)),
      };
      return result;
    },
    async chooseFiles(input) {
      const opts = { folders: input.folders === true, purpose: input.purpose ?? 'documents' };
      return { paths: host.chooseFiles ? await host.chooseFiles(opts) : null };
    },
  };
}
