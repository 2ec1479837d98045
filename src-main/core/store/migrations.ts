/**
 * Schema migrations. Index i upgrades user_version i → i+1. Never edit a shipped step;
 * add a new one.
 */

/**
 * An in-place edit of one table's CREATE statement, for changes every existing row already
 * satisfies (e.g. one more value allowed by a CHECK). `db.ts` applies it with SQLite's
 * writable_schema procedure (sqlite.org/lang_altertable.html#otheralter): no row is copied or
 * dropped, so children with ON DELETE CASCADE are untouched — unlike rebuilding the table,
 * whose DROP would delete them (foreign keys stay on inside a migration's transaction).
 */
export interface SchemaEdit {
  table: string;
  /** Text that must occur exactly once in the table's CREATE statement… */
  replace: string;
  /** …and what it becomes. */
  with: string;
}

/** A step: SQL run as is, or an in-place schema edit. */
export type Migration = string | SchemaEdit;

export const MIGRATIONS: readonly Migration[] = [
  /* 1: documents, chunks, keyword index, ingest jobs, settings, models */ `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    source_path  TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    type         TEXT NOT NULL CHECK (type IN ('pdf','docx','txt','md')),
    sha256       TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    pages        INTEGER,
    language     TEXT NOT NULL,
    sensitivity  TEXT NOT NULL DEFAULT 'internal'
                 CHECK (sensitivity IN ('public','internal','confidential','restricted')),
    is_safety    INTEGER NOT NULL DEFAULT 0,
    version      INTEGER NOT NULL DEFAULT 1,
    status       TEXT NOT NULL DEFAULT 'indexed',
    warnings     TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    indexed_at   TEXT NOT NULL
  );

  CREATE TABLE document_tags (
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (doc_id, key)
  );
  CREATE INDEX document_tags_kv ON document_tags(key, value);

  CREATE TABLE chunks (
    id           INTEGER PRIMARY KEY,
    doc_id       INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord          INTEGER NOT NULL,
    page_start   INTEGER,
    page_end     INTEGER,
    heading_path TEXT NOT NULL DEFAULT '[]',
    text         TEXT NOT NULL,
    positions    TEXT,
    embedded     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (doc_id, ord)
  );
  CREATE INDEX chunks_unembedded ON chunks(embedded) WHERE embedded = 0;

  CREATE VIRTUAL TABLE chunk_fts USING fts5(
    body, codes, title,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
  );

  CREATE TABLE ingest_failures (
    source_path TEXT PRIMARY KEY,
    code        TEXT NOT NULL,
    detail      TEXT,
    failed_at   TEXT NOT NULL
  );

  CREATE TABLE ingest_jobs (
    id         INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    options    TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('running','done','cancelled'))
  );

  CREATE TABLE ingest_job_files (
    job_id INTEGER NOT NULL REFERENCES ingest_jobs(id) ON DELETE CASCADE,
    path   TEXT NOT NULL,
    state  TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed','skipped')),
    PRIMARY KEY (job_id, path)
  );

  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE approved_models (
    kind        TEXT NOT NULL CHECK (kind IN ('embedding','llm')),
    name        TEXT NOT NULL,
    file        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (kind, name, file)
  );
  `,
  /* 2: conversations and answers */ `
  CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE answers (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question        TEXT NOT NULL,
    retrieval_query TEXT NOT NULL,
    answer          TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('generative','extractive','not-found')),
    model           TEXT,
    language        TEXT NOT NULL,
    citations       TEXT NOT NULL DEFAULT '[]',
    safety          TEXT NOT NULL DEFAULT '{}',
    confidence      REAL NOT NULL,
    needs_review    INTEGER NOT NULL,
    timings         TEXT NOT NULL DEFAULT '{}',
    kb_version      TEXT,
    created_at      TEXT NOT NULL
  );
  CREATE INDEX answers_conversation ON answers(conversation_id, id);
  `,
  /* 3: float vectors as BLOBs (re-scoring), next to the binary vec0 index */ `
  DROP TABLE IF EXISTS chunk_vec;
  CREATE TABLE chunk_vectors (
    chunk_id  INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL
  );
  UPDATE chunks SET embedded = 0;
  DELETE FROM meta WHERE key IN ('embedding.model_id', 'embedding.dim');
  `,
  /* 4: feedback on answers */ `
  CREATE TABLE feedback (
    id         INTEGER PRIMARY KEY,
    answer_id  INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    rating     TEXT NOT NULL CHECK (rating IN ('up','down')),
    comment    TEXT,
    correction TEXT,
    author     TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX feedback_answer ON feedback(answer_id);
  `,
  /* 5: audit trail (append-only, hash-chained), role passphrases, API keys */ `
  CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  );
  CREATE INDEX audit_action ON audit_log(action, at);
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

  CREATE TABLE role_passphrases (
    role       TEXT PRIMARY KEY CHECK (role IN ('reviewer','admin')),
    hash       TEXT NOT NULL,
    salt       TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('reader','reviewer','admin')),
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  `,
  /* 6: dataset export history */ `
  CREATE TABLE dataset_exports (
    id         INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    format     TEXT NOT NULL,
    out_dir    TEXT NOT NULL,
    manifest   TEXT NOT NULL
  );
  `,
  /* 7: USB bundles: trusted signing keys, staged imports and their reviewed changes */ `
  CREATE TABLE trusted_keys (
    fingerprint TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public_pem  TEXT NOT NULL,
    added_at    TEXT NOT NULL
  );
  CREATE TABLE bundle_imports (
    bundle_id  TEXT PRIMARY KEY,
    source_kb  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    signer     TEXT NOT NULL,
    manifest   TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('staged','applied','rejected')),
    staged_at  TEXT NOT NULL,
    applied_at TEXT
  );
  CREATE TABLE bundle_items (
    bundle_id   TEXT NOT NULL REFERENCES bundle_imports(bundle_id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('new','changed','unchanged','removed')),
    title       TEXT NOT NULL,
    size_before INTEGER,
    size_after  INTEGER,
    sensitivity TEXT,
    decision    TEXT NOT NULL CHECK (decision IN ('pending','approved','rejected')),
    reviewer    TEXT,
    comment     TEXT,
    PRIMARY KEY (bundle_id, key, kind)
  );
  `,
  /* 8: bundle items can also be model files (model packs) */ `
  CREATE TABLE bundle_items_new (
    bundle_id   TEXT NOT NULL REFERENCES bundle_imports(bundle_id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('new','changed','unchanged','removed','model')),
    title       TEXT NOT NULL,
    size_before INTEGER,
    size_after  INTEGER,
    sensitivity TEXT,
    decision    TEXT NOT NULL CHECK (decision IN ('pending','approved','rejected')),
    reviewer    TEXT,
    comment     TEXT,
    PRIMARY KEY (bundle_id, key, kind)
  );
  INSERT INTO bundle_items_new SELECT * FROM bundle_items;
  DROP TABLE bundle_items;
  ALTER TABLE bundle_items_new RENAME TO bundle_items;
  `,
  /* 9: chunks read by OCR carry the recogniser's confidence */ `
  ALTER TABLE chunks ADD COLUMN ocr_confidence REAL;
  `,
  /* bundle export history on the publishing workstation: what each version held, for incremental bundles */ `
  CREATE TABLE bundle_exports (
    version      INTEGER PRIMARY KEY,
    bundle_id    TEXT NOT NULL UNIQUE,
    base_version INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    documents    TEXT NOT NULL
  );
  `,
  /* a rolled-back bundle import is marked so (and can be staged again): one more value in bundle_imports.status's CHECK */ {
    table: 'bundle_imports',
    replace: "CHECK (status IN ('staged','applied','rejected'))",
    with: "CHECK (status IN ('staged','applied','rejected','rolled-back'))",
  },
  /* documents can be images (PNG/JPEG/TIFF read by OCR): one more value in documents.type's CHECK */ {
    table: 'documents',
    replace: "CHECK (type IN ('pdf','docx','txt','md'))",
    with: "CHECK (type IN ('pdf','docx','txt','md','image'))",
  },
  /* answers keep every passage of their context with its label (visibility follows all of them, not only the cited ones);
     older answers get their citations as context (label recorded, else the document's current one, else restricted);
     an older answer that cites nothing and was not "not found" keeps NULL: its context is unknown (treated as restricted) */ `
  ALTER TABLE answers ADD COLUMN context TEXT;
  UPDATE answers SET context = (
    SELECT json_group_array(json_object(
      'chunkId', json_extract(c.value, '$.chunkId'),
      'docId', json_extract(c.value, '$.docId'),
      'sourcePath', json_extract(c.value, '$.sourcePath'),
      'docVersion', json_extract(c.value, '$.docVersion'),
      'sensitivity', COALESCE(
        json_extract(c.value, '$.sensitivity'),
        (SELECT d.sensitivity FROM documents d
          WHERE d.id = json_extract(c.value, '$.docId') AND d.source_path = json_extract(c.value, '$.sourcePath')),
        'restricted')))
    FROM json_each(answers.citations) c)
  WHERE json_array_length(citations) > 0 OR mode = 'not-found';
  `,
  /* library documents (files written by bundles under <home>/library/<kb>/) keep their path relative to the data folder,
     'library/<kb>/<file>', so a moved or copied data folder keeps working; a row whose relative path another row already
     has (a copied folder that received a bundle) keeps its absolute path */ `
  UPDATE OR IGNORE documents SET source_path = (
    SELECT 'library/' || k.kb || '/' || substr(replace(documents.source_path, char(92), '/'),
             instr(replace(documents.source_path, char(92), '/'), '/library/' || k.kb || '/') + length(k.kb) + 10)
    FROM (SELECT DISTINCT lower(source_kb) AS kb FROM bundle_imports) k
    WHERE instr(replace(documents.source_path, char(92), '/'), '/library/' || k.kb || '/') > 0
  )
  WHERE source_path NOT LIKE 'library/%' AND EXISTS (
    SELECT 1 FROM (SELECT DISTINCT lower(source_kb) AS kb FROM bundle_imports) k
    WHERE instr(replace(documents.source_path, char(92), '/'), '/library/' || k.kb || '/') > 0
      AND instr(substr(replace(documents.source_path, char(92), '/'),
            instr(replace(documents.source_path, char(92), '/'), '/library/' || k.kb || '/') + length(k.kb) + 10), '/') = 0
  );
  `,
  /* 15: the vector index becomes int8 (scalar-quantised, searched exactly, re-scored on floats) instead of sign bits:
     the bit index is dropped and marked for rebuilding from the kept float vectors (vectors.ts buildVectorIndex,
     with progress, no re-embedding); the keyword index ranks with a configured rank function (BM25, title/codes
     weighted as before), so queries can ORDER BY rank */ `
  INSERT OR REPLACE INTO meta(key, value)
    SELECT 'vector_index.rebuild', '0' WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'chunk_vec_bin');
  DROP TABLE IF EXISTS chunk_vec_bin;
  INSERT INTO chunk_fts(chunk_fts, rank) VALUES ('rank', 'bm25(1.0, 8.0, 2.0)');
  `,
  /* 16: a correction is a suggestion until a reviewer accepts, edits or rejects it (issue 15.6): its review status, who
     reviewed it and when, the text that was approved (the edited one, or the suggestion as written) and the order of
     reviews (the dataset cursor for corrections). Corrections already stored become 'pending', never silently approved */ `
  ALTER TABLE feedback ADD COLUMN review_status TEXT CHECK (review_status IN ('pending','accepted','edited','rejected'));
  ALTER TABLE feedback ADD COLUMN reviewed_by TEXT;
  ALTER TABLE feedback ADD COLUMN reviewed_at TEXT;
  ALTER TABLE feedback ADD COLUMN approved_correction TEXT;
  ALTER TABLE feedback ADD COLUMN review_seq INTEGER;
  UPDATE feedback SET review_status = 'pending' WHERE correction IS NOT NULL;
  CREATE INDEX feedback_review ON feedback(review_status, review_seq);
  `,
  /* 17: a bundle document whose content is already in the library under another path (issue 15.8) is its own kind of
     change, 'duplicate': one more value in bundle_items.kind's CHECK */ {
    table: 'bundle_items',
    replace: "CHECK (kind IN ('new','changed','unchanged','removed','model'))",
    with: "CHECK (kind IN ('new','changed','unchanged','removed','model','duplicate'))",
  },
  /* 18: …and names the stored path of the document with the same content */ `
  ALTER TABLE bundle_items ADD COLUMN same_as TEXT;
  `,
];
