// Exports: labels CSV/JSON, ImageFolder, masks as PNG and NIfTI (matching the source geometry), COCO RLE; all atomic.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readNifti, readNiftiHeader } from '../../main/media/nifti.js';
import { parseCsv } from '../../main/project/csv.js';
import { exportProject } from '../../main/project/export.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';
import { nibabel, tempDir } from '../media/helpers.js';
import { makeMixedFolder } from './fixtures.js';

const { dir, cleanup } = tempDir('ssm-export-');
afterAll(cleanup);
let store: ProjectStore;
/** The stored mask values of the three mask classes (given when each class is created). */
let cat = 0,
  dog = 0,
  tumour = 0;
const out = (name: string): string => path.join(dir, 'out', name);

beforeAll(async () => {
  const fx = await makeMixedFolder(path.join(dir, 'src'));
  store = ProjectStore.open(path.join(dir, 'project'));
  await importPaths(store, [fx.good], { signal: new AbortController().signal, progress: () => undefined });
  const byName = new Map(store.items().map((i) => [path.basename(i.path), i]));
  const clip = byName.get('clip.mp4')!;
  store.setLabel(clip.id, 'intro', 0, 4);
  for (const c of ['cat', 'dog', 'tumour']) store.addClass(c);
  [cat, dog, tumour] = ['cat', 'dog', 'tumour'].map((c) => store.maskValueOf(c)!) as [number, number, number];
  // Image mask: cat in a 4×3 block, dog in one pixel.
  const c1 = byName.get('c1.png')!;
  const m = new Uint8Array(16 * 12);
  for (let y = 2; y < 5; y += 1) for (let x = 3; x < 7; x += 1) m[y * 16 + x] = cat;
  m[10 * 16 + 15] = dog;
  store.setMask(c1.id, 2, 0, { width: 16, height: 12, data: m });
  // NIfTI mask on axial slice 7 and DICOM mask on slice 1.
  const nii = byName.get('anatomical.nii')!;
  store.setMask(nii.id, 2, 7, {
    width: 33,
    height: 41,
    data: new Uint8Array(33 * 41).fill(0).map((_, i) => (i === 5 * 33 + 4 ? tumour : 0)),
  });
  const dcm = byName.get('series')!;
  store.setMask(dcm.id, 2, 1, { width: 5, height: 4, data: new Uint8Array(20).fill(cat) });
});
afterAll(() => store.close());

