// Stable mask values: each class holds a mask value 1..255 from its creation, kept on rename, retired (never reused)
// on deletion; deletion is refused while labels or masks use the class; an old (version 1) project file migrates with
// every mask keeping its meaning; the segmentation loader names its classes from the stored values.
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import type { MediaInfo } from '../../contract/media.js';
import { loadProjectData } from '../../main/models/project-data.js';
import { SCHEMA_VERSION } from '../../main/project/schema.js';
import { DB_FILE, ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';
import { mediaInfo } from './media-info.js';

const { dir, cleanup } = tempDir('ssm-mask-classes-');
afterAll(cleanup);

function info(width = 4, height = 3): MediaInfo {
  return mediaInfo({ width, height });
}

describe('mask values of classes', () => {
  it('are given at creation, follow a rename, and are never reused', () => {
    const s = ProjectStore.open(path.join(dir, 'values'));
    s.addClass('tumour');
    s.addClass('oedema');
    const { item } = s.addItem({ path: '/a.png', hash: 'a', info: info() }, { className: 'tumour' });
    expect(s.summary().maskClasses).toEqual([
      { value: 1, name: 'tumour' },
      { value: 2, name: 'oedema' },
    ]);
    // A class that sorts first changes the list order (number keys) but no value.
    s.addClass('artefact');
    expect(s.summary().classes).toEqual(['artefact', 'oedema', 'tumour']);
    expect(s.maskValueOf('artefact')).toBe(3);
    expect(s.maskValueOf('tumour')).toBe(1);
    const mask = new Uint8Array([1, 1, 0, 2, 0, 0, 3, 0, 0, 0, 0, 1]);
    s.setMask(item.id, 2, 0, { width: 4, height: 3, data: mask });

    // Rename: the label and the value follow; the mask bytes are untouched. Undoable.
    s.renameClass('tumour', 'glioma');
    expect(s.maskValueOf('glioma')).toBe(1);
    expect(s.maskValueOf('tumour')).toBeNull();
    expect(s.labelsOf(item.id)[0]?.className).toBe('glioma');
    expect(s.mask(item.id, 2, 0)?.data).toEqual(mask);
    expect(() => s.renameClass('glioma', 'oedema')).toThrow(/already exists/);
    expect(() => s.renameClass('nope', 'x')).toThrow(/no class named 'nope'/);
    s.undo();
    expect(s.summary().maskClasses[0]).toEqual({ value: 1, name: 'tumour' });
    s.redo();
    expect(s.summary().maskClasses[0]).toEqual({ value: 1, name: 'glioma' });

    // Delete: refused while a label or a mask uses the class, with what uses it.
    expect(() => s.deleteClass('glioma')).toThrow(/still used by 1 label/);
    expect(() => s.deleteClass('oedema')).toThrow(/mask value 2\) is painted in 1 mask/);
    // Unused: deleted, its value retired; the next class gets a new value, not 3.
    s.setMask(item.id, 2, 0, { width: 4, height: 3, data: mask.map((v) => (v === 3 ? 0 : v)) });
    s.deleteClass('artefact');
    expect(s.summary().classes).toEqual(['glioma', 'oedema']);
    expect(s.maskValueNames().get(3)).toBeNull();
    // Undo brings the class back with its value; redo deletes it again.
    s.undo();
    expect(s.maskValueOf('artefact')).toBe(3);
    s.redo();
    expect(s.maskValueOf('artefact')).toBeNull();
    s.addClass('necrosis');
    expect(s.maskValueOf('necrosis')).toBe(4);
    expect(s.integrity().ok).toBe(true);
    s.close();
  });

  it('a value painted with no class is reserved unnamed, and a new class takes the next one', () => {
    const s = ProjectStore.open(path.join(dir, 'unnamed'));
    const { item } = s.addItem({ path: '/b.png', hash: 'b', info: info() });
    s.setMask(item.id, 2, 0, { width: 4, height: 3, data: new Uint8Array(12).fill(2) });
    expect(s.maskValueNames()).toEqual(new Map([[2, null]]));
    s.addClass('cat');
    expect(s.maskValueOf('cat')).toBe(3);
    s.close();
  });

  it('migrates a version-1 project: each mask value keeps the class it meant (the n-th class by name)', () => {
    const folder = path.join(dir, 'old');
    // A version-1 file: the current schema without what version 2 added, its rows written the way version 1 did.
    const s1 = ProjectStore.open(folder);
    const { item } = s1.addItem({ path: '/c.png', hash: 'c', info: info() });
    s1.close();
    const raw = new Database(path.join(folder, DB_FILE));
    raw.exec('DROP TABLE mask_values');
    raw.pragma('user_version = 1');
    // Classes created in the order dog, zebra, cat: by name cat = 1, dog = 2, zebra = 3 (what version 1 painted).
    for (const name of ['dog', 'zebra', 'cat']) raw.prepare('INSERT INTO classes (name) VALUES (?)').run(name);
    const mask = new Uint8Array([1, 2, 3, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
    raw
      .prepare('INSERT INTO masks (item_id, axis, slice, width, height, data) VALUES (?, 2, 0, 4, 3, ?)')
      .run(item.id, deflateSync(mask));
    raw.close();

    const s = ProjectStore.open(folder);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    expect(s.summary().maskClasses).toEqual([
      { value: 1, name: 'cat' },
      { value: 2, name: 'dog' },
      { value: 3, name: 'zebra' },
    ]);
    // Value 5 (past the last class) stays reserved, unnamed; nothing was lost.
    expect(s.maskValueNames().get(5)).toBeNull();
    expect(s.mask(item.id, 2, 0)?.data).toEqual(mask);
    expect(s.summary().classes).toEqual(['cat', 'dog', 'zebra']);
    s.addClass('ant');
    expect(s.maskValueOf('ant')).toBe(6);
    expect(s.integrity().ok).toBe(true);
    s.close();
  });

  it('the segmentation loader names classes from the stored values, in value order', async () => {
    const folder = path.join(dir, 'loader');
    const png = path.join(dir, 'grey.png');
    await sharp({ create: { width: 4, height: 3, channels: 3, background: '#777' } })
      .png()
      .toFile(png);
    const s = ProjectStore.open(folder);
    for (const name of ['zebra', 'ant', 'mole']) s.addClass(name); // values 1, 2, 3
    const { item } = s.addItem({ path: png, hash: 'g', info: info() }, { split: 'train' });
    // Painted: mole (3) and zebra (1); ant unused. A value with no class (7) is "class 7".
    const mask = new Uint8Array([3, 3, 1, 0, 0, 7, 0, 0, 0, 0, 0, 1]);
    s.setMask(item.id, 2, 0, { width: 4, height: 3, data: mask });
    const data = await loadProjectData(s, 'segment');
    expect(data.classes).toEqual(['zebra', 'mole', 'class 7']);
    const sample = [...data.train, ...data.val][0]!;
    const t = sample.target as Float32Array; // (K, H, W)
    const per = 12;
    const channel = (c: number): number[] => [...t.subarray(c * per, (c + 1) * per)];
    expect(channel(0)).toEqual([...mask].map((v) => (v === 1 ? 1 : 0)));
    expect(channel(1)).toEqual([...mask].map((v) => (v === 3 ? 1 : 0)));
    expect(channel(2)).toEqual([...mask].map((v) => (v === 7 ? 1 : 0)));
    // Renamed later: the next training names it anew, channels unchanged.
    s.renameClass('mole', 'vole');
    expect((await loadProjectData(s, 'segment')).classes).toEqual(['zebra', 'vole', 'class 7']);
    // Fine-tuning keeps the parent's classes and order, each found by name.
    const tuned = await loadProjectData(s, 'segment', { classes: ['vole', 'zebra'] });
    const tt = [...tuned.train, ...tuned.val][0]!.target as Float32Array;
    expect([...tt.subarray(0, per)]).toEqual([...mask].map((v) => (v === 3 ? 1 : 0)));
    expect([...tt.subarray(per, 2 * per)]).toEqual([...mask].map((v) => (v === 1 ? 1 : 0)));
    // A one-class parent whose class the project lacks ("brain") learns every painted pixel.
    const one = await loadProjectData(s, 'segment', { classes: ['brain'] });
    expect([...([...one.train, ...one.val][0]!.target as Float32Array)]).toEqual([...mask].map((v) => (v ? 1 : 0)));
    s.close();
  });
});
