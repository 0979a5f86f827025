// The project store: one SQLite database per project folder (WAL, foreign keys, synchronous=FULL).
// Every write runs in one transaction, so a crash at any point leaves either the old or the new state.
// Labeling edits (labels, masks) are recorded with their before/after rows and can be undone and redone.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';

import Database from 'better-sqlite3';

import type {
  ItemFilter,
  Label,
  LibraryItem,
  MaskClass,
  MaskInfo,
  ProjectItem,
  ProjectSummary,
  ReviewState,
  SliceReview,
  Split,
} from '../../contract/project.js';
import type { MediaInfo, MediaKind } from '../../contract/media.js';
import { AppError } from '../ipc/app-error.js';
import { migrate } from './schema.js';

export const DB_FILE = 'project.ssm.sqlite';

/** -1 marks a label on the whole item in the frame columns. */
const WHOLE = -1;

export interface NewItem {
  path: string;
  hash: string;
  info: MediaInfo;
}

interface ItemRow {
  id: number;
  path: string;
  hash: string;
  kind: MediaKind;
  format: string;
  width: number;
  height: number;
  frames: number;
  slices: number | null;
  bit_depth: number;
  split: Split | null;
  added_at: number;
}

type RowState =
  | { t: 'label'; itemId: number; fs: number; fe: number; cls: string | null }
  | { t: 'mask'; itemId: number; axis: number; slice: number; w: number; h: number; data: string | null }
  | { t: 'review'; itemId: number; axis: number; slice: number; state: ReviewState | null }
  // A class row (name null: absent) and the mask value it holds: renames and deletions, undoable.
  | { t: 'class'; id: number; name: string | null; value: number | null };

/** The largest mask value (masks are uint8; 0 is background). */
export const MAX_MASK_VALUE = 255;

export interface LabelEdit {
  itemId: number;
  className: string | null;
  frameStart: number | null;
  frameEnd: number | null;
}

export interface IntegrityReport {
  ok: boolean;
  integrity: string[];
  foreignKeys: unknown[];
}

function toItem(r: ItemRow): ProjectItem {
  return {
    id: r.id,
    path: r.path,
    hash: r.hash,
    kind: r.kind,
    format: r.format,
    width: r.width,
    height: r.height,
    frames: r.frames,
    slices: r.slices,
    bitDepth: r.bit_depth,
    split: r.split,
    addedAt: r.added_at,
  };
}

const ITEM_SELECT = `SELECT i.id, i.path, i.hash, i.kind, i.format, i.width, i.height, i.frames, i.slices, i.bit_depth,
  i.added_at, s.split FROM items i LEFT JOIN splits s ON s.item_id = i.id`;

export class ProjectStore {
  private constructor(
    readonly dir: string,
    readonly db: Database.Database,
    readonly schemaVersion: number,
  ) {}

