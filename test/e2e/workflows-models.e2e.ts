// The Train, Results and Models workflows on the shipped demo data, driven like a user: train a small classifier
// with a two-stage progressive-resizing schedule and watch its charts grow; pause it, reload the page and find it,
// resume it, quit and restart the app mid-run and resume it from its last checkpoint to the end; train a tiny
// interpolator; evaluate classification (metrics, top-k, accuracy vs resolution), segmentation (overlay, contours,
// Dice/IoU, export) and interpolation (side by side, slider, difference, PSNR per frame, held out at t = 1/2 or at
// 1/3 and 2/3, the frame at a non-dyadic t, export at factor 3); then
// the model cards: rename, export, delete, import, compare.
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { probeVideo } from '../../main/media/video.js';
import { ProjectStore } from '../../main/project/store.js';
import { classifierBytes } from '../models/onnx-import-fixtures.js';
import { launchChromium, ROOT, SHOTS, startApp, UPDATE_SCREENSHOTS, type RunningApp } from './harness.js';

const COMMITTED = path.join(ROOT, 'test', 'e2e', 'screenshots');

let app: RunningApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];
let classifierId = '';
/** Data folders of app instances the test restarted. */
const oldTmps: string[] = [];
/** The demo project's folder (in the first app instance's data folder; the restarted app opens it by path). */
let projectDir = '';
let interpolatorId = '';

/** A screenshot of the view with the job tray folded and a tall window, so the whole view shows. */
async function shot(name: string, keep = false): Promise<void> {
  const file = path.join(SHOTS, `${name}.png`);
  const toggle = page.locator('.job-tray button[aria-expanded="true"]');
  if ((await toggle.count()) > 0) await toggle.first().click();
  await page.setViewportSize({ width: 1360, height: 1500 });
  await page.evaluate(() => document.querySelector('.app-frame__main')?.scrollTo(0, 0));
  await page.waitForTimeout(300); // charts follow the new width
  await page.screenshot({ path: file });
  await page.setViewportSize({ width: 1360, height: 900 });
  if (keep && UPDATE_SCREENSHOTS) await copyFile(file, path.join(COMMITTED, `${name}.png`));
}

async function nav(name: 'Train' | 'Results' | 'Models'): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await page.locator('main h1', { hasText: name }).waitFor();
}

const points = async (chart: Locator): Promise<number> => Number(await chart.getAttribute('data-points'));
const status = async (): Promise<string> => (await page.getByTestId('run-status').innerText()).toLowerCase();

async function setStage(i: number, size: number, epochs: number): Promise<void> {
  await page.getByLabel(`Stage ${i} resolution`).fill(String(size));
  await page.getByLabel(`Stage ${i} resolution`).dispatchEvent('change');
  await page.getByLabel(`Stage ${i} epochs`).fill(String(epochs));
  await page.getByLabel(`Stage ${i} epochs`).dispatchEvent('change');
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  await mkdir(COMMITTED, { recursive: true });
  app = await startApp();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
});

afterAll(async () => {
  await browser?.close();
  const code = await app?.stop();
  for (const dir of [...oldTmps, app?.tmp]) if (dir) await rm(dir, { recursive: true, force: true });
  expect(code, `the app did not stop cleanly:\n${app?.output()}`).toBe(0);
});

