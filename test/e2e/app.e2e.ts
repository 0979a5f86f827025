// What a user does and sees: open the printed URL, visit every view, switch the theme, run thumbnail jobs,
// watch progress, cancel, reload mid-job and find the tray still following the job, let it finish.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchChromium, makeImageFolder, SHOTS, startApp, type RunningApp } from './harness.js';

const IMAGES = 500;
const VIEWS = [
  { label: 'Library', digit: '1', text: 'Open a project' },
  { label: 'Label', digit: '2', text: 'No project open' },
  { label: 'Train', digit: '3', text: 'No project open' },
  { label: 'Results', digit: '4', text: 'No project open' },
  { label: 'Models', digit: '5', text: 'Registered models' },
  { label: 'Settings', digit: '6', text: 'Offline' },
] as const;

let app: RunningApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let folder: string;
const problems: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function heading(): Promise<string> {
  return (await page.locator('main h1').textContent()) ?? '';
}

/** The progress value the tray shows for a job item (aria-valuenow of its progress bar). */
async function progressOf(item: Locator): Promise<number> {
  return Number(await item.getByRole('progressbar').getAttribute('aria-valuenow'));
}

function jobItem(state: 'Running' | 'Cancelled' | 'Done' | 'Failed'): Locator {
  return page.locator('.job-tray li.job-item').filter({ has: page.locator('.job-item__state', { hasText: state }) });
}

async function startThumbnails(): Promise<void> {
  await page.getByRole('link', { name: 'Library' }).click();
  await page.getByLabel('Folder', { exact: true }).fill(folder);
  await page.getByRole('button', { name: 'Create thumbnails' }).click();
  await page.getByText(`Started thumbnails for ${folder}.`).waitFor();
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  app = await startApp();
  folder = await makeImageFolder(app.tmp, IMAGES);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url().replace(/token=[^&#]+/, 'token=…')}`);
  });
});

afterAll(async () => {
  await browser?.close();
  const code = await app?.stop();
  if (app) await rm(app.tmp, { recursive: true, force: true });
  expect(code, `the app did not stop cleanly:\n${app?.output()}`).toBe(0);
});