describe('export', () => {
  it('labels as CSV (whole items and frame ranges)', async () => {
    await exportProject(store, 'labels-csv', out('labels.csv'));
    const rows = parseCsv(readFileSync(out('labels.csv'), 'utf8'));
    expect(rows[0]).toEqual(['path', 'label', 'frame_start', 'frame_end', 'split']);
    expect(rows.find((r) => r[0]?.endsWith('c1.png'))?.slice(1)).toEqual(['cat', '', '', 'train']);
    expect(rows.find((r) => r[0]?.endsWith('clip.mp4') && r[2] === '0')?.slice(1, 4)).toEqual(['intro', '0', '4']);
    expect(rows.find((r) => r[0]?.endsWith('anatomical.nii'))?.[1]).toBe('brain, T1');
  });

  it('labels as JSON', async () => {
    await exportProject(store, 'labels-json', out('labels.json'));
    const j = JSON.parse(readFileSync(out('labels.json'), 'utf8')) as {
      classes: string[];
      maskClasses: { value: number; name: string }[];
      items: { path: string; labels: unknown[] }[];
    };
    expect(j.classes).toContain('intro');
    expect(j.maskClasses).toContainEqual({ value: tumour, name: 'tumour' });
    expect(j.items.find((i) => i.path.endsWith('clip.mp4'))?.labels).toEqual([
      { class: 'testcard', frameStart: null, frameEnd: null },
      { class: 'intro', frameStart: 0, frameEnd: 4 },
    ]);
  });

  it('ImageFolder layout (images with a whole-item label)', async () => {
    const r = await exportProject(store, 'imagefolder', out('imagefolder'));
    expect(readdirSync(out('imagefolder')).sort()).toEqual(['cat', 'dog']);
    expect(readdirSync(path.join(out('imagefolder'), 'cat')).sort()).toEqual([
      'c1.png',
      'c2.png',
      'c3.webp',
      'dup-of-nothing.png',
    ]);
    expect(r.files).toBe(5);
    // Exporting again replaces the folder in one step, and leaves no temporary folder behind.
    await exportProject(store, 'imagefolder', out('imagefolder'));
    expect(readdirSync(path.join(dir, 'out')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('masks as PNG (lossless class indices)', async () => {
    await exportProject(store, 'masks-png', out('masks'));
    const files = readdirSync(out('masks')).sort();
    expect(files).toHaveLength(4);
    // The sidecar names every stored mask value.
    const sidecar = JSON.parse(readFileSync(path.join(out('masks'), 'labels.json'), 'utf8')) as {
      labels: Record<string, number>;
    };
    expect(sidecar.labels).toMatchObject({ background: 0, cat, dog, tumour });
    expect(new Set(Object.values(sidecar.labels)).size).toBe(Object.keys(sidecar.labels).length);
    const png = files.find((f) => f.includes('c1.png'))!;
    const meta = await sharp(path.join(out('masks'), png)).metadata();
    expect([meta.width, meta.height, meta.channels, meta.depth]).toEqual([16, 12, 1, 'uchar']);
    const { data } = await sharp(path.join(out('masks'), png))
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([data[3 * 16 + 4], data[10 * 16 + 15], data[0]]).toEqual([cat, dog, 0]);
  });

  it('masks as NIfTI with the source geometry (NIfTI and DICOM sources)', async () => {
    await exportProject(store, 'masks-nifti', out('nifti'));
    const files = readdirSync(out('nifti'));
    expect(files).toContain('labels.json');
    const sidecar = JSON.parse(readFileSync(path.join(out('nifti'), 'labels.json'), 'utf8')) as {
      labels: Record<string, number>;
    };
    expect(sidecar.labels['tumour']).toBe(tumour);
    const niiMask = path.join(
      out('nifti'),
      files.find((f) => f.includes('anatomical'))!,
    );
    const src = await readNiftiHeader(nibabel('anatomical.nii'));
    const { header, volume } = await readNifti(niiMask);
    expect(header.dims).toEqual(src.dims);
    expect(header.affine).toEqual(src.affine);
    // Spatial geometry identical (the mask is 3-D: time pixdim and time units are not carried over).
    const spatial = (g: typeof src.geometry): unknown => ({
      ...g,
      pixdim: g.pixdim.slice(0, 4),
      xyztUnits: g.xyztUnits & 7,
    });
    expect(spatial(header.geometry)).toEqual(spatial(src.geometry));
    expect(header.spacing).toEqual(src.spacing);
    expect([header.qformCode, header.sformCode]).toEqual([src.qformCode, src.sformCode]);
    expect(volume.data[(7 * 41 + 5) * 33 + 4]).toBe(tumour);
    const dcmMask = await readNifti(
      path.join(
        out('nifti'),
        files.find((f) => f.includes('series'))!,
      ),
    );
    expect(dcmMask.header.dims).toEqual([5, 4, 3]);
    expect(dcmMask.header.spacing[2]).toBeCloseTo(3, 5);
    expect(dcmMask.header.affine[2]![2]).toBeCloseTo(3, 5);
    expect([dcmMask.volume.data[0], dcmMask.volume.data[20], dcmMask.volume.data[40]]).toEqual([0, cat, 0]);
  });

  it('COCO JSON with RLE segmentations, areas and boxes', async () => {
    await exportProject(store, 'coco', out('coco.json'));
    const coco = JSON.parse(readFileSync(out('coco.json'), 'utf8')) as {
      images: { id: number; file_name: string; width: number; height: number }[];
      annotations: {
        image_id: number;
        category_id: number;
        area: number;
        bbox: number[];
        segmentation: { counts: number[]; size: number[] };
      }[];
      categories: { id: number; name: string }[];
    };
    const img = coco.images.find((i) => i.file_name.endsWith('c1.png'))!;
    const anns = coco.annotations.filter((a) => a.image_id === img.id);
    const a1 = anns.find((a) => a.category_id === cat)!;
    expect([a1.area, a1.bbox]).toEqual([12, [3, 2, 4, 3]]);
    expect(a1.segmentation.size).toEqual([12, 16]);
    expect(a1.segmentation.counts.reduce((s, c) => s + c, 0)).toBe(16 * 12);
    expect(anns.find((a) => a.category_id === dog)?.bbox).toEqual([15, 10, 1, 1]);
    expect(coco.categories).toEqual([
      { id: cat, name: 'cat' },
      { id: dog, name: 'dog' },
      { id: tumour, name: 'tumour' },
    ]);
  });

  it('a failing export leaves no partial output', async () => {
    const target = out('broken-imagefolder');
    const item = store.items().find((i) => i.path.endsWith('c2.png'))!;
    const { renameSync } = await import('node:fs');
    renameSync(item.path, `${item.path}.moved`);
    try {
      await expect(exportProject(store, 'imagefolder', target)).rejects.toThrow(/ENOENT/);
      expect(existsSync(target)).toBe(false);
      expect(readdirSync(path.join(dir, 'out')).filter((f) => f.includes('.tmp-'))).toEqual([]);
    } finally {
      renameSync(`${item.path}.moved`, item.path);
    }
  });
});
