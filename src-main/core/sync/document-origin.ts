/**
 * Where each document came from: added on this PC (a local file), or written by a USB bundle —
 * which knowledge base, and the applied bundle (version, publisher) whose copy it is.
 */
import type { Db } from '../store/db';
import { isLibraryPath, storedSourcePath, type DocumentRecord } from '../store/documents';
import { keyFileName } from './bundle-manifest';

export type DocumentOrigin =
  | { kind: 'local' }
  | {
      kind: 'bundle';
      /** The knowledge-base id (the library folder it lives in). */
      kb: string;
      /** The applied bundle whose copy this is; null when no applied bundle lists it (e.g. after a rollback). */
      bundleId: string | null;
      /** That bundle's version on the publishing workstation, and who signed it. */
      version: number | null;
      signer: string | null;
      appliedAt: string | null;
    };

interface AppliedDocument {
  bundleId: string;
  kb: string;
  version: number;
  signer: string;
  appliedAt: string;
  key: string;
  sha256: string;
}

/**
 * The origin of a stored path (as `documents.source_path` holds it) with its content hash. Applied
 * bundles are read once: a library document's bundle is the latest applied one that listed it with
 * this content, else the latest that listed it at all.
 */
export function originLookup(db: Db): (storedPath: string, sha256: string) => DocumentOrigin {
  const rows = db
    .prepare(
      `SELECT b.bundle_id AS bundleId, lower(b.source_kb) AS kb, b.version, b.signer, b.applied_at AS appliedAt,
              json_extract(j.value, '$.key') AS key, json_extract(j.value, '$.sha256') AS sha256
         FROM bundle_imports b, json_each(b.manifest, '$.documents') j
        WHERE b.status = 'applied'
        ORDER BY b.applied_at, b.rowid`,
    )
    .all() as AppliedDocument[];
  const fileOf = (kb: string, name: string): string => `${kb.toLowerCase()}/${name.toLowerCase()}`;
  const exact = new Map<string, AppliedDocument>();
  const byFile = new Map<string, AppliedDocument>();
  for (const r of rows) {
    const file = fileOf(r.kb, keyFileName(r.key));
    exact.set(`${file}\u0000${r.sha256}`, r);
    byFile.set(file, r);
  }
  return (storedPath, sha256) => {
    if (!isLibraryPath(storedPath)) return { kind: 'local' };
    const [, kb = '', ...rest] = storedPath.split('/');
    const file = fileOf(kb, rest.join('/'));
    const r = exact.get(`${file}\u0000${sha256}`) ?? byFile.get(file);
    return {
      kind: 'bundle',
      kb,
      bundleId: r?.bundleId ?? null,
      version: r?.version ?? null,
      signer: r?.signer ?? null,
      appliedAt: r?.appliedAt ?? null,
    };
  };
}

/** Documents with where each came from (the library list). */
export function withOrigins(db: Db, docs: DocumentRecord[]): Array<DocumentRecord & { origin: DocumentOrigin }> {
  const origin = originLookup(db);
  return docs.map((d) => ({ ...d, origin: origin(storedSourcePath(db, d.sourcePath), d.sha256) }));
}