describe('SSM Studio in browser mode', () => {
  it('prints a loopback URL with a token and refuses requests without it', async () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    // What the browser gets without the token: 403 and nothing else (Chromium shows its own error page).
    const refused = await context.request.get(`${app.origin}/`);
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toBe('');
    const wrong = await context.request.get(`${app.origin}/?token=not-the-token`);
    expect(wrong.status()).toBe(403);
    const asset = await context.request.get(`${app.origin}/favicon.svg`);
    expect(asset.status()).toBe(403);
  });

  it('opens the app and drops the token from the address bar', async () => {
    const res = await page.goto(app.url);
    expect(res?.status()).toBe(200);
    await page.locator('main h1', { hasText: 'Library' }).waitFor();
    expect(page.url()).not.toContain('token=');
    expect(page.url()).toMatch(/#\/library$/);
    await page.getByText('no jobs running').waitFor();
  });

  it('shows every view from the sidebar, with an honest empty state where nothing exists yet', async () => {
    for (const view of VIEWS) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: view.label }).click();
      await page.locator('main h1', { hasText: view.label }).waitFor();
      await page.getByText(view.text, { exact: false }).first().waitFor();
      expect(await page.locator('.app-sidebar__link--active').textContent()).toContain(view.label);
      await shot(`view-${view.label.toLowerCase()}-light`);
    }
    expect(await page.getByText('lorem', { exact: false }).count()).toBe(0);
  });

  it('navigates with the keyboard and documents it on "?"', async () => {
    await page.locator('body').click();
    for (const view of VIEWS) {
      await page.keyboard.press(`Alt+${view.digit}`);
      await expect.poll(heading).toBe(view.label);
    }
    await page.keyboard.press('g');
    await page.keyboard.press('2');
    await expect.poll(heading).toBe('Label');
    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Open Settings');
    await shot('help-overlay');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('shows app info and the offline audit, and switches and persists the theme', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText('Browser mode (local server on 127.0.0.1)').waitFor();
    await page.getByText(/All \d+ recorded connections stayed on this computer/).waitFor();
    const rows = page.getByRole('table', { name: 'Network activity' }).locator('tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await rows.filter({ hasText: 'Listening' }).first().textContent()).toContain('127.0.0.1:');
    expect(await page.locator('html').getAttribute('data-theme')).toBe('light');

    await page.getByLabel('Dark', { exact: true }).check();
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.getByText('Showing the dark theme.').waitFor();
    await shot('view-settings-dark');
    await page.reload();
    await page.getByText('Showing the dark theme.').waitFor();
    expect(await page.getByLabel('Dark', { exact: true }).isChecked()).toBe(true);

    await page.getByLabel('System', { exact: true }).check();
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('light'); // context prefers light
    await page.getByLabel('Light', { exact: true }).check();
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('light');
  });

  it('explains a relative path before starting, and a missing folder in the tray', async () => {
    await page.getByRole('link', { name: 'Library' }).click();
    const input = page.getByLabel('Folder', { exact: true });
    const button = page.getByRole('button', { name: 'Create thumbnails' });
    await input.fill('images');
    await page.getByText('Use a full path').waitFor();
    expect(await button.isDisabled()).toBe(true);
    const missing = `${app.tmp}/no-such-folder`;
    await input.fill(missing);
    await button.click();
    const failed = jobItem('Failed');
    await failed.waitFor({ timeout: 20_000 });
    expect(await failed.textContent()).toContain(`folder not found: ${missing}`);
    await shot('job-failed-light');
  });

  it('runs a thumbnails job with moving progress and cancels it', async () => {
    await startThumbnails();
    const item = jobItem('Running');
    await item.waitFor();
    await expect.poll(() => progressOf(item), { timeout: 30_000 }).toBeGreaterThan(0);
    const first = await progressOf(item);
    await expect.poll(() => progressOf(item), { timeout: 30_000 }).toBeGreaterThan(first);
    expect(await item.textContent()).toMatch(new RegExp(`\\d+ / ${IMAGES}`));
    await item.getByText(/about .* left/).waitFor({ timeout: 15_000 });
    await shot('job-running-light');

    await item.getByRole('button', { name: /^Cancel / }).click();
    const cancelled = jobItem('Cancelled');
    await cancelled.waitFor({ timeout: 20_000 });
    expect(await cancelled.textContent()).toMatch(new RegExp(`Stopped after \\d+ of ${IMAGES}`));
    expect(await progressOf(cancelled)).toBeLessThan(IMAGES);
    expect(await jobItem('Running').count()).toBe(0);
    await shot('job-cancelled-light');
  });

  it('re-attaches to a running job after a reload and follows it to the end', async () => {
    await startThumbnails();
    const item = jobItem('Running');
    await item.waitFor();
    await expect.poll(() => progressOf(item), { timeout: 30_000 }).toBeGreaterThan(0);
    const before = await progressOf(item);
    expect(before).toBeLessThan(IMAGES);

    await page.reload();
    await page.locator('main h1', { hasText: 'Library' }).waitFor();
    const again = jobItem('Running');
    await again.waitFor({ timeout: 10_000 });
    // The tray shows the job where it is now (never behind what we saw before the reload) and keeps moving.
    const after = await progressOf(again);
    expect(after).toBeGreaterThanOrEqual(before);
    await expect.poll(() => progressOf(again), { timeout: 30_000 }).toBeGreaterThan(after);
    expect(await jobItem('Cancelled').count()).toBe(1); // the earlier run, read back from jobs.list
    await shot('job-reattached-light');

    const done = jobItem('Done');
    await done.waitFor({ timeout: 60_000 });
    expect(await done.textContent()).toContain(`${IMAGES} / ${IMAGES}`);
    expect(await done.textContent()).toMatch(/finished in/);
    const runs = page.getByRole('table', { name: 'Finished thumbnail runs' });
    await runs.waitFor();
    expect(await runs.locator('tbody tr').first().textContent()).toContain(String(IMAGES));
    await shot('job-done-light');

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Dark', { exact: true }).check();
    await page.getByRole('link', { name: 'Library' }).click();
    await shot('job-done-dark');
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Light', { exact: true }).check();
  });

  it('logged no errors, warnings or CSP violations in the page', () => {
    expect(problems).toEqual([]);
  });

  it('says so when the app stops, and the app stops cleanly', async () => {
    expect(await app.stop()).toBe(0);
    await page.getByRole('alert').filter({ hasText: 'Connection to SSM Studio lost' }).waitFor({ timeout: 10_000 });
    await shot('connection-lost');
  });
});
