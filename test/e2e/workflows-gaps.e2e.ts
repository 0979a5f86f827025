// Workflows on the demo project, in browser mode:
// - mask classes: add a class in the Label view's mask legend, paint with it, add a class that sorts first (the list
//   and number keys reorder) and rename the painted one: the stored mask bytes and the value → class mapping keep
//   their meaning; deleting a painted class is refused; the PNG mask export's labels.json names the value;
// - the volume viewer's readout: the raw voxel value under the pointer (HU for the CT), its indices and its position
//   in mm, checked against the file read with the project's own readers;
// - Models compare for interpolators: the shipped frame-interp-s4nd against a conv interpolator trained here through
//   the train service (a train job over the WebSocket), re-evaluated on the same held-out frames of the demo video.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Browser, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ItemFilter, JobInfo, MaskData, ProjectSummary } from '../../contract/index.js';
import { assembleSeries, readDicomHeader, readDicomVolume } from '../../main/media/dicom.js';
import { readNifti } from '../../main/media/nifti.js';
import type { Volume } from '../../main/media/volume.js';
import {
  callOverWebSocket,
  launchChromium,
  ROOT,
  SHOTS,
  startApp,
  UPDATE_SCREENSHOTS,
  type RunningApp,
} from './harness.js';

const COMMITTED = path.join(ROOT, 'test', 'e2e', 'screenshots');
let app: RunningApp;
let browser: Browser;
let page: Page;
let dir = '';
const problems: string[] = [];

const call = <T>(method: string, params: Record<string, unknown>): Promise<T> =>
  callOverWebSocket<T>(page, method, params);

const maskPixels = async (): Promise<number> =>
  Number(((await page.getByTestId('mask-pixels').innerText()).match(/([\d,]+) pixels/)?.[1] ?? '0').replace(/,/g, ''));

/** A screenshot of `target` in view, with the job tray folded so it covers nothing. */
async function shot(name: string, target?: Locator): Promise<void> {
  const tray = page.locator('[aria-controls="job-tray-list"]');
  if ((await tray.count()) > 0 && (await tray.getAttribute('aria-expanded')) === 'true') await tray.click();
  await target?.scrollIntoViewIfNeeded();
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  if (!UPDATE_SCREENSHOTS) return;
  const lossless = await sharp(file).png({ compressionLevel: 9, effort: 10 }).toBuffer();
  const small = lossless.length < 250_000 ? lossless : await sharp(file).png({ palette: true, quality: 95 }).toBuffer();
  await writeFile(path.join(COMMITTED, `${name}.png`), small);
}

async function itemId(search: string): Promise<number> {
  const filter: ItemFilter = { status: 'all', className: null, split: null, kind: 'all', search };
  const [id] = await call<number[]>('project.itemIds', { dir, filter });
  if (id === undefined) throw new Error(`no demo item named ${search}`);
  return id;
}

/** Opens an item in the Label view by its route (what double-clicking its tile does). */
async function openItem(search: string, name: string): Promise<number> {
  const id = await itemId(search);
  await page.evaluate((item) => (location.hash = `#/label?item=${item}`), id);
  await page.locator('main h1', { hasText: 'Label' }).waitFor();
  await expect.poll(() => page.getByTestId('item-name').innerText()).toBe(name);
  return id;
}

/** The distinct values of a stored mask. */
async function maskValues(item: number): Promise<number[]> {
  const m = await call<MaskData | null>('project.mask', { dir, itemId: item, axis: 2, slice: 0 });
  return m ? [...new Set(Buffer.from(m.dataBase64, 'base64'))].sort((a, b) => a - b) : [];
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  app = await startApp();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 860 }, colorScheme: 'light' })).newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(app.url);
  await page.getByRole('button', { name: 'Open the demo project' }).click();
  await page.getByText('Imported 47 items.').waitFor({ timeout: 60_000 });
  dir = (await call<{ dir: string }>('project.demo', {})).dir;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  const code = await app?.stop();
  if (app) await rm(app.tmp, { recursive: true, force: true });
  expect(code, `the app did not stop cleanly:\n${app?.output()}`).toBe(0);
});