  /** Opens (creating if needed) the project in `dir`. */
  static open(dir: string, options: { create?: boolean } = {}): ProjectStore {
    const file = path.join(dir, DB_FILE);
    if (options.create !== false) mkdirSync(dir, { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: options.create === false });
    } catch (err) {
      throw new AppError(
        'not_found',
        `cannot open project in ${dir}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 10000');
      const version = migrate(db);
      return new ProjectStore(dir, db, version);
    } catch (err) {
      db.close();
      if (err instanceof Error && /not a database|malformed/i.test(err.message)) {
        throw new AppError('corrupt_input', `${file} is not a valid project database: ${err.message}`);
      }
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  integrity(): IntegrityReport {
    const integrity = (this.db.pragma('integrity_check') as { integrity_check: string }[]).map(
      (r) => r.integrity_check,
    );
    const foreignKeys = this.db.pragma('foreign_key_check') as unknown[];
    return { ok: integrity.length === 1 && integrity[0] === 'ok' && foreignKeys.length === 0, integrity, foreignKeys };
  }

  summary(): ProjectSummary {
    const count = (sql: string): number => (this.db.prepare(sql).pluck().get() as number) ?? 0;
    return {
      dir: this.dir,
      schemaVersion: this.schemaVersion,
      items: count('SELECT count(*) FROM items'),
      labels: count('SELECT count(*) FROM labels'),
      masks: count('SELECT count(*) FROM masks'),
      classes: this.db.prepare('SELECT name FROM classes ORDER BY name').pluck().all() as string[],
      maskClasses: this.maskClasses(),
      canUndo: count('SELECT count(*) FROM history WHERE undone = 0') > 0,
      canRedo: count('SELECT count(*) FROM history WHERE undone = 1') > 0,
    };
  }

  // ---- items ----

  findByHash(hash: string): ProjectItem | null {
    const r = this.db.prepare(`${ITEM_SELECT} WHERE i.hash = ?`).get(hash) as ItemRow | undefined;
    return r ? toItem(r) : null;
  }

  item(id: number): ProjectItem {
    const r = this.db.prepare(`${ITEM_SELECT} WHERE i.id = ?`).get(id) as ItemRow | undefined;
    if (!r) throw new AppError('not_found', `no item with id ${id}`, 'params.itemId');
    return toItem(r);
  }

  items(offset = 0, limit = 1000): ProjectItem[] {
    return (this.db.prepare(`${ITEM_SELECT} ORDER BY i.id LIMIT ? OFFSET ?`).all(limit, offset) as ItemRow[]).map(
      toItem,
    );
  }

  /**
   * Items matching `filter` (ordered by id), a page at a time, each with its whole-item class. Model predictions
   * live outside the database (inference writes them under suggestions/): `predicted` names the items that have one.
   */
  query(
    filter: ItemFilter,
    offset = 0,
    limit = 200,
    predicted: readonly number[] = [],
  ): { total: number; items: LibraryItem[] } {
    const { where, args } = filterSql(filter, predicted);
    const total = this.db
      .prepare(`SELECT count(*) FROM items i LEFT JOIN splits s ON s.item_id = i.id ${where}`)
      .pluck()
      .get(...args) as number;
    const rows = this.db
      .prepare(
        `SELECT i.id, i.path, i.hash, i.kind, i.format, i.width, i.height, i.frames, i.slices, i.bit_depth, i.added_at,
         s.split, (SELECT c.name FROM labels l JOIN classes c ON c.id = l.class_id
                   WHERE l.item_id = i.id AND l.frame_start = ${WHOLE}) AS class_name
         FROM items i LEFT JOIN splits s ON s.item_id = i.id ${where} ORDER BY i.id LIMIT ? OFFSET ?`,
      )
      .all(...args, limit, offset) as (ItemRow & { class_name: string | null })[];
    return { total, items: rows.map((r) => ({ ...toItem(r), className: r.class_name })) };
  }

  /** Ids of every item matching `filter`, ordered by id. */
  queryIds(filter: ItemFilter, predicted: readonly number[] = []): number[] {
    const { where, args } = filterSql(filter, predicted);
    return this.db
      .prepare(`SELECT i.id FROM items i LEFT JOIN splits s ON s.item_id = i.id ${where} ORDER BY i.id`)
      .pluck()
      .all(...args) as number[];
  }

  itemInfo(id: number): MediaInfo {
    const json = this.db.prepare('SELECT info_json FROM items WHERE id = ?').pluck().get(id) as string | undefined;
    if (json === undefined) throw new AppError('not_found', `no item with id ${id}`, 'params.itemId');
    return JSON.parse(json) as MediaInfo;
  }

  /** Adds an item with its import label and split in one transaction; an existing hash returns the existing item. */
  addItem(
    item: NewItem,
    extra: { className?: string | null; split?: Split | null } = {},
  ): { item: ProjectItem; added: boolean } {
    return this.db
      .transaction(() => {
        const existing = this.findByHash(item.hash);
        if (existing) return { item: existing, added: false };
        const i = item.info;
        const id = Number(
          this.db
            .prepare(
              `INSERT INTO items (path, hash, kind, format, width, height, frames, slices, bit_depth, info_json, added_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              item.path,
              item.hash,
              i.kind,
              i.format,
              i.width,
              i.height,
              i.frames,
              i.slices,
              i.bitDepth,
              JSON.stringify(i),
              Date.now(),
            ).lastInsertRowid,
        );
        if (extra.className) this.writeLabel(id, WHOLE, WHOLE, extra.className);
        if (extra.split) this.db.prepare('INSERT INTO splits (item_id, split) VALUES (?, ?)').run(id, extra.split);
        return { item: this.item(id), added: true };
      })
      .immediate();
  }

  setSplit(itemId: number, split: Split | null): void {
    this.db
      .transaction(() => {
        this.item(itemId);
        this.db.prepare('DELETE FROM splits WHERE item_id = ?').run(itemId);
        if (split) this.db.prepare('INSERT INTO splits (item_id, split) VALUES (?, ?)').run(itemId, split);
      })
      .immediate();
  }

  // ---- labels ----

  labelsOf(itemId: number): Label[] {
    return this.labelRows('WHERE l.item_id = ?', itemId);
  }

  allLabels(): (Label & { path: string })[] {
    return this.db
      .prepare(
        `SELECT l.item_id AS itemId, c.name AS className, l.frame_start AS fs, l.frame_end AS fe, i.path AS path
         FROM labels l JOIN classes c ON c.id = l.class_id JOIN items i ON i.id = l.item_id ORDER BY l.item_id, l.frame_start`,
      )
      .all()
      .map((row) => {
        const r = row as { itemId: number; className: string; fs: number; fe: number; path: string };
        return { itemId: r.itemId, className: r.className, path: r.path, ...frames(r.fs, r.fe) };
      });
  }

  private labelRows(where: string, ...args: unknown[]): Label[] {
    return this.db
      .prepare(
        `SELECT l.item_id AS itemId, c.name AS className, l.frame_start AS fs, l.frame_end AS fe
         FROM labels l JOIN classes c ON c.id = l.class_id ${where} ORDER BY l.frame_start`,
      )
      .all(...args)
      .map((row) => {
        const r = row as { itemId: number; className: string; fs: number; fe: number };
        return { itemId: r.itemId, className: r.className, ...frames(r.fs, r.fe) };
      });
  }

  /** Sets (or with className null, removes) labels; one undoable history entry for the whole batch. */
  setLabels(edits: LabelEdit[], action = 'label'): void {
    this.db
      .transaction(() => {
        const before: RowState[] = [];
        const after: RowState[] = [];
        for (const e of edits) {
          const item = this.item(e.itemId);
          const [fs, fe] = frameKey(e, item);
          before.push(this.labelState(e.itemId, fs, fe));
          const state: RowState = { t: 'label', itemId: e.itemId, fs, fe, cls: e.className };
          this.apply(state);
          after.push(state);
        }
        this.record(action, before, after);
      })
      .immediate();
  }

  setLabel(
    itemId: number,
    className: string | null,
    frameStart: number | null = null,
    frameEnd: number | null = null,
  ): void {
    this.setLabels([{ itemId, className, frameStart, frameEnd }]);
  }

  // ---- classes and their mask values ----

  /** Classes that hold a mask value, by value: what each value painted in a mask means. */
  maskClasses(): MaskClass[] {
    return this.db
      .prepare('SELECT m.value, c.name FROM mask_values m JOIN classes c ON c.id = m.class_id ORDER BY m.value')
      .all() as MaskClass[];
  }

  /** Every reserved mask value (named or retired) with its class name, null for a retired or unnamed value. */
  maskValueNames(): Map<number, string | null> {
    const rows = this.db
      .prepare('SELECT m.value, c.name FROM mask_values m LEFT JOIN classes c ON c.id = m.class_id ORDER BY m.value')
      .all() as { value: number; name: string | null }[];
    return new Map(rows.map((r) => [r.value, r.name]));
  }

  /** The mask value of a class; null when it has none (a project past 255 values) or no such class. */
  maskValueOf(name: string): number | null {
    return (
      (this.db
        .prepare('SELECT m.value FROM mask_values m JOIN classes c ON c.id = m.class_id WHERE c.name = ?')
        .pluck()
        .get(name) as number | undefined) ?? null
    );
  }

  /** Creates a class (with its mask value) without labelling anything; an existing class is left as it is. */
  addClass(name: string): void {
    this.db.transaction(() => this.classId(name)).immediate();
  }

  /** Renames a class; its labels and its mask value (so every painted mask) follow. One undoable edit. */
  renameClass(from: string, to: string): void {
    this.db
      .transaction(() => {
        const before = this.classState(from);
        if (to.length === 0 || to.length > 256)
          throw new AppError('bad_request', 'a class name must be 1 to 256 characters', 'params.to');
        if (to === from) return;
        if (this.db.prepare('SELECT 1 FROM classes WHERE name = ?').get(to))
          throw new AppError('conflict', `a class named '${to}' already exists`, 'params.to');
        const after: RowState = { ...before, name: to };
        this.apply(after);
        this.record('rename-class', [before], [after]);
      })
      .immediate();
  }

  /**
   * Deletes a class that nothing uses. Refused while labels use it or a mask holds its value (those would lose their
   * meaning); its mask value is retired, never given to another class. One undoable edit.
   */
  deleteClass(name: string): void {
    this.db
      .transaction(() => {
        const before = this.classState(name);
        const labels = this.db
          .prepare('SELECT count(*) FROM labels WHERE class_id = ?')
          .pluck()
          .get(before.id) as number;
        if (labels > 0)
          throw new AppError(
            'conflict',
            `class '${name}' is still used by ${labels} label${labels === 1 ? '' : 's'}: relabel or remove them first`,
            'params.name',
          );
        if (before.t === 'class' && before.value !== null) {
          const painted = this.masksHolding(before.value);
          if (painted > 0)
            throw new AppError(
              'conflict',
              `class '${name}' (mask value ${before.value}) is painted in ${painted} mask${painted === 1 ? '' : 's'}: erase it there first`,
              'params.name',
            );
        }
        const after: RowState = { ...before, name: null };
        this.apply(after);
        this.record('delete-class', [before], [after]);
      })
      .immediate();
  }

  /** How many stored masks hold `value` somewhere. */
  private masksHolding(value: number): number {
    let n = 0;
    for (const blob of this.db.prepare('SELECT data FROM masks').pluck().iterate() as Iterable<Buffer>) {
      if (inflateSync(blob).includes(value)) n += 1;
    }
    return n;
  }

  private classState(name: string): RowState & { t: 'class' } {
    const id = this.db.prepare('SELECT id FROM classes WHERE name = ?').pluck().get(name) as number | undefined;
    if (id === undefined) throw new AppError('not_found', `no class named '${name}'`, 'params.name');
    const value = this.db.prepare('SELECT value FROM mask_values WHERE class_id = ?').pluck().get(id) as
      number | undefined;
    return { t: 'class', id, name, value: value ?? null };
  }

  // ---- masks ----

  /** Stores a class-index mask (uint8, width × height) for an image or a volume slice; null removes it. Undoable. */
  setMask(
    itemId: number,
    axis: number,
    slice: number,
    mask: { width: number; height: number; data: Uint8Array } | null,
  ): void {
    if (mask && mask.data.length !== mask.width * mask.height) {
      throw new AppError('bad_request', `mask has ${mask.data.length} bytes, expected ${mask.width}×${mask.height}`);
    }
    this.db
      .transaction(() => {
        this.item(itemId);
        if (mask) this.reserveMaskValues(mask.data);
        const before = this.maskState(itemId, axis, slice);
        const after: RowState = {
          t: 'mask',
          itemId,
          axis,
          slice,
          w: mask?.width ?? 0,
          h: mask?.height ?? 0,
          data: mask ? deflateSync(mask.data).toString('base64') : null,
        };
        this.apply(after);
        this.record('mask', [before], [after]);
      })
      .immediate();
  }

  /**
   * A mask value no class holds yet (painted through the API, or by an older app) is reserved unnamed, so a class
   * created later never takes it over; the loader and exports call it "class <value>".
   */
  private reserveMaskValues(data: Uint8Array): void {
    const seen = new Uint8Array(256);
    for (const v of data) seen[v] = 1;
    const insert = this.db.prepare('INSERT OR IGNORE INTO mask_values (value, class_id) VALUES (?, NULL)');
    for (let v = 1; v < 256; v++) if (seen[v]) insert.run(v);
  }

  mask(itemId: number, axis: number, slice: number): { width: number; height: number; data: Uint8Array } | null {
    const r = this.db
      .prepare('SELECT width, height, data FROM masks WHERE item_id = ? AND axis = ? AND slice = ?')
      .get(itemId, axis, slice) as { width: number; height: number; data: Buffer } | undefined;
    return r ? { width: r.width, height: r.height, data: new Uint8Array(inflateSync(r.data)) } : null;
  }

  masks(itemId?: number): MaskInfo[] {
    const sql = `SELECT item_id AS itemId, axis, slice, width, height FROM masks ${itemId === undefined ? '' : 'WHERE item_id = ?'}
      ORDER BY item_id, axis, slice`;
    const stmt = this.db.prepare(sql);
    return (itemId === undefined ? stmt.all() : stmt.all(itemId)) as MaskInfo[];
  }

  // ---- review state per image or volume slice (kept in meta under review:<item>:<axis>:<slice>) ----

  /** Marks an image (axis 2, slice 0) or volume slice accepted or needing work; null clears it. Undoable. */
  setReview(itemId: number, axis: number, slice: number, state: ReviewState | null): void {
    this.db
      .transaction(() => {
        this.item(itemId);
        const before = this.reviewState(itemId, axis, slice);
        const after: RowState = { t: 'review', itemId, axis, slice, state };
        this.apply(after);
        this.record('review', [before], [after]);
      })
      .immediate();
  }

  reviews(itemId: number): SliceReview[] {
    const rows = this.db
      .prepare("SELECT key, value FROM meta WHERE key LIKE ? ESCAPE '\\'")
      .all(`review:${itemId}:%`) as { key: string; value: ReviewState }[];
    return rows
      .map((r) => {
        const [, , axis, slice] = r.key.split(':');
        return { itemId, axis: Number(axis), slice: Number(slice), state: r.value };
      })
      .sort((a, b) => a.axis - b.axis || a.slice - b.slice);
  }

  private reviewState(itemId: number, axis: number, slice: number): RowState {
    const v = this.db
      .prepare('SELECT value FROM meta WHERE key = ?')
      .pluck()
      .get(reviewKey(itemId, axis, slice)) as ReviewState | undefined;
    return { t: 'review', itemId, axis, slice, state: v ?? null };
  }

  // ---- models, runs, metrics ----

  addModel(name: string, card: unknown): number {
    return Number(
      this.db
        .prepare('INSERT INTO models (name, card_json, added_at) VALUES (?, ?, ?)')
        .run(name, JSON.stringify(card), Date.now()).lastInsertRowid,
    );
  }

  startRun(modelId: number, params: unknown): number {
    return Number(
      this.db
        .prepare("INSERT INTO runs (model_id, status, params_json, started_at) VALUES (?, 'running', ?, ?)")
        .run(modelId, JSON.stringify(params), Date.now()).lastInsertRowid,
    );
  }

  logMetrics(runId: number, step: number, values: Record<string, number>): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const [name, value] of Object.entries(values)) stmt.run(runId, step, name, value);
    })();
  }

  finishRun(runId: number, status: 'done' | 'failed' | 'cancelled'): void {
    this.db.prepare('UPDATE runs SET status = ?, finished_at = ? WHERE id = ?').run(status, Date.now(), runId);
  }

  metrics(runId: number): { step: number; name: string; value: number }[] {
    return this.db.prepare('SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step, name').all(runId) as {
      step: number;
      name: string;
      value: number;
    }[];
  }

  // ---- undo / redo ----

  undo(): boolean {
    return this.db
      .transaction(() => {
        const h = this.db
          .prepare('SELECT id, before_json FROM history WHERE undone = 0 ORDER BY id DESC LIMIT 1')
          .get() as { id: number; before_json: string } | undefined;
        if (!h) return false;
        for (const s of (JSON.parse(h.before_json) as RowState[]).reverse()) this.apply(s);
        this.db.prepare('UPDATE history SET undone = 1 WHERE id = ?').run(h.id);
        return true;
      })
      .immediate();
  }

  redo(): boolean {
    return this.db
      .transaction(() => {
        const h = this.db
          .prepare('SELECT id, after_json FROM history WHERE undone = 1 ORDER BY id ASC LIMIT 1')
          .get() as { id: number; after_json: string } | undefined;
        if (!h) return false;
        for (const s of JSON.parse(h.after_json) as RowState[]) this.apply(s);
        this.db.prepare('UPDATE history SET undone = 0 WHERE id = ?').run(h.id);
        return true;
      })
      .immediate();
  }

  private record(action: string, before: RowState[], after: RowState[]): void {
    // A new edit drops the redo stack.
    this.db.prepare('DELETE FROM history WHERE undone = 1').run();
    this.db
      .prepare('INSERT INTO history (action, before_json, after_json, at) VALUES (?, ?, ?, ?)')
      .run(action, JSON.stringify(before), JSON.stringify(after), Date.now());
  }

  private classId(name: string): number {
    if (name.length === 0 || name.length > 256)
      throw new AppError('bad_request', 'a class name must be 1 to 256 characters');
    const created = this.db.prepare('INSERT OR IGNORE INTO classes (name) VALUES (?)').run(name).changes > 0;
    const id = this.db.prepare('SELECT id FROM classes WHERE name = ?').pluck().get(name) as number;
    if (created) {
      // A new class gets the next mask value at once (stable from then on); none once all 255 have been given.
      const next =
        (this.db.prepare('SELECT coalesce(max(value), 0) + 1 FROM mask_values').pluck().get() as number) ?? 1;
      if (next <= MAX_MASK_VALUE)
        this.db.prepare('INSERT INTO mask_values (value, class_id) VALUES (?, ?)').run(next, id);
    }
    return id;
  }

  private writeLabel(itemId: number, fs: number, fe: number, cls: string | null): void {
    this.db.prepare('DELETE FROM labels WHERE item_id = ? AND frame_start = ? AND frame_end = ?').run(itemId, fs, fe);
    if (cls !== null) {
      this.db
        .prepare('INSERT INTO labels (item_id, frame_start, frame_end, class_id) VALUES (?, ?, ?, ?)')
        .run(itemId, fs, fe, this.classId(cls));
    }
  }

  private labelState(itemId: number, fs: number, fe: number): RowState {
    const cls = this.db
      .prepare(
        `SELECT c.name FROM labels l JOIN classes c ON c.id = l.class_id
         WHERE l.item_id = ? AND l.frame_start = ? AND l.frame_end = ?`,
      )
      .pluck()
      .get(itemId, fs, fe) as string | undefined;
    return { t: 'label', itemId, fs, fe, cls: cls ?? null };
  }

  private maskState(itemId: number, axis: number, slice: number): RowState {
    const r = this.db
      .prepare('SELECT width, height, data FROM masks WHERE item_id = ? AND axis = ? AND slice = ?')
      .get(itemId, axis, slice) as { width: number; height: number; data: Buffer } | undefined;
    return {
      t: 'mask',
      itemId,
      axis,
      slice,
      w: r?.width ?? 0,
      h: r?.height ?? 0,
      data: r ? r.data.toString('base64') : null,
    };
  }

  private apply(s: RowState): void {
    if (s.t === 'label') {
      this.writeLabel(s.itemId, s.fs, s.fe, s.cls);
      return;
    }
    if (s.t === 'class') {
      if (s.name === null) {
        // mask_values.class_id becomes NULL (ON DELETE SET NULL): the value is retired, not freed.
        this.db.prepare('DELETE FROM classes WHERE id = ?').run(s.id);
        return;
      }
      if (this.db.prepare('SELECT 1 FROM classes WHERE id = ?').get(s.id))
        this.db.prepare('UPDATE classes SET name = ? WHERE id = ?').run(s.name, s.id);
      else this.db.prepare('INSERT INTO classes (id, name) VALUES (?, ?)').run(s.id, s.name);
      if (s.value !== null) this.db.prepare('UPDATE mask_values SET class_id = ? WHERE value = ?').run(s.id, s.value);
      return;
    }
    if (s.t === 'review') {
      const key = reviewKey(s.itemId, s.axis, s.slice);
      this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
      if (s.state !== null) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, s.state);
      return;
    }
    this.db.prepare('DELETE FROM masks WHERE item_id = ? AND axis = ? AND slice = ?').run(s.itemId, s.axis, s.slice);
    if (s.data !== null) {
      this.db
        .prepare('INSERT INTO masks (item_id, axis, slice, width, height, data) VALUES (?, ?, ?, ?, ?, ?)')
        .run(s.itemId, s.axis, s.slice, s.w, s.h, Buffer.from(s.data, 'base64'));
    }
  }
}

