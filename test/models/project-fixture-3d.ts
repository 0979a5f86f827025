// Real projects for the 3-D training tests.
// Clips: pieces of OpenCV's vtest.avi (a street, class 'street') and tree.avi (a tree, class 'tree') cut and
// re-encoded by the bundled ffmpeg (160×120 H.264, every source frame kept), imported as an ImageFolder layout
// (media/<split>/<class>/<piece>.mp4), plus one unlabelled piece of vtest that gets a frame-range label.
// Volumes: the MNI ch2 T1 and ch2better T1 (Debian mricron-data; ch2better, the same brain on a 0.5 mm grid, is
// first sampled on ch2's 1 mm grid) area-downsampled by 4 or 5 (uint8 NIfTI, affine scaled),
// imported, with the ch2bet brain mask downsampled the same way stored as axial masks through the project store.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { ffmpegPaths } from '../../main/media/ffmpeg-path.js';
import { encodeNifti } from '../../main/media/nifti-write.js';
import { readNifti } from '../../main/media/nifti.js';
import type { Volume } from '../../main/media/volume.js';
import { resample } from '../../main/models/dataset.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';
import { CH2, CH2BET, ensurePackage, TREE, VTEST } from './data.js';

/** Options for the services with no cancellation and no progress output. */
export const quiet = { signal: new AbortController().signal, progress: (): void => undefined };

/** The fields of a run's state.json (<project>/runs/<runId>/) the 3-D tests read. */
export interface RunStateFile {
  checkpoint: string;
  history: { trainLoss: number; size: number; validation: { metrics: Record<string, number> }[] }[];
}

export async function readRunState(project: string, runId: string): Promise<RunStateFile> {
  return JSON.parse(await readFile(path.join(project, 'runs', runId, 'state.json'), 'utf8')) as RunStateFile;
}

