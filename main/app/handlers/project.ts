import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';

import type { Suggestion } from '../../../contract/models.js';
import type { ItemSuggestion, ProjectApi } from '../../../contract/project.js';
import { AppError } from '../../ipc/app-error.js';
import type { Handler } from '../../ipc/router.js';
import { writeFileAtomic } from '../../project/atomic.js';
import { decodeImage } from '../../media/image.js';
import { readNifti } from '../../media/nifti.js';
import { hasMediaExtension } from '../../media/sniff.js';
import { exportProject } from '../../project/export.js';
import type { ProjectRegistry } from '../../project/registry.js';

export interface ProjectHandlerDeps {
  /** The app's data folder: the demo project lives in <dataDir>/projects/demo. */
  dataDir: string;
  /** The shipped sample data (samples/ of the package). */
  samplesDir: string;
  /** A registered model's class names (its card), for mapping its mask suggestions onto the project's mask values. */
  cardClasses?: (model: string) => Promise<string[]>;
}

/** Sample folders imported into the demo project: each as its own root, so the Fashion-MNIST classes become labels. */
const DEMO_PATHS = ['images/fashion-mnist', 'images/photos', 'video', 'medical'];
const RECENT_MAX = 10;

async function readRecent(file: string): Promise<string[]> {
  try {
    const list: unknown = JSON.parse(await readFile(file, 'utf8'));
    return Array.isArray(list) ? list.filter((d): d is string => typeof d === 'string').slice(0, RECENT_MAX) : [];
  } catch {
    return []; // none yet, or unreadable: start a new list
  }
}

/** Every saved suggestion of a project: <project>/suggestions/<model>.json, written by infer jobs. */
async function readSuggestions(dir: string): Promise<ItemSuggestion[]> {
  const folder = path.join(dir, 'suggestions');
  const names = await readdir(folder).catch(() => [] as string[]);
  const out: ItemSuggestion[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const model = name.slice(0, -'.json'.length);
    try {
      const list: unknown = JSON.parse(await readFile(path.join(folder, name), 'utf8'));
      if (!Array.isArray(list)) continue;
      for (const s of list as Suggestion[]) {
        if (typeof s === 'object' && s !== null && Number.isInteger(s.itemId)) out.push({ ...s, model });
      }
    } catch {
      continue; // a file being written or damaged: its suggestions are not shown
    }
  }
  return out;
}