function reviewKey(itemId: number, axis: number, slice: number): string {
  return `review:${itemId}:${axis}:${slice}`;
}

/** WHERE clause (over items i LEFT JOIN splits s) and its arguments for a library filter. */
function filterSql(f: ItemFilter, predicted: readonly number[]): { where: string; args: unknown[] } {
  const conds: string[] = [];
  const args: unknown[] = [];
  const labelled =
    '(EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id) OR EXISTS (SELECT 1 FROM masks m WHERE m.item_id = i.id))';
  if (f.status === 'labeled') conds.push(labelled);
  else if (f.status === 'unlabeled') conds.push(`NOT ${labelled}`);
  else if (f.status === 'predicted') {
    conds.push('i.id IN (SELECT value FROM json_each(?))');
    args.push(JSON.stringify(predicted));
  }
  if (f.className !== null) {
    conds.push(
      'EXISTS (SELECT 1 FROM labels l JOIN classes c ON c.id = l.class_id WHERE l.item_id = i.id AND c.name = ?)',
    );
    args.push(f.className);
  }
  if (f.split === 'none') conds.push('s.split IS NULL');
  else if (f.split !== null) {
    conds.push('s.split = ?');
    args.push(f.split);
  }
  if (f.kind === 'volume') conds.push("i.kind IN ('dicom', 'nifti')");
  else if (f.kind !== 'all') {
    conds.push('i.kind = ?');
    args.push(f.kind);
  }
  const q = f.search.trim().toLowerCase();
  if (q !== '') {
    conds.push("lower(i.path) LIKE ? ESCAPE '\\'");
    args.push(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  return { where: conds.length === 0 ? '' : `WHERE ${conds.join(' AND ')}`, args };
}

function frames(fs: number, fe: number): { frameStart: number | null; frameEnd: number | null } {
  return fs === WHOLE ? { frameStart: null, frameEnd: null } : { frameStart: fs, frameEnd: fe };
}

function frameKey(e: LabelEdit, item: ProjectItem): [number, number] {
  if (e.frameStart === null && e.frameEnd === null) return [WHOLE, WHOLE];
  const fs = e.frameStart ?? 0;
  const fe = e.frameEnd ?? item.frames - 1;
  if (!Number.isInteger(fs) || !Number.isInteger(fe) || fs < 0 || fe < fs || fe >= item.frames) {
    throw new AppError(
      'bad_request',
      `frame range ${fs}–${fe} is outside the item's ${item.frames} frames`,
      'params.frameStart',
    );
  }
  return [fs, fe];
}
