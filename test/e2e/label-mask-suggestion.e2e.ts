// Accepting a model's mask suggestion into the mask, in browser mode. The shipped segmenter's infer job (task
// 'segment') on the demo project's NIfTI volume is started with the same WebSocket call the UI's jobs store makes
// (jobs.start; the Label view's "Suggest" on a volume does the same, see results-3d.e2e.ts); then, in the Label view, "m" writes
// the suggested mask of the slice on screen into the item's mask (one undoable edit) and Ctrl+Z takes it back.
import { rm } from 'node:fs/promises';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ItemFilter, JobInfo } from '../../contract/index.js';
import { callOverWebSocket, launchChromium, startApp, type RunningApp } from './harness.js';

let app: RunningApp;
let browser: Browser;
let page: Page;
let volumeId = 0;
const problems: string[] = [];

/** One contract request over the app's WebSocket, from the page's session. */
const call = <T>(method: string, params: Record<string, unknown>): Promise<T> =>
  callOverWebSocket<T>(page, method, params);

const maskPixels = async (): Promise<number> =>
  Number(((await page.getByTestId('mask-pixels').innerText()).match(/([\d,]+) pixels/)?.[1] ?? '0').replace(/,/g, ''));

beforeAll(async () => {
  app = await startApp();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
});

afterAll(async () => {
  await browser?.close();
  const code = await app?.stop();
  if (app) await rm(app.tmp, { recursive: true, force: true });
  expect(code, `the app did not stop cleanly:\n${app?.output()}`).toBe(0);
});

describe('Label view: accept a mask suggestion', () => {
  it('segments the NIfTI volume, "m" writes the suggested slice mask, undo clears it', async () => {
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Open the demo project' }).click();
    await page.getByText('Imported 47 items.').waitFor({ timeout: 60_000 });
    const { dir } = await call<{ dir: string }>('project.demo', {});
    const filter: ItemFilter = { status: 'all', className: null, split: null, kind: 'all', search: 'anatomical.nii' };
    const [id] = await call<number[]>('project.itemIds', { dir, filter });
    expect(id).toBeTypeOf('number');
    volumeId = id ?? 0;

    const { jobId } = await call<{ jobId: string }>('jobs.start', {
      kind: 'infer',
      params: { project: dir, task: 'segment', model: 'brain-mri-s4nd-unet', itemIds: [id] },
    });
    await expect
      .poll(async () => (await call<JobInfo[]>('jobs.list', {})).find((j) => j.id === jobId)?.state, {
        timeout: 180_000,
        interval: 1000,
      })
      .toBe('done');

    // The app's own route for an item (what double-clicking its tile in Library opens), without a reload.
    await page.evaluate((item) => (location.hash = `#/label?item=${item}`), id);
    await page.locator('main h1', { hasText: 'Label' }).waitFor();
    await expect.poll(() => page.getByTestId('item-name').innerText()).toBe('anatomical.nii');
    await page.getByRole('button', { name: /Accept suggested mask/ }).waitFor({ timeout: 30_000 });
    await expect.poll(maskPixels).toBe(0);
    await page.keyboard.press('m');
    await expect.poll(maskPixels, { timeout: 20_000 }).toBeGreaterThan(0);
    await page.getByText('All changes saved').waitFor();
    await page.keyboard.press('Control+z');
    await expect.poll(maskPixels, { timeout: 20_000 }).toBe(0);
    expect(problems).toEqual([]);
  }, 300_000);

  it('Models view: two segmenters compared on the reference-masked slices (none, then the accepted mask)', async () => {
    const models = async (): Promise<void> => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
      await page.locator('main h1', { hasText: 'Models' }).waitFor();
      await page.getByLabel('Model A').selectOption('brain-mri-s4nd-unet');
      await page.getByLabel('Model B').selectOption('brain-mri-s4nd-unet');
      await page.getByRole('button', { name: 'Compare' }).click();
    };
    await models();
    await expect
      .poll(() => page.getByTestId('compare-segment-summary').innerText(), { timeout: 60_000 })
      .toMatch(/no reference masks/);
    await page.evaluate((item) => (location.hash = `#/label?item=${item}`), volumeId);
    await page.locator('main h1', { hasText: 'Label' }).waitFor();
    await expect.poll(() => page.getByTestId('item-name').innerText()).toBe('anatomical.nii');
    await page.getByRole('button', { name: /Accept suggested mask/ }).click();
    await expect.poll(maskPixels, { timeout: 20_000 }).toBeGreaterThan(0);
    await page.getByText('All changes saved').waitFor();
    await models();
    await expect
      .poll(() => page.getByTestId('compare-segment-summary').innerText(), { timeout: 60_000 })
      .toMatch(/^Same 1 reference-masked image\/slice of 1 item/);
    const row = page.getByRole('table', { name: 'Dice and IoU per class, both models' }).locator('tbody tr').first();
    const cells = (await row.locator('td').allInnerTexts()).slice(1);
    expect(cells[0]).toBe(cells[1]); // the same model twice: the same Dice
    expect(Number(cells[0])).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  }, 300_000);
});
