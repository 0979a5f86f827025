// The project workflows a user goes through on the shipped demo data: open the demo project (an import job), browse
// the library (filters, search, multi-select), bulk-assign a class, open each viewer kind and use its controls,
// label with number keys, paint masks on an image and a volume slice, review, undo/redo, reload and find it all saved;
// then a 10,000-item project whose grid keeps only a window of tiles in the DOM.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ProjectStore } from '../../main/project/store.js';
import { mediaInfo } from '../project/media-info.js';
import { launchChromium, ROOT, SHOTS, startApp, UPDATE_SCREENSHOTS, type RunningApp } from './harness.js';

const COMMITTED = path.join(ROOT, 'test', 'e2e', 'screenshots');
const DEMO_ITEMS = 47; // 40 Fashion-MNIST + 3 photos + 1 video + MR series + CT slice + NIfTI volume

let app: RunningApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

async function shot(name: string, keep = false): Promise<void> {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  if (!keep || !UPDATE_SCREENSHOTS) return;
  // The committed copy stays under 300 KB: lossless at maximum compression, else a 256-colour palette.
  const lossless = await sharp(file).png({ compressionLevel: 9, effort: 10 }).toBuffer();
  const small = lossless.length < 250_000 ? lossless : await sharp(file).png({ palette: true, quality: 95 }).toBuffer();
  await writeFile(path.join(COMMITTED, `${name}.png`), small);
}

const count = (): Promise<string> => page.locator('.library-browser__count').innerText();
const grid = (): Locator => page.getByRole('listbox', { name: 'Library items' });
const tiles = (): Locator => grid().getByRole('option');
const tile = (name: string | RegExp): Locator =>
  grid().getByRole('option', { name: typeof name === 'string' ? new RegExp(`^${name.replace('.', '\\.')},`) : name });

async function library(): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library' }).click();
  await page.locator('main h1', { hasText: 'Library' }).waitFor();
}

async function resetFilters(): Promise<void> {
  await page.getByLabel('Search by name').fill('');
  await page.getByLabel('Label status').selectOption('all');
  await page.getByLabel('Class', { exact: true }).selectOption({ label: 'Any' });
  await page.getByLabel('Split').selectOption({ label: 'Any' });
  await page.getByLabel('Kind').selectOption('all');
  await expect.poll(count).toMatch(new RegExp(`^${DEMO_ITEMS} items`));
}

/** Opens an item from the library by double-clicking its tile (after searching for it). */
async function openItem(name: string): Promise<void> {
  await library();
  await page.getByLabel('Search by name').fill(name);
  await expect.poll(count).toMatch(/^1 item/);
  await tile(name).dblclick();
  await page.locator('main h1', { hasText: 'Label' }).waitFor();
  await expect.poll(() => page.getByTestId('item-name').innerText()).toBe(name);
}

/** Drags across the middle of the viewer canvas (a brush stroke with the brush tool). */
async function stroke(dx = 120): Promise<void> {
  await expect.poll(() => page.getByTestId('mask-pixels').innerText()).not.toBe('Loading the mask…');
  const box = await page.locator('.viewer-stage canvas').boundingBox();
  if (!box) throw new Error('no viewer canvas');
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width / 2 - dx / 2, y);
  await page.mouse.down();
  for (let i = 1; i <= 8; i += 1) await page.mouse.move(box.x + box.width / 2 - dx / 2 + (dx * i) / 8, y);
  await page.mouse.up();
}

const maskPixels = async (): Promise<number> =>
  Number(((await page.getByTestId('mask-pixels').innerText()).match(/([\d,]+) pixels/)?.[1] ?? '0').replace(/,/g, ''));

async function thumbnailsLoaded(): Promise<void> {
  await expect.poll(() => grid().locator('.library-tile__loading').count(), { timeout: 20_000 }).toBe(0);
}

async function saved(): Promise<void> {
  await page.getByText('All changes saved').waitFor();
}

/** The mask pixel count once a stroke has finished (two reads 300 ms apart agree) and its edit is saved. */
async function settledPixels(): Promise<number> {
  let last = -1;
  await expect
    .poll(
      async () => {
        const now = await maskPixels();
        const same = now === last;
        last = now;
        return same;
      },
      { interval: 300 },
    )
    .toBe(true);
  await saved();
  return last;
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  await mkdir(COMMITTED, { recursive: true });
  app = await startApp();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1360, height: 860 }, colorScheme: 'light' });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
});

