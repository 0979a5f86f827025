// Results and Label views with 3-D models, in browser mode, on real data (test/models/project-fixture-3d.ts: street /
// tree video pieces, ch2 / ch2better T1 volumes with the ch2bet brain mask). A clip classifier (s4nd-classifier3d) and
// a volume U-Net (s4nd-unet3d) are trained by train jobs started with the WebSocket call the Train view makes; then,
// like a user: Results → Classification evaluates the clip classifier on the labelled videos (the numbers on screen
// are the handler's), Label's "Suggest" on a video runs the clip classifier, Results → Segmentation shows a slice of
// the one-pass 3-D prediction with Dice / IoU (the handler's figures), moving the slice slider shows another slice.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ClassifyEvaluation, ItemFilter, JobInfo, ModelCard, SegmentEvaluation } from '../../contract/index.js';
import type { MaskData } from '../../contract/project.js';
import { clipProject, volumeProject, type ClipProject, type VolumeProject } from '../models/project-fixture-3d.js';
import { callOverWebSocket, launchChromium, SHOTS, startApp, type RunningApp } from './harness.js';

let app: RunningApp;
let browser: Browser;
let page: Page;
let clips: ClipProject;
let vols: VolumeProject;
let clipModel: ModelCard;
let unet: ModelCard;
const problems: string[] = [];

const call = <T>(method: string, params: Record<string, unknown>): Promise<T> =>
  callOverWebSocket<T>(page, method, params);

async function nav(name: 'Results' | 'Label' | 'Library'): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await page.locator('main h1', { hasText: name }).waitFor();
}

async function openProject(dir: string): Promise<void> {
  await nav('Library');
  const sw = page.getByRole('button', { name: 'Switch project' });
  if ((await sw.count()) > 0) await sw.click();
  await page.getByLabel('Project folder').fill(dir);
  await page.getByRole('button', { name: 'Create or open' }).click();
  await page
    .getByText(/\d+ items/)
    .first()
    .waitFor();
}

/** Trains through a train job (what the Train view starts) and returns the registered model's card. */
async function train(params: Record<string, unknown>): Promise<ModelCard> {
  const { jobId } = await call<{ jobId: string }>('jobs.start', { kind: 'train', params });
  let job: JobInfo | undefined;
  const until = Date.now() + 240_000;
  while (job?.state !== 'done' && job?.state !== 'failed') {
    if (Date.now() > until) throw new Error(`train job ${jobId} did not finish in 240 s`);
    await new Promise((r) => setTimeout(r, 1000));
    job = (await call<JobInfo[]>('jobs.list', {})).find((j) => j.id === jobId);
  }
  if (job.state === 'failed') throw new Error(`train job failed: ${job.error?.message ?? ''}`);
  const id = (job?.result as { modelId: string } | null)?.modelId;
  const card = (await call<ModelCard[]>('models.list', {})).find((c) => c.id === id);
  if (!card) throw new Error(`no registered model for job ${jobId}`);
  return card;
}

beforeAll(async () => {
  app = await startApp();
  clips = await clipProject(app.tmp);
  vols = await volumeProject(app.tmp);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 1100 } })).newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(app.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  const code = await app?.stop();
  if (app?.tmp) await rm(app.tmp, { recursive: true, force: true });
  expect(code, `the app did not stop cleanly:\n${app?.output()}`).toBe(0);
});

const maskPixels = async (): Promise<number> =>
  Number(((await page.getByTestId('mask-pixels').innerText()).match(/([\d,]+) pixels/)?.[1] ?? '0').replace(/,/g, ''));

async function labelItem(dir: string, search: string): Promise<number> {
  const filter: ItemFilter = { status: 'all', className: null, split: null, kind: 'all', search };
  const [id] = await call<number[]>('project.itemIds', { dir, filter });
  if (id === undefined) throw new Error(`no item matches ${search}`);
  await page.evaluate((item) => (location.hash = `#/label?item=${item}`), id);
  await page.locator('main h1', { hasText: 'Label' }).waitFor();
  await expect.poll(() => page.getByTestId('item-name').innerText()).toContain(search);
  return id;
}

