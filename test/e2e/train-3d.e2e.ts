// The Train view with 3-D architectures on the shipped demo project (one video, three volumes): choosing a 3-D clip
// classifier counts the project's videos by split, a 3-D segmenter its volumes, and going back to a 2-D architecture
// counts images again (main/models/project-data-3d.ts says what each trains on).
import { rm } from 'node:fs/promises';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchChromium, startApp, type RunningApp } from './harness.js';

let app: RunningApp;
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  app = await startApp();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
});

afterAll(async () => {
  await browser?.close();
  const code = await app?.stop();
  if (app?.tmp) await rm(app.tmp, { recursive: true, force: true });
  expect(code, `the app did not stop cleanly:\n${app?.output()}`).toBe(0);
});

describe('Train view with 3-D architectures', () => {
  it('counts videos for a 3-D clip classifier, volumes for a 3-D segmenter, images for a 2-D classifier', async () => {
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Open the demo project' }).click();
    await page.getByText('Imported 47 items.').waitFor({ timeout: 60_000 });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Train' }).click();
    await page.getByRole('heading', { name: 'New run' }).waitFor();
    const data = (): Promise<string> => page.getByTestId('train-data').innerText();
    await expect.poll(data).toMatch(/Images by split: train 0 · val 0 · test 0 \(not used\) · none 43\./);
    const arch = page.getByLabel('Architecture');
    expect(await arch.locator('option').allInnerTexts()).toEqual(
      expect.arrayContaining(['s4nd-classifier3d', 'conv3d-classifier']),
    );
    await arch.selectOption('s4nd-classifier3d');
    await expect.poll(data).toMatch(/Videos by split: train 0 · val 0 · test 0 \(not used\) · none 1\./);
    await page.getByLabel('Task').selectOption('segment');
    await arch.selectOption('s4nd-unet3d');
    await expect.poll(data).toMatch(/Volumes by split: train 0 · val 0 · test 0 \(not used\) · none 3\./);
    await page.getByLabel('Task').selectOption('classify');
    await expect.poll(data).toMatch(/Images by split: train 0 · val 0 · test 0 \(not used\) · none 43\./);
    expect(problems).toEqual([]);
  });
});