/** Frames [from, from + count) of `src` as a 160×120 H.264 MP4 at 10 fps. */
function cut(src: string, from: number, count: number, out: string): void {
  const r = spawnSync(
    ffmpegPaths().ffmpeg,
    [
      '-v',
      'error',
      '-y',
      '-i',
      src,
      '-vf',
      `select=between(n\\,${from}\\,${from + count - 1}),setpts=N/(10*TB),scale=160:120`,
      '-r',
      '10',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-an',
      out,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg cut of ${src} failed: ${r.stderr}`);
}

export interface ClipProject {
  project: string;
  /** The unlabelled vtest piece that gets a frame-range label. */
  rangeItem: number;
  range: [number, number];
}

/** Two classes of real video clips: street (vtest) and tree (tree.avi), 32-frame pieces; see the header. */
export async function clipProject(root: string): Promise<ClipProject> {
  ensurePackage('opencv-doc', TREE);
  const media = path.join(root, 'media');
  const pieces: [string, string, string, number][] = [
    ['train', 'street', VTEST, 0],
    ['train', 'street', VTEST, 120],
    ['val', 'street', VTEST, 400],
    ['train', 'tree', TREE, 0],
    ['val', 'tree', TREE, 36],
  ];
  for (const [split, cls, src, from] of pieces) {
    const dir = path.join(media, split, cls);
    await mkdir(dir, { recursive: true });
    cut(src, from, 32, path.join(dir, `${path.basename(src, '.avi')}-${from}.mp4`));
  }
  const loose = path.join(root, 'loose', 'vtest-600.mp4');
  await mkdir(path.dirname(loose), { recursive: true });
  cut(VTEST, 600, 48, loose);
  const project = path.join(root, 'project');
  const store = ProjectStore.open(project);
  try {
    await importPaths(store, [media, loose], quiet);
    const item = store.items(0, 100).find((i) => i.path === loose);
    if (!item) throw new Error('the loose clip was not imported');
    const range: [number, number] = [8, 47];
    store.setLabel(item.id, 'street', range[0], range[1]);
    store.setSplit(item.id, 'train');
    return { project, rangeItem: item.id, range };
  } finally {
    store.close();
  }
}

export interface VolumeProject {
  project: string;
  /** Imported volumes: item id, path, grid (X, Y, Z), brain mask on that grid, masked axial slices. */
  volumes: { id: number; path: string; dims: [number, number, number]; mask: Uint8Array; masked: number[] }[];
}

/**
 * `v` sampled on `grid`'s voxels (nearest voxel through both affines, which must be axis-aligned: ch2better is the same
 * brain as ch2 on a 0.5 mm grid); `v` itself when the grids match.
 */
function onGridOf(grid: Volume, v: Volume): Volume {
  if (JSON.stringify(grid.affine) === JSON.stringify(v.affine) && grid.dims.every((d, i) => d === v.dims[i])) return v;
  const [nx, ny, nz] = grid.dims;
  const [sx, sy, sz] = v.dims;
  const axis = (a: number): ((i: number) => number) => {
    const g = grid.affine[a] as number[],
      s = v.affine[a] as number[];
    if ([0, 1, 2].some((c) => c !== a && ((g[c] as number) !== 0 || (s[c] as number) !== 0)))
      throw new Error('onGridOf: only axis-aligned affines');
    return (i) => ((g[a] as number) * i + (g[3] as number) - (s[3] as number)) / (s[a] as number);
  };
  const fx = axis(0),
    fy = axis(1),
    fz = axis(2);
  const clamp = (x: number, n: number): number => Math.min(n - 1, Math.max(0, Math.round(x)));
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    const kk = clamp(fz(k), sz);
    for (let j = 0; j < ny; j++) {
      const jj = clamp(fy(j), sy);
      for (let i = 0; i < nx; i++)
        data[(k * ny + j) * nx + i] = v.data[((kk * sy + jj) * sx + clamp(fx(i), sx)) * v.channels] as number;
    }
  }
  return { ...grid, channels: 1, data };
}

interface VolumeSpec {
  src: string;
  factor: number;
  split: 'train' | 'val';
  /** Axial slices given a mask (default: all). */
  masked?: (nz: number) => number[];
}

/**
 * Real T1 volumes with the ch2bet brain mask as axial masks: ch2 at 1/4 resolution (train, every slice masked), ch2 at
 * 1/5 (train, only slices 8-20 and 25 masked: the loader keeps the slab 8-20), ch2better at 1/4 (val, every slice).
 */
export async function volumeProject(root: string): Promise<VolumeProject> {
  ensurePackage('mricron-data', CH2);
  const media = path.join(root, 'volumes');
  await mkdir(media, { recursive: true });
  const bet = (await readNifti(CH2BET)).volume;
  const [nx, ny, nz] = bet.dims;
  const specs: VolumeSpec[] = [
    { src: CH2, factor: 4, split: 'train' },
    { src: CH2, factor: 5, split: 'train', masked: () => [...Array.from({ length: 13 }, (_, i) => 8 + i), 25] },
    { src: CH2.replace('ch2.nii.gz', 'ch2better.nii.gz'), factor: 4, split: 'val' },
  ];
  const made: {
    file: string;
    dims: [number, number, number];
    mask: Uint8Array;
    masked: number[];
    split: 'train' | 'val';
  }[] = [];
  for (const spec of specs) {
    const f = spec.factor;
    const to: [number, number, number] = [Math.round(nx / f), Math.round(ny / f), Math.round(nz / f)];
    const down = (data: Float32Array): Float32Array => resample(data, 1, [nz, ny, nx], [to[2], to[1], to[0]]);
    const mask = Uint8Array.from(down(bet.data.map((v) => (v > 0 ? 1 : 0))), (v) => (v >= 0.5 ? 1 : 0));
    const v = onGridOf(bet, (await readNifti(spec.src)).volume);
    const small = down(v.data);
    let max = 0;
    for (const x of small) max = Math.max(max, x);
    const data = Uint8Array.from(small, (x) => Math.round((255 * Math.max(0, x)) / Math.max(1e-6, max)));
    const affine = v.affine.map((row, r) =>
      r < 3
        ? [
            (row[0] as number) * f,
            (row[1] as number) * f,
            (row[2] as number) * f,
            (row[3] as number) + ((f - 1) / 2) * ((row[0] as number) + (row[1] as number) + (row[2] as number)),
          ]
        : [...row],
    );
    const file = path.join(media, path.basename(spec.src).replace('.nii.gz', `-by${f}.nii.gz`));
    const spacing = v.spacing.map((s) => s * f) as [number, number, number];
    await writeFile(file, encodeNifti({ dims: to, spacing, affine, data }, true));
    const masked = spec.masked ? spec.masked(to[2]) : Array.from({ length: to[2] }, (_, z) => z);
    made.push({ file, dims: to, mask, masked, split: spec.split });
  }
  const project = path.join(root, 'vproject');
  const store = ProjectStore.open(project);
  try {
    await importPaths(
      store,
      made.map((m) => m.file),
      quiet,
    );
    // The painted value 1 is the class 'brain' (the project's first class takes mask value 1).
    store.addClass('brain');
    const volumes: VolumeProject['volumes'] = [];
    for (const m of made) {
      const item = store.items(0, 100).find((it) => it.path === m.file);
      if (!item) throw new Error(`${m.file} was not imported`);
      store.setSplit(item.id, m.split);
      const per = m.dims[0] * m.dims[1];
      for (const z of m.masked)
        store.setMask(item.id, 2, z, {
          width: m.dims[0],
          height: m.dims[1],
          data: m.mask.slice(z * per, (z + 1) * per),
        });
      volumes.push({ id: item.id, path: m.file, dims: m.dims, mask: m.mask, masked: m.masked });
    }
    return { project, volumes };
  } finally {
    store.close();
  }
}