describe('train, results and models workflows', () => {
  it('trains with a two-stage schedule: live charts grow; pause, reload, resume, app restart mid-run, resume to the end', async () => {
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Open the demo project' }).click();
    await page.getByText('Imported 47 items.').waitFor({ timeout: 60_000 });

    await nav('Train');
    await page.getByRole('heading', { name: 'New run' }).waitFor();
    // The demo's 40 labelled images have no split folder: all follow the content-hash rule.
    await expect
      .poll(() => page.getByTestId('train-data').innerText())
      .toMatch(/Images by split: train 0 · val 0 · test 0 \(not used\) · none 43\./);
    // The split choice: a content-hash hold-out of half the images changes the counts shown; back to the project's.
    await page.getByLabel('Validation split').selectOption('hash');
    await page.getByLabel('Validation fraction').fill('0.5');
    await expect
      .poll(() => page.getByTestId('train-data').innerText())
      .toMatch(/Images by content-hash hold-out \(50%\): train \d+ · val \d+\./);
    const held = /train (\d+) · val (\d+)\./.exec(await page.getByTestId('train-data').innerText());
    expect(Number(held?.[1]) + Number(held?.[2])).toBe(43);
    expect(Number(held?.[2])).toBeGreaterThan(0);
    await page.getByLabel('Validation split').selectOption('project');
    await expect.poll(() => page.getByTestId('train-data').innerText()).toMatch(/Images by split: train 0 · val 0/);
    // Long enough to pause mid-run on 2 cores (~3 ms per step at these sizes): 180 epochs of 8 steps.
    await setStage(1, 14, 100);
    await setStage(2, 28, 80);
    await page.getByLabel('Batch size').fill('4');
    await page.getByLabel('Patience').fill('1000');
    // Before any run, a timed probe (a few real training steps at 28px) predicts each stage and the time saved.
    await expect
      .poll(() => page.getByTestId('schedule-summary').innerText(), { timeout: 30_000 })
      .toMatch(/saves .+\(\d+%\)\. Measured: timed probe: 3 training steps of 4 at 28px/);
    const stageTimes = await page.getByTestId('stage-time').allInnerTexts();
    expect(stageTimes.every((t) => /^\d+(\.\d)? (ms|s)$|min/.test(t))).toBe(true);
    await page.getByLabel('Run name').fill('demo classifier');
    await page.getByRole('button', { name: 'Start training' }).click();

    const loss = page.getByTestId('chart-loss');
    await expect.poll(() => points(loss), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const before = await points(loss);
    await expect.poll(() => points(loss), { timeout: 30_000 }).toBeGreaterThan(before);
    expect(await points(page.getByTestId('chart-throughput'))).toBeGreaterThan(0);
    await expect.poll(() => points(page.getByTestId('chart-validation')), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByTestId('run-eta').waitFor();
    await shot('train-running');

    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(status, { timeout: 30_000 }).toBe('paused');
    await page.waitForTimeout(500); // the run's history is re-read once its job has ended
    const pausedAt = await points(loss);

    // A reload while paused: the run is listed from the project's run folder, with its curve and its checkpoint.
    await page.reload();
    await page.locator('main h1', { hasText: 'Train' }).waitFor();
    await page.getByTestId('run-row').filter({ hasText: 'demo classifier' }).waitFor();
    await expect.poll(status).toBe('paused');
    await expect.poll(() => points(page.getByTestId('chart-loss'))).toBe(pausedAt);
    const steps = await page.getByTestId('run-steps').innerText();
    expect(steps).toMatch(/^step \d+\/\d+$/);

    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(status, { timeout: 10_000 }).toMatch(/queued|running/);
    await expect.poll(() => points(page.getByTestId('chart-loss')), { timeout: 30_000 }).toBeGreaterThan(pausedAt + 2);

    // Quit the app mid-run and start it again: the run is found in the project folder at its last checkpoint.
    projectDir = path.join(app.tmp, 'data', 'projects', 'demo');
    expect(await app.stop(), `the app did not stop cleanly:\n${app.output()}`).toBe(0);
    oldTmps.push(app.tmp);
    app = await startApp();
    await page.goto(app.url);
    // The old page's socket failed when its app quit: expected, not a problem of the new instance.
    problems.splice(0, problems.length);
    await page.getByLabel('Project folder').fill(projectDir);
    await page.getByRole('button', { name: 'Create or open' }).click();
    await page
      .getByText(/47 items/)
      .first()
      .waitFor();
    await nav('Train');
    await page.getByTestId('run-row').filter({ hasText: 'demo classifier' }).waitFor();
    await expect.poll(status).toBe('paused');
    const [, resumedStep] = /^step (\d+)\//.exec(await page.getByTestId('run-steps').innerText()) ?? [];
    expect(Number(resumedStep)).toBeGreaterThan(0);
    expect(await points(page.getByTestId('chart-validation'))).toBeGreaterThan(0); // the run's epoch history
    expect(await points(page.getByTestId('chart-loss'))).toBeGreaterThan(0); // epoch mean loss from the history
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(status, { timeout: 80_000 }).toMatch(/^(done|failed)$/);
    const failure = await page.locator('.train-run [role="alert"]').allInnerTexts();
    expect(`${await status()} ${failure.join(' ')}`.trim()).toBe('done');
    await page.getByTestId('run-model').waitFor();
    classifierId = ((await page.getByTestId('run-model').locator('strong').innerText()) ?? '').trim();
    expect(classifierId).toMatch(/^[a-z0-9]/);
    expect(await points(page.getByTestId('chart-validation'))).toBe(180); // one point per epoch
    // With a measured run, the schedule editor predicts each stage and the time saved against full resolution.
    await expect.poll(() => page.getByTestId('schedule-summary').innerText()).toMatch(/saves .+\(\d+%\)/);
    expect(await page.getByTestId('stage-time').first().innerText()).not.toBe('—');
    await shot('train-view', true);
  }, 180_000); // ~15-40 s on 2 shared cores; a restart and two resumes on a busy machine take longer

  it('trains a tiny frame interpolator on the demo video', async () => {
    await page.getByLabel('Task').selectOption('interpolate');
    await setStage(1, 8, 1);
    await setStage(2, 16, 1);
    await page.getByLabel('Patience').fill('3');
    await page.getByLabel('Run name').fill('demo interpolator');
    await page.getByRole('button', { name: 'Start training' }).click();
    // This run is short (it may finish between two polls): wait for its panel, then for the end.
    await page.getByRole('heading', { name: 'demo interpolator' }).waitFor({ timeout: 30_000 });
    await expect.poll(status, { timeout: 120_000 }).toBe('done');
    interpolatorId = (await page.getByTestId('run-model').locator('strong').innerText()).trim();
  });

  it('classification results: metrics, top-k, confusion matrix, mistakes, accuracy vs resolution', async () => {
    await nav('Results');
    await page.getByLabel('Model').selectOption('fashion-mnist-s4nd');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await expect
      .poll(() => page.getByTestId('classify-summary').innerText(), { timeout: 60_000 })
      .toMatch(/accuracy on 40 images/);
    expect(await page.getByRole('table', { name: 'Confusion matrix' }).locator('tbody tr').count()).toBe(10);
    expect(
      await page.getByRole('table', { name: 'Per-class precision, recall and F1' }).locator('tbody tr').count(),
    ).toBe(10);
    expect(await points(page.getByTestId('chart-resolution'))).toBe(5);
    expect(await page.getByTestId('topk').locator('.results-bar').count()).toBe(5);
    await shot('results-classify', true);
    // Picking a mistake shows its top-k.
    const mistakes = page.getByRole('list', { name: 'Worst mistakes' }).getByRole('button');
    if ((await mistakes.count()) > 0) {
      await mistakes.first().click();
      await expect.poll(() => page.getByTestId('topk').innerText()).toMatch(/true class/);
    }
  });

  it('segmentation results: overlay with opacity and contours on a volume slice, mask export', async () => {
    await page.getByRole('tab', { name: 'Segmentation' }).click();
    await page.getByLabel('Item to segment').selectOption({ label: 'anatomical.nii (nifti)' });
    await page.getByRole('button', { name: 'Segment' }).click();
    await expect
      .poll(() => page.getByTestId('segment-summary').innerText(), { timeout: 60_000 })
      .toMatch(/labelled brain/);
    await page.getByLabel('Overlay opacity').fill('0.7');
    await page.getByText('Contours only').click();
    await page.getByTestId('segment-reference').waitFor();
    await page.getByRole('button', { name: /Export mask \(NIfTI\)/ }).click();
    const done = await page.getByTestId('mask-exported').innerText({ timeout: 60_000 });
    const file = /to (\/.+\.nii\.gz)$/.exec(done)?.[1] ?? '';
    expect((await stat(file)).size).toBeGreaterThan(100);
    await page.getByText('Contours only').click();

    // A reference mask for this slice (a rectangle, as if painted in Label): Dice and IoU appear against it.
    const summary = await page.getByTestId('segment-summary').innerText();
    const [, w, h, k] = /^(\d+)×(\d+), slice (\d+) of/.exec(summary) ?? [];
    const store = ProjectStore.open(projectDir, { create: false });
    try {
      const item = store.items(0, 100).find((i) => i.path.endsWith('anatomical.nii'));
      const width = Number(w),
        height = Number(h);
      const data = new Uint8Array(width * height);
      for (let y = 5; y < height - 5; y++) for (let x = 4; x < width - 4; x++) data[y * width + x] = 1;
      store.setMask(item?.id ?? 0, 2, Number(k), { width, height, data });
    } finally {
      store.close();
    }
    await page.getByRole('button', { name: 'Segment' }).click();
    const table = page.getByRole('table', { name: 'Dice and IoU against the reference mask' });
    await table.waitFor({ timeout: 60_000 });
    const [dice, iou] = (await table.locator('tbody tr').first().locator('td').allInnerTexts()).slice(1).map(Number);
    expect(dice).toBeGreaterThan(0);
    expect(dice).toBeLessThanOrEqual(1);
    expect(iou).toBeCloseTo((dice ?? 0) / (2 - (dice ?? 0)), 2); // IoU = Dice / (2 − Dice), both to 3 decimals
    await shot('results-segment', true);
  });

  it('interpolation results: held-out PSNR/SSIM, side by side, slider, difference, export', async () => {
    await page.getByRole('tab', { name: 'Interpolation' }).click();
    await page.getByLabel('Model').selectOption(interpolatorId);
    await page.getByLabel('Evaluation width').fill('64');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    await expect
      .poll(() => page.getByTestId('interp-summary').innerText(), { timeout: 90_000 })
      .toMatch(/6 held-out frames at 64×\d+: mean PSNR \d+\.\d+ dB/);
    expect(await points(page.getByTestId('chart-interp'))).toBe(6);
    await page.getByTestId('interp-side').waitFor();
    await page.getByText('Slider', { exact: true }).click();
    await page.getByTestId('interp-slider').waitFor();
    await page.getByLabel('Wipe position').fill('30');
    await page.getByText('Difference heatmap').click();
    await page.getByTestId('interp-diff').locator('canvas').waitFor();
    // Export: any target frame rate > 0 or any integer factor ≥ 2 (not only 2, 4, 8).
    await page.getByLabel('Target fps').fill('0');
    await page.getByLabel('Target fps').dispatchEvent('change');
    await page.getByText('The target frame rate must be a number > 0').waitFor();
    expect(await page.getByRole('button', { name: 'Export video' }).isDisabled()).toBe(true);
    await page.getByLabel('Target fps').fill('');
    await page.getByLabel('Target fps').dispatchEvent('change');
    await page.getByLabel('Factor').fill('2.5');
    await page.getByText('The factor must be an integer ≥ 2.').waitFor();
    await page.getByLabel('Factor').fill('3');
    expect(await page.getByText('The factor must be an integer ≥ 2.').count()).toBe(0);
    await page.getByLabel('Source frames').fill('4');
    await page.getByRole('button', { name: 'Export video' }).click();
    const done = await page.getByTestId('video-exported').innerText({ timeout: 90_000 });
    // 4 frames ×3: 2 new frames in each of the 3 intervals, 3·(4 − 1) + 1 = 10; the 4 source frames kept.
    expect(done).toMatch(/^Wrote 10 frames at \d+\.\d+ fps \(4 source frames kept\) to \//);
    const exported = await probeVideo(/ to (\/.+)$/.exec(done)?.[1] ?? '');
    const source = await probeVideo(path.join(ROOT, 'samples/video/vtest-4s.mp4'));
    expect(exported.frames).toBe(10);
    expect(exported.fps).toBeCloseTo(3 * source.fps, 6);
    // Any timestep in (0, 1): t = 0.3 exactly (1/8 rounding would give 0.25); no real frame exists there.
    await page.getByText('Side by side').click();
    await page.getByLabel('Timestep').fill('1');
    await page.getByText(/The timestep must be a number strictly between 0 and 1/).waitFor();
    expect(await page.getByRole('button', { name: 'Interpolate' }).isDisabled()).toBe(true);
    await page.getByLabel('Timestep').fill('0.3');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    await page.getByText('Predicted, t = 0.3', { exact: true }).waitFor({ timeout: 60_000 });
    expect(await page.getByText('Real frame 1').count()).toBe(0);
    expect(await page.getByText('Predicted, t = 0.25').count()).toBe(0);
    // Two of every three frames held out: 12 frames predicted at t = 1/3 and 2/3 against the real ones.
    await page.getByLabel('Held-out frames per pair').selectOption('3');
    await expect.poll(() => page.getByLabel('Timestep').inputValue()).toBe('1/3');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    await expect
      .poll(() => page.getByTestId('interp-summary').innerText(), { timeout: 90_000 })
      .toMatch(/^12 held-out frames at 64×\d+/);
    expect(await points(page.getByTestId('chart-interp'))).toBe(12);
    await page.getByText('Predicted, t = 0.3333', { exact: true }).waitFor();
    await page.getByText('Real frame 1', { exact: true }).waitFor();
    await page.getByLabel('Held-out frame', { exact: true }).selectOption('5');
    await expect.poll(() => page.getByLabel('Timestep').inputValue()).toBe('2/3');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    await page.getByText('Real frame 5', { exact: true }).waitFor({ timeout: 60_000 });
    await page.getByText('Frame 3', { exact: true }).waitFor();
    await page.getByText('Frame 6', { exact: true }).waitFor();
    await page.getByText('Predicted, t = 0.6667', { exact: true }).waitFor();
    // Back to every odd frame at t = 1/2 for the screenshot.
    await page.getByLabel('Held-out frames per pair').selectOption('2');
    await expect.poll(() => page.getByLabel('Timestep').inputValue()).toBe('0.5');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    await page.getByText('Real frame 1').waitFor({ timeout: 60_000 });
    await expect
      .poll(() => page.getByTestId('interp-summary').innerText(), { timeout: 90_000 })
      .toMatch(/^6 held-out frames at 64×\d+/);
    await shot('results-interpolate', true);
  });

  it('models: cards, rename, export, delete, import, compare', async () => {
    await nav('Models');
    const list = page.getByRole('list', { name: 'Models' });
    await list.getByRole('button', { name: /demo classifier/ }).click();
    const card = page.getByTestId('model-card');
    await expect.poll(() => card.getByTestId('card-lineage').innerText()).toMatch(/14px×100 → 28px×80/);
    expect(await card.getByTestId('card-lineage').innerText()).toMatch(/val, split: project splits\)/);
    expect(await card.getByTestId('card-resolutions').innerText()).toBe('14px, 28px');
    await page.getByLabel('New name').fill('Demo classifier (renamed)');
    await page.getByRole('button', { name: 'Rename' }).click();
    await list.getByRole('button', { name: /Demo classifier \(renamed\)/ }).waitFor();
    const exportDir = path.join(app.tmp, 'exported-model');
    await page.getByLabel('Export folder').fill(exportDir);
    await page.getByRole('button', { name: 'Export (ONNX + card)' }).click();
    await page.getByText(`to ${exportDir}`).waitFor();
    expect((await stat(path.join(exportDir, 'model.onnx'))).size).toBeGreaterThan(1000);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await page.getByText(`Deleted ${classifierId}`).waitFor();
    expect(await list.getByRole('button', { name: /renamed/ }).count()).toBe(0);
    await page.getByLabel('Model folder to import').fill(exportDir);
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByText(/Imported “Demo classifier \(renamed\)”/).waitFor({ timeout: 60_000 });
    await list.getByRole('button', { name: /renamed/ }).waitFor();

    // A plain third-party ONNX classifier with its mapping; a file that is not ONNX gets a clear error.
    const badOnnx = path.join(app.tmp, 'not-a-model.onnx');
    await writeFile(badOnnx, 'this is not an ONNX model');
    await page.getByLabel('Model folder to import').fill(badOnnx);
    await page.getByTestId('onnx-mapping').waitFor();
    await page.getByLabel('ONNX classes').fill('dark, mid, bright');
    await page.getByLabel('ONNX input size').fill('28');
    await page.getByLabel('ONNX channels').fill('1');
    await page.getByLabel('ONNX scores').selectOption('probabilities');
    await page.getByLabel('ONNX model name').fill('Third-party classifier');
    await page.getByRole('button', { name: 'Import' }).click();
    await page
      .getByRole('alert')
      .getByText(/not-a-model\.onnx cannot be imported/)
      .waitFor({ timeout: 60_000 });
    const goodOnnx = path.join(app.tmp, 'third-party.onnx');
    await writeFile(goodOnnx, classifierBytes());
    await page.getByLabel('Model folder to import').fill(goodOnnx);
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByText(/Imported “Third-party classifier”/).waitFor({ timeout: 60_000 });
    await list.getByRole('button', { name: /Third-party classifier/ }).waitFor();
    await expect.poll(() => page.getByTestId('model-card').innerText()).toMatch(/Third-party classifier/);
    // Its card says where it came from, not a training history it does not have.
    expect(await page.getByTestId('card-lineage').innerText()).toMatch(
      /^imported from .*third-party\.onnx \(sha256 [0-9a-f]{12}…\) on \d{4}-\d\d-\d\d; not trained here/,
    );
    await page.getByTestId('card-no-metrics').waitFor();

    await page.getByLabel('Model A').selectOption('fashion-mnist-s4nd');
    const imported = await page.getByLabel('Model B').locator('option', { hasText: 'renamed' }).getAttribute('value');
    await page.getByLabel('Model B').selectOption(imported ?? '');
    await page.getByRole('button', { name: 'Compare' }).click();
    await expect
      .poll(() => page.getByTestId('compare-summary').innerText(), { timeout: 60_000 })
      .toMatch(/Same all split, 40 images: A \d+\.\d% vs B \d+\.\d%/);
    // The screenshot shows the page top: an empty import path folds the ONNX mapping so the comparison fits.
    await page.getByLabel('Model folder to import').fill('');
    await shot('models-view', true);
    expect(problems).toEqual([]);
  });
});
