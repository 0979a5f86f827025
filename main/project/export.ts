// Exports: labels as CSV/JSON, an ImageFolder copy, masks as PNG or NIfTI (with the source's geometry), and
// COCO-style segmentation JSON. Every export is atomic: built in a temporary sibling and renamed into place.
// Mask values are the project's stored class values (0 is background; see ProjectStore.maskClasses); each mask export
// writes them to a labels.json sidecar, and COCO names its categories from them.
import { copyFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

import type { ExportFormat, ProjectItem } from '../../contract/project.js';
import { AppError } from '../ipc/app-error.js';
import { assembleSeries, dicomAffine, readDicomHeader, type DicomSeries } from '../media/dicom.js';
import { encodePng } from '../media/image.js';
import { readNiftiHeader, type NiftiGeometry } from '../media/nifti.js';
import { encodeNifti } from '../media/nifti-write.js';
import { probeDicomFolder } from '../media/probe.js';
import { writeDirAtomic, writeFileAtomic } from './atomic.js';
import { formatCsv } from './csv.js';
import type { ProjectStore } from './store.js';

export interface ExportResult {
  out: string;
  files: number;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || '_';
}

/** The name → value map of a mask export's labels.json (every reserved value; an unnamed one as "class <v>"). */
export const LABELS_SIDECAR = 'labels.json';
function labelsSidecar(store: ProjectStore): string {
  const labels: Record<string, number> = { background: 0 };
  for (const [v, name] of store.maskValueNames()) labels[name ?? `class ${v}`] = v;
  return `${JSON.stringify({ labels, description: 'mask pixel value of each class (0: background)' }, null, 2)}\n`;
}

export async function exportProject(store: ProjectStore, format: ExportFormat, out: string): Promise<ExportResult> {
  switch (format) {
    case 'labels-csv':
      return exportLabelsCsv(store, out);
    case 'labels-json':
      return exportLabelsJson(store, out);
    case 'imagefolder':
      return exportImageFolder(store, out);
    case 'masks-png':
      return exportMasksPng(store, out);
    case 'masks-nifti':
      return exportMasksNifti(store, out);
    case 'coco':
      return exportCoco(store, out);
  }
}

async function exportLabelsCsv(store: ProjectStore, out: string): Promise<ExportResult> {
  const rows: (string | number | null)[][] = [['path', 'label', 'frame_start', 'frame_end', 'split']];
  const splits = new Map(store.items(0, Number.MAX_SAFE_INTEGER).map((i) => [i.id, i.split]));
  for (const l of store.allLabels())
    rows.push([l.path, l.className, l.frameStart, l.frameEnd, splits.get(l.itemId) ?? null]);
  await writeFileAtomic(out, formatCsv(rows));
  return { out, files: 1 };
}

async function exportLabelsJson(store: ProjectStore, out: string): Promise<ExportResult> {
  const labels = store.allLabels();
  const items = store.items(0, Number.MAX_SAFE_INTEGER).map((i) => ({
    path: i.path,
    hash: i.hash,
    kind: i.kind,
    width: i.width,
    height: i.height,
    frames: i.frames,
    slices: i.slices,
    split: i.split,
    labels: labels
      .filter((l) => l.itemId === i.id)
      .map((l) => ({ class: l.className, frameStart: l.frameStart, frameEnd: l.frameEnd })),
  }));
  const { classes, maskClasses } = store.summary();
  await writeFileAtomic(out, `${JSON.stringify({ classes, maskClasses, items }, null, 2)}\n`);
  return { out, files: 1 };
}

async function exportImageFolder(store: ProjectStore, out: string): Promise<ExportResult> {
  const byId = new Map(store.items(0, Number.MAX_SAFE_INTEGER).map((i) => [i.id, i]));
  const whole = store.allLabels().filter((l) => l.frameStart === null);
  return writeDirAtomic(out, async (dir) => {
    let files = 0;
    const used = new Set<string>();
    for (const l of whole) {
      const item = byId.get(l.itemId);
      if (!item || item.kind !== 'image') continue;
      const classDir = path.join(dir, safeName(l.className));
      await mkdir(classDir, { recursive: true });
      let name = path.basename(item.path);
      if (used.has(path.join(classDir, name))) name = `${item.id}_${name}`;
      used.add(path.join(classDir, name));
      await copyFile(item.path, path.join(classDir, name));
      files += 1;
    }
    return { out, files };
  });
}

async function exportMasksPng(store: ProjectStore, out: string): Promise<ExportResult> {
  const masks = store.masks();
  return writeDirAtomic(out, async (dir) => {
    for (const m of masks) {
      const item = store.item(m.itemId);
      const mask = store.mask(m.itemId, m.axis, m.slice);
      if (!mask) continue;
      const png = await encodePng({
        width: mask.width,
        height: mask.height,
        channels: 1,
        bitDepth: 8,
        data: mask.data,
      });
      const name = `${item.id}_${safeName(path.basename(item.path))}_axis${m.axis}_slice${m.slice}.png`;
      await writeFileAtomic(path.join(dir, name), png);
    }
    await writeFileAtomic(path.join(dir, LABELS_SIDECAR), labelsSidecar(store));
    return { out, files: masks.length + 1 };
  });
}

interface Geometry {
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: number[][];
  geometry?: NiftiGeometry;
}

async function dicomSeriesOf(item: ProjectItem): Promise<DicomSeries | undefined> {
  const isDir = (await stat(item.path).catch(() => null))?.isDirectory() ?? false;
  const series = isDir
    ? (await probeDicomFolder(item.path)).series
    : assembleSeries([await readDicomHeader(item.path)]);
  return (
    series.find((s) => s.dims[0] === item.width && s.dims[1] === item.height && s.dims[2] === item.slices) ?? series[0]
  );
}

async function geometryOf(item: ProjectItem): Promise<Geometry> {
  if (item.kind === 'nifti') {
    const h = await readNiftiHeader(item.path);
    return { dims: h.dims, spacing: h.spacing, affine: h.affine, geometry: h.geometry };
  }
  if (item.kind === 'dicom') {
    const s = await dicomSeriesOf(item);
    if (!s) throw new AppError('not_found', `the DICOM series of item ${item.id} is no longer readable`);
    return {
      dims: s.dims,
      spacing: s.spacing,
      affine: dicomAffine(s.headers[0] as DicomSeries['headers'][number], s.spacing),
    };
  }
  return {
    dims: [item.width, item.height, 1],
    spacing: [1, 1, 1],
    affine: [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ],
  };
}

/** One uint8 label volume per item with masks, in the source's voxel grid and orientation. */
async function exportMasksNifti(store: ProjectStore, out: string): Promise<ExportResult> {
  const itemIds = [...new Set(store.masks().map((m) => m.itemId))];
  return writeDirAtomic(out, async (dir) => {
    for (const id of itemIds) {
      const item = store.item(id);
      const g = await geometryOf(item);
      const [nx, ny, nz] = g.dims;
      const vol = new Uint8Array(nx * ny * nz); // (Z, Y, X)
      for (const m of store.masks(id)) {
        const mask = store.mask(id, m.axis, m.slice);
        if (!mask) continue;
        const [w, h] = m.axis === 2 ? [nx, ny] : m.axis === 1 ? [nx, nz] : [ny, nz];
        if (mask.width !== w || mask.height !== h || m.slice >= g.dims[m.axis as 0 | 1 | 2]) {
          throw new AppError(
            'conflict',
            `mask of item ${id} (axis ${m.axis}, slice ${m.slice}) is ${mask.width}×${mask.height}, the source slice is ${w}×${h}`,
          );
        }
        for (let v = 0; v < h; v += 1) {
          for (let u = 0; u < w; u += 1) {
            const [x, y, z] = m.axis === 2 ? [u, v, m.slice] : m.axis === 1 ? [u, m.slice, v] : [m.slice, u, v];
            const val = mask.data[v * w + u] as number;
            if (val !== 0) vol[(z * ny + y) * nx + x] = val;
          }
        }
      }
      const nii = encodeNifti(
        { dims: g.dims, spacing: g.spacing, affine: g.affine, data: vol, geometry: g.geometry },
        true,
      );
      await writeFileAtomic(path.join(dir, `${item.id}_${safeName(path.basename(item.path))}_mask.nii.gz`), nii);
    }
    await writeFileAtomic(path.join(dir, LABELS_SIDECAR), labelsSidecar(store));
    return { out, files: itemIds.length + 1 };
  });
}

/** COCO uncompressed RLE: run lengths over the mask in column-major order, starting with a background run. */
function rle(
  mask: Uint8Array,
  width: number,
  height: number,
  value: number,
): { counts: number[]; area: number; bbox: number[] } {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  let area = 0;
  let x0 = width,
    y0 = height,
    x1 = -1,
    y1 = -1;
  for (let x = 0; x < width; x += 1) {
    for (let y = 0; y < height; y += 1) {
      const on = mask[y * width + x] === value ? 1 : 0;
      if (on !== current) {
        counts.push(run);
        run = 0;
        current = on;
      }
      run += 1;
      if (on) {
        area += 1;
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  counts.push(run);
  return { counts, area, bbox: area ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : [0, 0, 0, 0] };
}

async function exportCoco(store: ProjectStore, out: string): Promise<ExportResult> {
  const names = store.maskValueNames();
  const images: unknown[] = [];
  const annotations: unknown[] = [];
  const used = new Set<number>();
  for (const m of store.masks()) {
    const item = store.item(m.itemId);
    const mask = store.mask(m.itemId, m.axis, m.slice);
    if (!mask) continue;
    const imageId = images.length + 1;
    images.push({
      id: imageId,
      file_name: item.path,
      width: mask.width,
      height: mask.height,
      item_id: item.id,
      axis: m.axis,
      slice: m.slice,
    });
    const values = [...new Set(mask.data)].filter((v) => v !== 0).sort((a, b) => a - b);
    for (const v of values) {
      const r = rle(mask.data, mask.width, mask.height, v);
      used.add(v);
      annotations.push({
        id: annotations.length + 1,
        image_id: imageId,
        category_id: v,
        segmentation: { counts: r.counts, size: [mask.height, mask.width] },
        area: r.area,
        bbox: r.bbox,
        iscrowd: 0,
      });
    }
  }
  const categories = [...used].sort((a, b) => a - b).map((v) => ({ id: v, name: names.get(v) ?? `class_${v}` }));
  const coco = { info: { description: 'SSM Studio export', version: '1.0' }, images, annotations, categories };
  await writeFileAtomic(out, `${JSON.stringify(coco)}\n`);
  return { out, files: 1 };
}