afterAll(async () => {
  await browser?.close();
  const code = await app?.stop();
  if (app) await rm(app.tmp, { recursive: true, force: true });
  expect(code, `the app did not stop cleanly:\n${app?.output()}`).toBe(0);
});

describe('projects, library, viewers and labeling', () => {
  it('opens the demo project: the samples are imported as a job with progress', async () => {
    await page.goto(app.url);
    await page.getByRole('heading', { name: 'Open a project' }).waitFor();
    await shot('project-open-light', true);
    await page.getByRole('button', { name: 'Open the demo project' }).click();
    const job = page.locator('.job-tray li.job-item').filter({ hasText: /import/i });
    await job.waitFor();
    await job.getByRole('progressbar').waitFor();
    await job.locator('.job-item__state', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    await page.getByText(`Imported ${DEMO_ITEMS} items.`).waitFor();
    await expect.poll(count).toBe(`${DEMO_ITEMS} items`);
    await page.getByText(`${DEMO_ITEMS} items · 40 labels`).waitFor();
    await tile('camera.png').locator('img').waitFor();
    await tile('t10k-00018.png').getByText('bag').waitFor();
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await thumbnailsLoaded();
    await shot('library-light', true);
    // Label without a chosen item opens the library's first one.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Label' }).click();
    await expect.poll(() => page.getByTestId('item-name').innerText()).toBe('t10k-00000.png');
    await library();
  });

  it('filters by kind, label status, class and split, and searches by name', async () => {
    await page.getByLabel('Kind').selectOption('volume');
    await expect.poll(count).toBe('3 items');
    expect(await tiles().count()).toBe(3);
    await page.getByLabel('Kind').selectOption('video');
    await expect.poll(count).toBe('1 item');
    await tile('vtest-4s.mp4').waitFor();
    await page.getByLabel('Kind').selectOption('image');
    await expect.poll(count).toBe('43 items');
    await page.getByLabel('Label status').selectOption('unlabeled');
    await expect.poll(count).toBe('3 items'); // the photos: Fashion-MNIST came with classes from its folders
    await page.getByLabel('Label status').selectOption('labeled');
    await expect.poll(count).toBe('40 items');
    await page.getByLabel('Class', { exact: true }).selectOption('sandal');
    await expect.poll(count).toBe('4 items');
    await page.getByLabel('Split').selectOption('train');
    await expect.poll(count).toBe('0 items');
    await page.getByText('No items match these filters.').waitFor();
    await resetFilters();
    await page.getByLabel('Label status').selectOption('predicted');
    await page.getByText('No model predictions are stored in this project yet.').waitFor();
    await page.getByLabel('Label status').selectOption('all');
    await page.keyboard.press('/');
    await page.keyboard.type('chel');
    await expect.poll(count).toBe('1 item');
    await tile('chelsea.png').waitFor();
    await resetFilters();
  });

  it('selects with click, shift-click, ctrl-click and select all; bulk-assigns a class with a number key', async () => {
    await tiles().nth(0).click();
    await expect.poll(count).toBe(`${DEMO_ITEMS} items · 1 selected`);
    await tiles()
      .nth(4)
      .click({ modifiers: ['Shift'] });
    await expect.poll(count).toBe(`${DEMO_ITEMS} items · 5 selected`);
    await tiles()
      .nth(7)
      .click({ modifiers: ['Control'] });
    await expect.poll(count).toBe(`${DEMO_ITEMS} items · 6 selected`);
    await tiles()
      .nth(7)
      .click({ modifiers: ['Control'] });
    await expect.poll(count).toBe(`${DEMO_ITEMS} items · 5 selected`);
    expect(await page.locator('[role="option"][aria-selected="true"]').count()).toBe(5);
    await page.getByRole('button', { name: 'Select all' }).click();
    await expect.poll(count).toBe(`${DEMO_ITEMS} items · ${DEMO_ITEMS} selected`);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Clear selection' }).click();
    await expect.poll(count).toBe(`${DEMO_ITEMS} items`);

    // The three photos get class 2 (bag, in key order) in one edit.
    await page.getByLabel('Search by name').fill('photos/');
    await expect.poll(count).toBe('3 items');
    await grid().focus();
    await page.keyboard.press('Control+a');
    await expect.poll(count).toBe('3 items · 3 selected');
    await page.keyboard.press('2');
    await tile('camera.png').getByText('bag').waitFor();
    await tile('retina.jpg').getByText('bag').waitFor();
    await page.getByText(`${DEMO_ITEMS} items · 43 labels`).waitFor();
    await shot('library-bulk-light');
    await resetFilters();
    await page.getByLabel('Class', { exact: true }).selectOption('bag');
    await expect.poll(count).toBe('7 items');
    await resetFilters();
  });

  it('image viewer: zoom, pan, pixel readout; number keys label; brush, eraser and fill paint a saved mask', async () => {
    await openItem('camera.png');
    await page.getByText('8-bit · 512×512').waitFor();
    const zoom = page.locator('.viewer-zoom__value');
    const before = await zoom.innerText();
    await page.getByRole('button', { name: 'Zoom in (+)' }).click();
    await expect.poll(() => zoom.innerText()).not.toBe(before);
    await page.keyboard.press('f');
    await expect.poll(() => zoom.innerText()).toBe(before);
    const box = (await page.locator('.viewer-stage canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.getByTestId('pixel-readout').innerText()).toMatch(/^x \d+, y \d+: value \d+$/);

    // Pan: the hand tool drags the picture (the pixel under the pointer changes).
    await page.keyboard.press('h');
    const at = await page.getByTestId('pixel-readout').innerText();
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 40);
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('pixel-readout').innerText()).not.toBe(at);
    await page.keyboard.press('f');

    // Class with a number key: 3 = coat.
    await page.keyboard.press('3');
    await expect
      .poll(() => page.getByRole('button', { name: 'Label this item: coat (key 3)' }).getAttribute('aria-pressed'))
      .toBe('true');
    await saved();

    await page.keyboard.press('b');
    await stroke();
    await expect.poll(maskPixels).toBeGreaterThan(500);
    const painted = await settledPixels();
    await page.keyboard.press('e');
    await stroke(40);
    await expect.poll(maskPixels).toBeLessThan(painted);
    await settledPixels(); // the whole eraser stroke is one saved edit before it is undone
    await page.keyboard.press('Control+z'); // undo the eraser stroke
    await expect.poll(maskPixels).toBe(painted);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(maskPixels).toBeLessThan(painted);
    await page.keyboard.press('Control+z');
    await expect.poll(maskPixels).toBe(painted);
    // Fill: the unpainted region around the stroke becomes the mask class; undo takes it back.
    await page.keyboard.press('l');
    await page.mouse.click(box.x + box.width / 2, box.y + 30);
    await expect.poll(maskPixels).toBeGreaterThan(200_000);
    await saved();
    await page.keyboard.press('Control+z');
    await expect.poll(maskPixels).toBe(painted);
    await page.keyboard.press('b');
    await page.keyboard.press(']');
    await page.getByText('Size 10px').waitFor();
    await page.getByLabel('Mask opacity').fill('0.7');
    await page.getByText('Opacity 70%').waitFor();

    // Review state and class edits are undoable too, in the same history.
    await page.keyboard.press('a');
    await expect.poll(() => page.getByTestId('review-state').innerText()).toBe('Accepted');
    await saved();
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.getByTestId('review-state').innerText()).toBe('Not reviewed');
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => page.getByTestId('review-state').innerText()).toBe('Accepted');
    await page.keyboard.press('5');
    const pressed = (name: string): Promise<string | null> =>
      page.getByRole('button', { name: new RegExp(`^Label this item: ${name} `) }).getAttribute('aria-pressed');
    await expect.poll(() => pressed('pullover')).toBe('true');
    await saved();
    await page.keyboard.press('Control+z');
    await expect.poll(() => pressed('coat')).toBe('true');
    await saved();
    await page.getByRole('button', { name: 'Redo' }).click();
    await expect.poll(() => pressed('pullover')).toBe('true');
    await saved();
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => pressed('coat')).toBe('true');
    await saved();
    await shot('viewer-image-light', true);
  });

  it('shows the video viewer: frame stepping, scrubbing, timecode, play and pause', async () => {
    await openItem('vtest-4s.mp4');
    const time = page.getByTestId('timecode');
    await expect.poll(() => time.innerText()).toBe('00:00:00.000 · frame 1 / 40');
    await page.getByText('384×288 · 10 fps · 40 frames').waitFor();
    await page.keyboard.press('.');
    await expect.poll(() => time.innerText()).toBe('00:00:00.100 · frame 2 / 40');
    await page.keyboard.press(',');
    await expect.poll(() => time.innerText()).toBe('00:00:00.000 · frame 1 / 40');
    await page.getByRole('slider', { name: 'Frame' }).fill('25');
    await expect.poll(() => time.innerText()).toBe('00:00:02.500 · frame 26 / 40');
    await page.keyboard.press('4'); // class 4 = dress on the whole video
    await expect
      .poll(() => page.getByRole('button', { name: 'Label this item: dress (key 4)' }).getAttribute('aria-pressed'))
      .toBe('true');
    // A frame range: mark in at frame 26, out at frame 30, then a class key labels just those frames.
    await page.keyboard.press('i');
    for (let k = 0; k < 4; k += 1) await page.keyboard.press('.');
    await expect.poll(() => time.innerText()).toBe('00:00:02.900 · frame 30 / 40');
    await page.keyboard.press('o');
    await expect
      .poll(() => page.getByTestId('frame-range').innerText())
      .toBe('Frames 26–30: class keys label this range');
    await page.keyboard.press('6');
    await page.getByRole('list', { name: 'Labelled frame ranges' }).getByText('Frames 26–30: sandal').waitFor();
    await page.keyboard.press('Escape');
    await expect
      .poll(() => page.getByTestId('frame-range').innerText())
      .toBe('No range marked: class keys label the whole video');
    await page.getByRole('button', { name: 'Play (Space)' }).click();
    await expect.poll(() => time.innerText(), { timeout: 15_000 }).toMatch(/frame (2[89]|3\d|40|[1-9]) \/ 40/);
    await page.getByRole('button', { name: 'Pause (Space)' }).click();
    const stopped = await time.innerText();
    await page.waitForTimeout(400);
    expect(await time.innerText()).toBe(stopped);
    await shot('viewer-video-light', true);
  });

  it('shows the volume viewer: slices on each axis, window presets, spacing-aware aspect; paints a slice', async () => {
    await openItem('anatomical.nii');
    await page.getByText('33×41×25 voxels · 2 × 2 × 2 mm').waitFor();
    const axial = page.getByRole('slider', { name: 'Axial (XY) slice' });
    await expect.poll(() => axial.getAttribute('aria-valuetext')).toBe('13 of 25');
    await axial.fill('4');
    await expect.poll(() => page.getByTestId('voxel-readout').innerText()).toBe('Slice 5 of 25');
    await page.keyboard.press('x');
    await expect
      .poll(() => page.locator('.viewer-stage canvas').getAttribute('aria-label'))
      .toBe('Sagittal (YZ) slice 17 of 33');
    await page.getByRole('slider', { name: 'Sagittal (YZ) slice' }).fill('20');
    await expect
      .poll(() => page.locator('.viewer-stage canvas').getAttribute('aria-label'))
      .toBe('Sagittal (YZ) slice 21 of 33');
    await page.keyboard.press('z');
    await page.getByLabel('Window level (center)').fill('300');
    await page.getByLabel('Window level (center)').press('Enter');
    await expect.poll(() => page.getByLabel('Window preset').inputValue()).toBe('custom');
    await page.getByLabel('Window level (center)').blur();
    await page.keyboard.press('b');
    await stroke(60);
    await expect.poll(maskPixels).toBeGreaterThan(5);
    await saved();
    await page.keyboard.press('w');
    await expect.poll(() => page.getByTestId('review-state').innerText()).toBe('Needs work');
    await shot('viewer-volume-light', true);

    // A DICOM series with a window preset from the file, and thick slices: 0.39 mm pixels, 25.9 mm apart.
    await openItem('mr-series');
    await page.getByText('16×16×7 voxels · 0.391 × 0.391 × 25.892 mm').waitFor();
    await expect.poll(() => page.getByLabel('Window level (center)').inputValue()).toBe('149');
    await page.getByLabel('Window preset').selectOption({ label: 'Custom' });
    await page.getByLabel('Window preset').selectOption({ label: 'Preset 1 (149 / 359)' });
    expect(await page.getByLabel('Window width').inputValue()).toBe('359');
    expect(Number(await page.locator('.viewer-stage').getAttribute('data-aspect'))).toBeCloseTo(1, 6);
    await page.keyboard.press('y');
    // A coronal slice is drawn 25.892 / 0.391 times taller per row than wide per column.
    expect(Number(await page.locator('.viewer-stage').getAttribute('data-aspect'))).toBeCloseTo(66.28, 1);
    await shot('viewer-volume-coronal-light');
  });

  it('after a reload, the project, classes, masks and review states are all still there', async () => {
    await openItem('camera.png');
    await expect.poll(maskPixels).toBeGreaterThan(500);
    const painted = await maskPixels();
    await page.reload();
    await page.locator('main h1', { hasText: 'Label' }).waitFor();
    await expect.poll(() => page.getByTestId('item-name').innerText()).toBe('camera.png');
    await expect.poll(maskPixels).toBe(painted);
    await expect.poll(() => page.getByTestId('review-state').innerText()).toBe('Accepted');
    expect(await page.getByRole('button', { name: 'Label this item: coat (key 3)' }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    await openItem('anatomical.nii');
    await page.getByRole('slider', { name: 'Axial (XY) slice' }).fill('4');
    await expect.poll(maskPixels).toBeGreaterThan(5);
    await expect.poll(() => page.getByTestId('review-state').innerText()).toBe('Needs work');
    await library();
    await page.getByText(`${DEMO_ITEMS} items · 45 labels · 2 masks`).waitFor();
  });

  it('runs the shipped classifier on an item, shows its suggestions with confidence and accepts one with "s"', async () => {
    await openItem('t10k-00018.png');
    await page.getByTestId('suggestions').waitFor();
    await page.keyboard.press('3'); // coat, so that accepting the suggestion visibly changes it
    await saved();
    await page.getByRole('button', { name: 'Suggest a class with the classifier' }).click();
    const first = page.getByTestId('suggestion').locator('li').first();
    await first.waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('suggestion').locator('li').count()).toBe(3);
    expect(await first.innerText()).toMatch(/^\S.*\s\d{1,3}\.\d%$/);
    const topClass = (await first.locator('.label-suggest__name').innerText()).trim();
    expect(topClass).toBe('bag'); // the model's "Bag", matched to the project's class
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await page.getByTestId('suggestion').scrollIntoViewIfNeeded();
    await shot('label-suggestions-light', true);
    await page.keyboard.press('s');
    await expect
      .poll(() => page.getByRole('button', { name: /^Label this item: bag / }).getAttribute('aria-pressed'))
      .toBe('true');
    await saved();
    await library();
    await page.getByLabel('Label status').selectOption('predicted');
    await expect.poll(count).toBe('1 item');
    await tile('t10k-00018.png').waitFor();
    await page.getByLabel('Label status').selectOption('all');
  });

  it('reads 16-bit images at full depth and windows them', async () => {
    const dir = path.join(app.tmp, 'deep');
    await mkdir(dir, { recursive: true });
    const w = 64;
    const samples = new Uint16Array(w * w);
    for (let i = 0; i < samples.length; i += 1) samples[i] = 1000 + (i % w) * 500; // 1000 … 32500 across x
    await sharp(samples, { raw: { width: w, height: w, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(path.join(dir, 'deep16.png'));
    await library();
    await page.getByLabel('Import files or folders').fill(dir);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('Imported 1 item.').waitFor({ timeout: 30_000 });
    await openItem('deep16.png');
    await page.getByText('16-bit · 64×64').waitFor();
    expect(await page.getByLabel('Window level (center)').inputValue()).toBe('16750');
    expect(await page.getByLabel('Window width').inputValue()).toBe('31500');
    const box = (await page.locator('.viewer-stage canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2 + box.height * 0.4, box.y + box.height / 2); // right part: bright
    await expect.poll(() => page.getByTestId('pixel-readout').innerText()).toMatch(/value (3\d{4}|2\d{4})$/);
    await page.getByLabel('Window width').fill('2000');
    await page.getByLabel('Window width').blur();
    await shot('viewer-image16-light');
  });

  it('imports dropped files by copying their bytes into the project, and says which ones it cannot take', async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c83' } })
      .png()
      .toBuffer();
    await library();
    await page.locator('form.library-import').evaluate(
      (form, bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'dropped-orange.png', { type: 'image/png' }));
        dt.items.add(new File([new Uint8Array(3 * 1024 * 1024)], 'too-big.png', { type: 'image/png' }));
        form.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        form.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [...png],
    );
    await page.getByText("Copied 1 dropped file into the project's imported folder; importing.").waitFor();
    await page.getByText('Not imported: too-big.png (3.0 MiB, over 2.5 MiB: import its folder by path).').waitFor();
    await page.getByText('Imported 1 item.').waitFor({ timeout: 30_000 });
    await page.getByLabel('Search by name').fill('dropped-orange');
    await expect.poll(count).toBe('1 item');
    expect(await tile('dropped-orange.png').getAttribute('title')).toMatch(
      /\/projects\/demo\/imported\/dropped-orange\.png$/,
    );
    await page.getByLabel('Search by name').fill('');
    await page.getByLabel('Import files or folders').fill('relative/folder');
    await page.getByText('Use full paths: relative/folder').waitFor();
    expect(await page.getByRole('button', { name: 'Import', exact: true }).isDisabled()).toBe(true);
    await page.getByLabel('Import files or folders').fill('');
    await page.getByLabel('Import files or folders').blur();
  });

  it('lists every shortcut in the help overlay and looks right in the dark theme', async () => {
    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    for (const text of [
      'Assign class 1–10 to every selected item',
      'Pan, brush, eraser, fill',
      'Redo',
      'Play or pause',
    ])
      await dialog.getByText(text).first().waitFor();
    await shot('help-overlay-light', true);
    await page.keyboard.press('Escape');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('System', { exact: true }).check();
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await library();
    await page.getByLabel('Search by name').fill('');
    await expect.poll(count).toBe(`${DEMO_ITEMS + 2} items`);
    await tile('camera.png').locator('img').waitFor();
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await thumbnailsLoaded();
    await shot('library-dark', true);
    await openItem('camera.png');
    await expect.poll(maskPixels).toBeGreaterThan(500);
    await shot('viewer-image-dark', true);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('keeps only a window of a 10,000-item project in the DOM and scrolls through it', async () => {
    const dir = path.join(app.tmp, 'big');
    const sample = path.join(ROOT, 'samples', 'images', 'fashion-mnist', 'bag', 't10k-00018.png');
    const info = mediaInfo({ path: sample, width: 28, height: 28 });
    // 10,000 real files (copies of one 28×28 PNG), so the tiles in view show real thumbnails.
    const files = path.join(app.tmp, 'big-files');
    await mkdir(files, { recursive: true });
    const bytes = await readFile(sample);
    const names = Array.from({ length: 10_000 }, (_, i) =>
      path.join(files, `t10k-00018-${String(i).padStart(5, '0')}.png`),
    );
    for (let i = 0; i < names.length; i += 500)
      await Promise.all(names.slice(i, i + 500).map((f) => writeFile(f, bytes)));
    const store = ProjectStore.open(dir);
    store.db.transaction(() => {
      names.forEach((file, i) => store.addItem({ path: file, hash: `big${i}`, info: { ...info, path: file } }));
    })();
    store.close();

    await library();
    await page.getByRole('button', { name: 'Switch project' }).click();
    await page.getByLabel('Project folder').fill(dir);
    await page.getByRole('button', { name: 'Create or open' }).click();
    await expect.poll(count).toBe('10000 items');
    const inDom = await tiles().count();
    expect(inDom).toBeGreaterThan(10);
    expect(inDom).toBeLessThan(200);
    await grid().evaluate((el) => (el.scrollTop = el.scrollHeight));
    await tile(/t10k-00018-09999\.png,/).waitFor();
    expect(await tiles().count()).toBeLessThan(200);
    await grid().evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
    await tile(/t10k-00018-0(49|50)\d\d\.png,/)
      .first()
      .waitFor();
    // Keyboard: End focuses the last item, Shift+Home selects everything up to the first.
    await grid().focus();
    await page.keyboard.press('End');
    await page.keyboard.press('Space');
    await expect.poll(count).toBe('10000 items · 1 selected');
    await page.keyboard.press('Control+a');
    await expect.poll(count).toBe('10000 items · 10000 selected');
    await thumbnailsLoaded();
    await shot('library-10k-light', true);
    await page.keyboard.press('Escape');

    // The demo project is one click away in the recent list (main keeps it, so it survives restarts too).
    await page.getByRole('button', { name: 'Switch project' }).click();
    await page.getByRole('button', { name: /data\/projects\/demo$/ }).click();
    await expect.poll(count).toBe(`${DEMO_ITEMS + 2} items`);
  });

  it('logged no errors, warnings or CSP violations in the page', () => {
    expect(problems).toEqual([]);
  });
});