describe('Results and Label with 3-D models', () => {
  it('Label: before any 3-D model is registered, Suggest on a video says why it cannot run', async () => {
    await openProject(clips.project);
    await labelItem(clips.project, 'tree-36');
    const why = page.getByTestId('suggest-why');
    await expect.poll(() => why.innerText(), { timeout: 20_000 }).toMatch(/a video needs a 3-D clip classifier/);
    expect(await page.getByTestId('suggest').isDisabled()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('trains a clip classifier and a volume U-Net through train jobs', async () => {
    clipModel = await train({
      project: clips.project,
      task: 'classify',
      architecture: 's4nd-classifier3d',
      schedule: [{ size: 8, epochs: 3 }],
      batchSize: 4,
      seed: 3,
    });
    unet = await train({
      project: vols.project,
      task: 'segment',
      architecture: 's4nd-unet3d',
      schedule: [{ size: 12, epochs: 15 }],
      batchSize: 2,
      seed: 2,
      patience: 100,
    });
    expect([clipModel.input.dims, unet.input.dims]).toEqual([3, 3]);
    await page.reload(); // the models store loads the new models
  }, 480_000);

  it('Results → Classification: a clip classifier on the labelled videos, the handler’s numbers on screen', async () => {
    await openProject(clips.project);
    await nav('Results');
    await page.getByRole('tab', { name: 'Classification' }).click();
    await page.getByLabel('Model').selectOption(clipModel.id);
    // A clip model gets clip cube sizes around its base size (8: 4, 8, 12).
    await expect.poll(() => page.getByLabel('Input sizes').inputValue()).toBe('4, 8, 12');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    const summary = page.getByTestId('classify-summary');
    await expect.poll(() => summary.innerText(), { timeout: 120_000 }).toMatch(/accuracy on 6 videos/);
    const e = await call<ClassifyEvaluation>('results.classify', {
      project: clips.project,
      model: clipModel.id,
      split: 'all',
      sizes: [4, 8, 12],
    });
    expect(await summary.innerText()).toContain(`${(e.accuracy * 100).toFixed(1)}% accuracy on ${e.items} videos`);
    expect(await summary.innerText()).toMatch(/at 8³ clips/);
    const cells = await page.getByRole('table', { name: 'Confusion matrix' }).locator('tbody td').allInnerTexts();
    expect(cells.map((c) => Number(c.trim()))).toEqual(e.confusion.flat());
    const f1 = await page
      .getByRole('table', { name: 'Per-class precision, recall and F1' })
      .locator('tbody tr td:nth-child(4)')
      .allInnerTexts();
    expect(f1).toEqual(e.perClass.map((c) => c.f1.toFixed(2)));
    expect(Number(await page.getByTestId('chart-resolution').getAttribute('data-points'))).toBe(3);
    // The selected video's thumbnail is a decoded frame (its first clip's first frame).
    const thumb = page.getByTestId('topk').locator('img');
    await expect.poll(async () => (await thumb.getAttribute('src'))?.startsWith('data:image/png')).toBe(true);
    expect(Number(await thumb.getAttribute('data-frame'))).toBe(e.predictions[0]?.frame);
    await page.evaluate(() => document.querySelector('.app-frame__main')?.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, 'results-3d-classify.png') });
    expect(problems).toEqual([]);
  }, 240_000);

  it('Label → Suggest on a video runs the clip classifier', async () => {
    await labelItem(clips.project, 'tree-36');
    await page.getByRole('button', { name: `Suggest a class with ${clipModel.name}` }).click();
    const suggestion = page.getByTestId('suggestion');
    await suggestion.waitFor({ timeout: 120_000 });
    expect(await suggestion.innerText()).toContain(clipModel.id);
    expect(await suggestion.innerText()).toMatch(/tree|street/);
    expect(problems).toEqual([]);
  }, 180_000);

  it('Results → Segmentation: a slice of the one-pass 3-D prediction with the handler’s Dice / IoU', async () => {
    await openProject(vols.project);
    await nav('Results');
    await page.getByRole('tab', { name: 'Segmentation' }).click();
    await page.getByLabel('Model').selectOption(unet.id);
    const val = vols.volumes[2] as VolumeProject['volumes'][number];
    await page.getByLabel('Item to segment').selectOption(String(val.id));
    await page.getByRole('button', { name: 'Segment', exact: true }).click();
    const summary = page.getByTestId('segment-summary');
    await expect.poll(() => summary.innerText(), { timeout: 120_000 }).toMatch(/slice \d+ of 45/);
    const mid = Math.floor(val.dims[2] / 2);
    expect(await summary.innerText()).toContain(`${val.dims[0]}×${val.dims[1]}, slice ${mid} of ${val.dims[2]}`);
    expect(await summary.innerText()).toMatch(/3-D model: the whole volume is predicted in one pass/);
    const e = await call<SegmentEvaluation>('results.segment', {
      project: vols.project,
      model: unet.id,
      itemId: val.id,
      slice: mid,
    });
    const table = page.getByRole('table', { name: 'Dice and IoU against the reference mask' });
    const row = await table.locator('tbody tr').first().locator('td').allInnerTexts();
    expect(row).toEqual([
      e.reference?.[0]?.className,
      e.reference?.[0]?.dice.toFixed(3),
      e.reference?.[0]?.iou.toFixed(3),
    ]);
    expect(Number(row[1])).toBeGreaterThan(0.3);
    await page.screenshot({ path: path.join(SHOTS, 'results-3d-segment.png') });
    // Moving the slice slider shows that slice of the cached prediction (no second click).
    await page.getByLabel('Slice', { exact: true }).evaluate((el) => {
      (el as HTMLInputElement).value = '10';
      el.dispatchEvent(new Event('change'));
    });
    await expect.poll(() => summary.innerText(), { timeout: 30_000 }).toContain(`slice 10 of ${val.dims[2]}`);
    expect(problems).toEqual([]);
  }, 240_000);

  it('Label → Suggest on a volume with the 3-D U-Net selected writes a NIfTI suggestion; "m" accepts its slice', async () => {
    // The project is the volume project (opened above) and Results has the U-Net selected. The volume's reference
    // masks are removed first, so the slice on screen starts empty and what "m" writes is the suggestion.
    const val = vols.volumes[2] as VolumeProject['volumes'][number];
    for (const z of val.masked)
      await call('project.setMask', { dir: vols.project, itemId: val.id, axis: 2, slice: z, mask: null });
    await labelItem(vols.project, 'ch2better-by4');
    await expect.poll(maskPixels).toBe(0);
    await page.getByRole('button', { name: `Suggest a mask with ${unet.name}` }).click();
    await page.getByRole('button', { name: /Accept suggested mask/ }).waitFor({ timeout: 120_000 });
    expect(await page.getByText(`Mask suggestion from ${unet.id}`).count()).toBe(1);
    const list = await call<{ kind: string; model: string; file?: string }[]>('project.suggestions', {
      dir: vols.project,
      itemId: val.id,
    });
    expect(list.find((x) => x.kind === 'mask' && x.model === unet.id)?.file).toMatch(/\.nii\.gz$/);
    // The suggested slices' foreground counts (the NIfTI read back by the app); "m" writes one of them, not empty.
    const counts = new Set<number>();
    for (let z = 0; z < val.dims[2]; z++) {
      const m = await call<MaskData | null>('project.suggestedMask', {
        dir: vols.project,
        itemId: val.id,
        model: unet.id,
        axis: 2,
        slice: z,
      });
      if (!m) continue;
      const bytes = Buffer.from(m.dataBase64, 'base64');
      counts.add([...(m.encoding === 'deflate' ? inflateSync(bytes) : bytes)].filter((v) => v !== 0).length);
    }
    await page.keyboard.press('m');
    await expect.poll(maskPixels, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(counts.has(await maskPixels())).toBe(true);
    expect(problems).toEqual([]);
  }, 180_000);
});