/** Uploaded bytes into <dir>/imported/<name>, never overwriting: "scan.png" becomes "scan-2.png" when taken. */
async function writeUpload(dir: string, name: string, bytes: Buffer): Promise<string> {
  const base = path.basename(name).replace(/[^\w.\- ]+/g, '_');
  if (base === '' || base.startsWith('.') || !hasMediaExtension(base)) {
    throw new AppError('unsupported', `not a media file name SSM Studio imports: ${name}`, 'params.name');
  }
  const folder = path.join(dir, 'imported');
  await mkdir(folder, { recursive: true });
  const ext = path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  for (let n = 1; n < 10_000; n += 1) {
    const file = path.join(folder, n === 1 ? base : `${stem}-${n}${ext}`);
    try {
      await writeFile(file, bytes, { flag: 'wx' });
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new AppError('conflict', `too many files named ${base} in ${folder}`);
}

/** One plane of a saved suggestion's class-index mask (a PNG, or an axial slice of a NIfTI volume). */
async function readSuggestedPlane(
  dir: string,
  file: string,
  fileAxis: number,
  axis: number,
  slice: number,
): Promise<{ width: number; height: number; data: Uint8Array }> {
  // Only files the infer job wrote under <project>/suggestions/ are read.
  const root = path.resolve(dir, 'suggestions') + path.sep;
  if (!path.resolve(file).startsWith(root))
    throw new AppError('bad_request', `suggestion file is outside the project's suggestions folder: ${file}`);
  if (/\.png$/i.test(file)) {
    const img = await decodeImage(file);
    if (slice !== 0) throw new AppError('bad_request', `an image has slice 0 only, not ${slice}`, 'params.slice');
    const data = new Uint8Array(img.width * img.height);
    for (let i = 0; i < data.length; i++) data[i] = img.data[i * img.channels] as number;
    return { width: img.width, height: img.height, data };
  }
  if (axis !== fileAxis)
    throw new AppError(
      'unsupported',
      `the mask suggestion is by axis ${fileAxis} slices, not axis ${axis}`,
      'params.axis',
    );
  const { volume } = await readNifti(file);
  const [nx, ny, nz] = volume.dims;
  if (slice >= nz) throw new AppError('bad_request', `slice ${slice} is past the ${nz} slices`, 'params.slice');
  const per = nx * ny;
  const data = new Uint8Array(per);
  for (let p = 0; p < per; p++) data[p] = Math.round(volume.data[(slice * per + p) * volume.channels] as number);
  return { width: nx, height: ny, data };
}

async function predictedIds(dir: string): Promise<number[]> {
  return [...new Set((await readSuggestions(dir)).map((s) => s.itemId))];
}

export function projectHandlers(
  projects: ProjectRegistry,
  deps: ProjectHandlerDeps,
): { [M in keyof ProjectApi]: Handler<M> } {
  const recentFile = path.join(deps.dataDir, 'recent-projects.json');
  return {
    'project.open': async ({ dir }) => {
      const summary = projects.get(dir).summary();
      const recent = [summary.dir, ...(await readRecent(recentFile)).filter((d) => d !== summary.dir)];
      await mkdir(deps.dataDir, { recursive: true });
      await writeFileAtomic(recentFile, JSON.stringify(recent.slice(0, RECENT_MAX)));
      return summary;
    },
    'project.recent': async () => readRecent(recentFile),
    'project.items': async ({ dir, offset, limit }) => projects.get(dir).items(offset, limit),
    'project.query': async ({ dir, filter, offset, limit }) =>
      projects.get(dir).query(filter, offset, limit, filter.status === 'predicted' ? await predictedIds(dir) : []),
    'project.item': async ({ dir, itemId }) => {
      const store = projects.get(dir);
      const item = store.item(itemId);
      const whole = store.labelsOf(itemId).find((l) => l.frameStart === null);
      return { ...item, className: whole?.className ?? null, info: store.itemInfo(itemId) };
    },
    'project.itemIds': async ({ dir, filter }) =>
      projects.get(dir).queryIds(filter, filter.status === 'predicted' ? await predictedIds(dir) : []),
    'project.upload': async ({ dir, name, dataBase64 }) => {
      projects.get(dir);
      return { path: await writeUpload(dir, name, Buffer.from(dataBase64, 'base64')) };
    },
    'project.suggestions': async ({ dir, itemId }) => {
      projects.get(dir).item(itemId);
      return (await readSuggestions(dir)).filter((s) => s.itemId === itemId);
    },
    'project.demo': async () => ({
      dir: path.join(deps.dataDir, 'projects', 'demo'),
      paths: DEMO_PATHS.map((p) => path.join(deps.samplesDir, p)),
    }),
    'project.labels': async ({ dir, itemId }) => projects.get(dir).labelsOf(itemId),
    'project.setLabel': async ({ dir, itemId, className, frameStart, frameEnd }) => {
      const store = projects.get(dir);
      store.setLabel(itemId, className, frameStart, frameEnd);
      return store.summary();
    },
    'project.setLabels': async ({ dir, itemIds, className }) => {
      const store = projects.get(dir);
      store.setLabels(
        itemIds.map((itemId) => ({ itemId, className, frameStart: null, frameEnd: null })),
        'bulk-label',
      );
      return store.summary();
    },
    'project.mask': async ({ dir, itemId, axis, slice }) => {
      const m = projects.get(dir).mask(itemId, axis, slice);
      return m ? { width: m.width, height: m.height, dataBase64: Buffer.from(m.data).toString('base64') } : null;
    },
    'project.suggestedMask': async ({ dir, itemId, model, axis, slice, paintValue }) => {
      const store = projects.get(dir);
      store.item(itemId);
      const s = (await readSuggestions(dir)).find((x) => x.itemId === itemId && x.model === model && x.kind === 'mask');
      if (!s || s.kind !== 'mask') return null;
      const m = await readSuggestedPlane(dir, s.file, s.axis, axis, slice);
      // The model's class k (value k in the file) → the project's value of the class of the same name.
      const names = deps.cardClasses ? await deps.cardClasses(model).catch(() => null) : null;
      if (names === null)
        throw new AppError('not_found', `model '${model}' is not registered: its classes are unknown`);
      const classes = names.map((name) => {
        const v = store.maskValueOf(name);
        return { name, value: v ?? paintValue ?? null, matched: v !== null };
      });
      const lut = new Uint8Array(256);
      classes.forEach((c, k) => (lut[k + 1] = c.value ?? 0));
      const data = m.data.map((v) => lut[v] as number);
      return { width: m.width, height: m.height, dataBase64: Buffer.from(data).toString('base64'), classes };
    },
    'project.setMask': async ({ dir, itemId, axis, slice, mask }) => {
      const store = projects.get(dir);
      let data: { width: number; height: number; data: Uint8Array } | null = null;
      if (mask) {
        const raw = Buffer.from(mask.dataBase64, 'base64');
        let bytes = raw;
        if (mask.encoding === 'deflate') {
          try {
            // Never inflate past the declared size (a small message must not become a huge buffer).
            bytes = inflateSync(raw, { maxOutputLength: mask.width * mask.height + 1 });
          } catch (err) {
            throw new AppError(
              'bad_request',
              `mask data is not zlib-deflated ${mask.width}×${mask.height} bytes: ${err instanceof Error ? err.message : String(err)}`,
              'params.mask.dataBase64',
            );
          }
        }
        if (bytes.length !== mask.width * mask.height)
          throw new AppError(
            'bad_request',
            `mask has ${bytes.length} bytes, expected ${mask.width}×${mask.height}`,
            'params.mask.dataBase64',
          );
        data = { width: mask.width, height: mask.height, data: new Uint8Array(bytes) };
      }
      store.setMask(itemId, axis, slice, data);
      return store.summary();
    },
    'project.reviews': async ({ dir, itemId }) => projects.get(dir).reviews(itemId),
    'project.setReview': async ({ dir, itemId, axis, slice, state }) => {
      const store = projects.get(dir);
      store.setReview(itemId, axis, slice, state);
      return store.summary();
    },
    'project.addClass': async ({ dir, name }) => {
      const store = projects.get(dir);
      store.addClass(name);
      return store.summary();
    },
    'project.renameClass': async ({ dir, from, to }) => {
      const store = projects.get(dir);
      store.renameClass(from, to);
      return store.summary();
    },
    'project.deleteClass': async ({ dir, name }) => {
      const store = projects.get(dir);
      store.deleteClass(name);
      return store.summary();
    },
    'project.undo': async ({ dir }) => {
      const store = projects.get(dir);
      store.undo();
      return store.summary();
    },
    'project.redo': async ({ dir }) => {
      const store = projects.get(dir);
      store.redo();
      return store.summary();
    },
    'project.export': async ({ dir, format, out }) => exportProject(projects.get(dir), format, out),
  };
}
