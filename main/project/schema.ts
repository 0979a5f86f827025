// Versioned migrations. PRAGMA user_version holds the version; each migration runs in one transaction with its bump,
// so a crash mid-migration leaves the previous version intact.
import { inflateSync } from 'node:zlib';

import type Database from 'better-sqlite3';

/** A migration: SQL, or a function for steps SQL cannot do (reading the deflated mask blobs). */
type Migration = string | ((db: Database.Database) => void);

const MIGRATIONS: readonly Migration[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'dicom', 'nifti')),
    format TEXT NOT NULL,
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    frames INTEGER NOT NULL CHECK (frames > 0),
    slices INTEGER,
    bit_depth INTEGER NOT NULL,
    info_json TEXT NOT NULL,
    added_at INTEGER NOT NULL
  );
  CREATE TABLE classes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 256));
  -- frame_start = frame_end = -1: a label on the whole item; otherwise an inclusive frame range.
  CREATE TABLE labels (
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    frame_start INTEGER NOT NULL,
    frame_end INTEGER NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id),
    PRIMARY KEY (item_id, frame_start, frame_end),
    CHECK (frame_end >= frame_start)
  ) WITHOUT ROWID;
  -- Masks: one class-index map per image or volume slice, deflate-compressed uint8.
  CREATE TABLE masks (
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    axis INTEGER NOT NULL CHECK (axis IN (0, 1, 2)),
    slice INTEGER NOT NULL CHECK (slice >= 0),
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (item_id, axis, slice)
  ) WITHOUT ROWID;
  CREATE TABLE splits (
    item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test'))
  );
  CREATE TABLE models (id INTEGER PRIMARY KEY, name TEXT NOT NULL, card_json TEXT NOT NULL, added_at INTEGER NOT NULL);
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    params_json TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER
  );
  CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run_id, step, name)
  ) WITHOUT ROWID;
  -- Undo history of labeling edits: each entry holds the affected rows before and after (JSON).
  CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
    at INTEGER NOT NULL
  );
  CREATE INDEX labels_class ON labels(class_id);
  `,
  // 2: stable mask values. A mask pixel holds a value 1..255; mask_values says which class it means. A value is
  // given once and never renumbered or reused: renaming keeps it, deleting the class leaves it retired (class_id NULL).
  (db) => {
    db.exec(`CREATE TABLE mask_values (
      value INTEGER PRIMARY KEY CHECK (value BETWEEN 1 AND 255),
      class_id INTEGER UNIQUE REFERENCES classes(id) ON DELETE SET NULL
    )`);
    // Before version 2 a mask value v meant the v-th class in name order (what the Label view painted with): keep
    // that meaning for every class that exists now.
    const ids = db.prepare('SELECT id FROM classes ORDER BY name LIMIT 255').pluck().all() as number[];
    const insert = db.prepare('INSERT INTO mask_values (value, class_id) VALUES (?, ?)');
    ids.forEach((id, i) => insert.run(i + 1, id));
    // Values painted past the last class (painted before any class existed) stay unnamed but reserved.
    const used = new Set<number>();
    for (const blob of db.prepare('SELECT data FROM masks').pluck().iterate() as Iterable<Buffer>) {
      for (const v of inflateSync(blob)) used.add(v);
    }
    for (const v of [...used].sort((a, b) => a - b)) if (v > ids.length) insert.run(v, null);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`project schema version ${current} is newer than this app supports (${SCHEMA_VERSION})`);
  }
  for (let v = current; v < SCHEMA_VERSION; v += 1) {
    db.transaction(() => {
      const m = MIGRATIONS[v] as Migration;
      if (typeof m === 'string') db.exec(m);
      else m(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return SCHEMA_VERSION;
}