describe('workflow gaps', () => {
  it('mask classes: a new class paints its own value; reordering and renaming keep the mask meaning', async () => {
    const id = await openItem('camera.png', 'camera.png');
    const before = (await call<ProjectSummary>('project.open', { dir })).maskClasses;
    // The demo's classes already hold values 1..n; a new class gets the next one.
    const next = Math.max(...before.map((c) => c.value)) + 1;
    await page.getByLabel('New mask class name').fill('zz lesion');
    await page.getByRole('button', { name: 'Add class' }).click();
    const chip = page.getByRole('button', { name: `Paint with zz lesion (mask value ${next})` });
    await expect.poll(() => chip.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => page.getByLabel('Mask class (Shift + number key)').inputValue()).toBe(String(next));

    await expect.poll(() => page.getByTestId('mask-pixels').innerText()).toMatch(/No mask painted/);
    await page.keyboard.press('b');
    const box = (await page.locator('.viewer-stage canvas').boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width / 2 - 60, y);
    await page.mouse.down();
    for (let i = 1; i <= 8; i += 1) await page.mouse.move(box.x + box.width / 2 - 60 + 15 * i, y);
    await page.mouse.up();
    await expect.poll(maskPixels).toBeGreaterThan(100);
    await page.getByText('All changes saved').waitFor();
    await expect.poll(() => maskValues(id)).toEqual([0, next]);

    // A class that sorts first: the class list (and its number keys) reorders, no value changes.
    await page.getByLabel('New mask class name').fill('aaa first');
    await page.getByRole('button', { name: 'Add class' }).click();
    await page.getByRole('button', { name: `Paint with aaa first (mask value ${next + 1})` }).waitFor();
    const s1 = await call<ProjectSummary>('project.open', { dir });
    expect(s1.classes[0]).toBe('aaa first');
    expect(s1.maskClasses.find((c) => c.name === 'zz lesion')?.value).toBe(next);

    // Rename the painted class: the same value, the same mask bytes.
    await page.getByRole('button', { name: 'Rename zz lesion' }).click();
    await page.getByLabel('New name for zz lesion').fill('lesion');
    await page.getByLabel('New name for zz lesion').press('Enter');
    await page.getByRole('button', { name: `Paint with lesion (mask value ${next})` }).waitFor();
    const s2 = await call<ProjectSummary>('project.open', { dir });
    expect(s2.maskClasses.find((c) => c.value === next)?.name).toBe('lesion');
    expect(s2.maskClasses.filter((c) => before.some((b) => b.value === c.value && b.name === c.name))).toHaveLength(
      before.length,
    );
    expect(await maskValues(id)).toEqual([0, next]);

    // A painted class cannot be deleted; an unused one can.
    await page.getByRole('button', { name: 'Delete lesion' }).click();
    await expect
      .poll(() => page.getByTestId('mask-class-error').innerText())
      .toMatch(new RegExp(`'lesion' \\(mask value ${next}\\) is painted in 1 mask`));
    await page.getByRole('button', { name: 'Delete aaa first' }).click();
    await expect.poll(() => page.getByRole('button', { name: /^Paint with aaa first/ }).count()).toBe(0);

    // The PNG export's sidecar names the value.
    const out = path.join(app.tmp, 'masks-export');
    await call('project.export', { dir, format: 'masks-png', out });
    const sidecar = JSON.parse(await readFile(path.join(out, 'labels.json'), 'utf8')) as {
      labels: Record<string, number>;
    };
    expect(sidecar.labels['lesion']).toBe(next);
    expect(sidecar.labels['aaa first']).toBeUndefined();
    await page.getByRole('button', { name: `Paint with lesion (mask value ${next})` }).click();
    await page.mouse.move(box.x + box.width / 2, y);
    await shot('label-mask-classes-light', page.getByRole('list', { name: 'Mask classes' }));
    expect(problems).toEqual([]);
  }, 180_000);

  it('volume viewer: the raw voxel value under the pointer (HU for CT) with indices and mm', async () => {
    const check = async (
      search: string,
      name: string,
      volume: Volume,
      unit: string,
    ): Promise<{ x: number; y: number; z: number; value: number }> => {
      await openItem(search, name);
      const canvas = page.locator('.viewer-stage canvas');
      await expect.poll(() => canvas.getAttribute('aria-label')).toMatch(/^Axial \(XY\) slice/);
      const box = (await canvas.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.55);
      const readout = page.getByTestId('voxel-readout');
      await expect.poll(() => readout.innerText(), { timeout: 10_000 }).toMatch(/ mm$/);
      const text = await readout.innerText();
      const m = text.match(
        /^voxel x (\d+), y (\d+), z (\d+) · value (-?[\d.e+-]+)(?: (\w+))? · \((-?[\d.]+), (-?[\d.]+), (-?[\d.]+)\) mm$/,
      );
      expect(m, text).not.toBeNull();
      const [x, y, z] = [Number(m![1]), Number(m![2]), Number(m![3])];
      const [nx, ny] = volume.dims;
      const want = volume.data[(z * ny + y) * nx + x] as number;
      expect(Number(m![4])).toBeCloseTo(want, Number.isInteger(want) ? 9 : 2);
      expect(m![5] ?? '').toBe(unit);
      const a = volume.affine;
      [0, 1, 2].forEach((i) => {
        const row = a[i] as number[];
        const mm = (row[0] as number) * x + (row[1] as number) * y + (row[2] as number) * z + (row[3] as number);
        expect(Math.abs(Number(m![6 + i]) - mm)).toBeLessThan(0.051);
      });
      return { x, y, z, value: want };
    };
    const nii = await readNifti(path.join(ROOT, 'samples/medical/anatomical.nii'));
    const v1 = await check('anatomical.nii', 'anatomical.nii', nii.volume, '');
    expect(v1.value).not.toBe(0); // inside the head
    const ctHeader = await readDicomHeader(path.join(ROOT, 'samples/medical/CT_small.dcm'));
    const ct = await readDicomVolume(assembleSeries([ctHeader])[0]!);
    await check('CT_small', 'CT_small.dcm', ct, 'HU');
    // In view with the tray folded, the pointer back on the CT slice for the screenshot.
    const tray = page.locator('[aria-controls="job-tray-list"]');
    if ((await tray.getAttribute('aria-expanded')) === 'true') await tray.click();
    await page.getByTestId('voxel-readout').scrollIntoViewIfNeeded();
    const box = (await page.locator('.viewer-stage canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.35);
    await expect.poll(() => page.getByTestId('voxel-readout').innerText()).toMatch(/ HU · .* mm$/);
    await shot('viewer-volume-readout-light');
    expect(problems).toEqual([]);
  }, 120_000);

  it('Models compare: two interpolators on the same held-out frames of the demo video', async () => {
    const { jobId } = await call<{ jobId: string }>('jobs.start', {
      kind: 'train',
      params: {
        project: dir,
        task: 'interpolate',
        architecture: 'conv-interpolator',
        schedule: [{ size: 32, epochs: 1 }],
        name: 'Conv interpolator e2e',
      },
    });
    let job: JobInfo | undefined;
    await expect
      .poll(
        async () => {
          job = (await call<JobInfo[]>('jobs.list', {})).find((j) => j.id === jobId);
          return job?.state;
        },
        { timeout: 240_000, interval: 1000 },
      )
      .toBe('done');
    const trained = (job?.result as { modelId: string }).modelId;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
    await page.locator('main h1', { hasText: 'Models' }).waitFor();
    await expect.poll(() => page.getByLabel('Model B').locator(`option[value="${trained}"]`).count()).toBe(1);
    await page.getByLabel('Model A').selectOption('frame-interp-s4nd');
    await page.getByLabel('Model B').selectOption(trained);
    await expect
      .poll(() => page.getByLabel('Compare on video').locator('option').allInnerTexts())
      .toEqual(['vtest-4s.mp4']);
    await page.getByLabel('Frame width (px)').fill('96');
    await page.getByLabel('Kept frame pairs').fill('4');
    await page.getByRole('button', { name: 'Compare' }).click();
    await expect
      .poll(() => page.getByTestId('compare-interp-summary').innerText(), { timeout: 120_000 })
      .toMatch(/^Same held-out frames of vtest-4s\.mp4 at 96×\d+: 4 at t = 1\/2 and 8 at t = 1\/3, 2\/3/);
    const table = page.getByRole('table', { name: /PSNR and SSIM on held-out frames/ });
    const rows = await table.locator('tbody tr').all();
    expect(rows).toHaveLength(2);
    // The table shows what the handler computes for the same frames.
    const r = await call<{ steps: { frames: number; models: { psnr: number }[]; blend: { psnr: number } }[] }>(
      'results.compareInterpolate',
      { project: dir, models: ['frame-interp-s4nd', trained], itemId: await itemId('vtest'), width: 96, pairs: 4 },
    );
    for (const [i, row] of rows.entries()) {
      const cells = await row.locator('td').allInnerTexts();
      const s = r.steps[i]!;
      expect(cells.slice(1, 5)).toEqual([
        String(s.frames),
        s.models[0]!.psnr.toFixed(2),
        s.models[1]!.psnr.toFixed(2),
        s.blend.psnr.toFixed(2),
      ]);
      expect(Number(cells[2])).toBeGreaterThan(15);
    }
    // Where each model ran, under the figures (the app's default backend: the CPU engine).
    for (const [ab, model] of [
      ['a', 'frame-interp-s4nd'],
      ['b', trained],
    ] as const)
      expect(await page.getByTestId(`compare-backend-${ab}`).innerText()).toMatch(
        new RegExp(`^[AB]: ${model}\\s+Ran on cpu \\(engine\\)\\.$`),
      );
    await shot('models-compare-interpolate-light', page.getByTestId('compare-backends'));
    expect(problems).toEqual([]);
  }, 420_000);
});
