// The WebGPU backend end to end, in browser mode: the app starts with the SwiftShader Vulkan driver in its
// environment (its job processes inherit it), the user selects WebGPU in Settings, trains a tiny classifier from the
// Train view and runs the classifier on an item from the Label view; both jobs run on webgpu (the suggestion on
// onnxruntime's WebGPU EP, after the parity check on it), as does a Results evaluation (in the results worker, a child
// of the app's main process, which itself never maps dawn.node). What the UI does not
// show (the finished jobs' results, the card's lineage.backend) is read with the same WebSocket contract calls the
// UI makes (jobs.list, models.get). SwiftShader is software: nothing here is timed, but it is slow (seconds per
// training step on a shared 2-core machine), hence the tiny run (one 14 px epoch, batch 16) and the long timeouts.
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { InferResult, JobInfo, ModelCard, TrainResult } from '../../contract/index.js';
import { useSwiftShader } from '../gpu/gpu-test-device.js';
import { callOverWebSocket, launchChromium, startApp, type RunningApp } from './harness.js';

let app: RunningApp;
let browser: Browser;
let page: Page;
const problems: string[] = [];

/** Whether process `pid` has dawn.node (the `webgpu` package's Dawn) mapped. */
const dawnMapped = (pid: number): boolean => readFileSync(`/proc/${pid}/maps`, 'utf8').includes('dawn.node');

/** The child processes of `pid` (all its threads' children). */
const childrenOf = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );

/** One contract request over the app's WebSocket, from the page's session. */
const call = <T>(method: string, params: Record<string, unknown>): Promise<T> =>
  callOverWebSocket<T>(page, method, params);

async function nav(name: 'Library' | 'Train' | 'Settings' | 'Results'): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await page.locator('main h1', { hasText: name }).waitFor();
}

beforeAll(async () => {
  // VK_ICD_FILENAMES (SwiftShader) and XDG_RUNTIME_DIR in this process's environment: startApp passes it on.
  useSwiftShader();
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

describe('WebGPU backend in browser mode', () => {
  it('selecting WebGPU in Settings: a training run from the Train view runs on webgpu', async () => {
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Open the demo project' }).click();
    await page.getByText('Imported 47 items.').waitFor({ timeout: 60_000 });

    await nav('Settings');
    // Detection sees SwiftShader (software: listed, not recommended); the user picks WebGPU anyway.
    await expect.poll(() => page.getByTestId('gpu-status').innerText(), { timeout: 30_000 }).toMatch(/software/);
    await page.getByLabel('Compute backend').selectOption('webgpu');
    await expect.poll(async () => (await call<{ backend: string }>('settings.get', {})).backend).toBe('webgpu');

    await nav('Train');
    await page.getByRole('heading', { name: 'New run' }).waitFor();
    await page.getByRole('button', { name: 'Remove stage 2' }).click();
    await page.getByLabel('Stage 1 resolution').fill('14');
    await page.getByLabel('Stage 1 resolution').dispatchEvent('change');
    await page.getByLabel('Stage 1 epochs').fill('1');
    await page.getByLabel('Stage 1 epochs').dispatchEvent('change');
    await page.getByLabel('Batch size').fill('16');
    await page.getByLabel('Run name').fill('gpu run');
    await page.getByRole('button', { name: 'Start training' }).click();
    // The run panel shows the job's progress message: "... loss 2.1 on webgpu (<adapter>)".
    await expect
      .poll(async () => (await page.locator('.train-run__message').allInnerTexts()).join(' '), { timeout: 60_000 })
      .toMatch(/ on webgpu \(/);
    await expect
      .poll(async () => (await page.getByTestId('run-status').innerText()).toLowerCase(), { timeout: 180_000 })
      .toBe('done');

    const jobs = await call<JobInfo[]>('jobs.list', {});
    const train = jobs.find((j) => j.kind === 'train');
    expect(train?.state).toBe('done');
    const result = train?.result as TrainResult;
    expect(result.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    const card = await call<ModelCard>('models.get', { id: result.modelId });
    expect(card.lineage.backend?.used).toBe('webgpu');
    expect(card.lineage.backend?.steps.cpu).toBe(0);
    expect(card.lineage.backend?.steps.webgpu).toBe(result.steps);
    console.log(`train job: ${result.steps} steps on webgpu (${card.lineage.backend?.adapter ?? '?'})`);
  }, 300_000);

  it('runs the classifier on an item with WebGPU selected: the infer job runs on webgpu', async () => {
    await nav('Library');
    await page.getByLabel('Search by name').fill('t10k-00018.png');
    await expect.poll(() => page.locator('.library-browser__count').innerText()).toMatch(/^1 item/);
    await page
      .getByRole('listbox', { name: 'Library items' })
      .getByRole('option', { name: /^t10k-00018\.png,/ })
      .dblclick();
    await page.locator('main h1', { hasText: 'Label' }).waitFor();
    await page.getByRole('button', { name: 'Suggest a class with the classifier' }).click();
    await page.getByTestId('suggestion').locator('li').first().waitFor({ timeout: 120_000 });
    const infer = (await call<JobInfo[]>('jobs.list', {})).find((j) => j.kind === 'infer');
    expect(infer?.state).toBe('done');
    // The shipped classifier has an ONNX file: onnxruntime's WebGPU EP (SwiftShader), after the parity check on it.
    expect(infer?.progress.message).toMatch(/^done on onnxruntime webgpu \(.*swiftshader/i);
    expect((infer?.result as InferResult).backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expect((infer?.result as InferResult).runtime).toEqual(['onnx-webgpu']);
    expect(problems).toEqual([]);
  }, 180_000);

  it('a Results evaluation with WebGPU selected runs on onnxruntime webgpu and the view says so', async () => {
    await nav('Results');
    await page.getByLabel('Model').selectOption('fashion-mnist-s4nd');
    await page.getByLabel('Input sizes').fill('28');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await expect
      .poll(() => page.getByTestId('classify-summary').innerText(), { timeout: 120_000 })
      .toMatch(/accuracy on \d+ images/);
    expect(await page.getByTestId('results-backend').innerText()).toMatch(
      /^Ran on onnxruntime webgpu \(.*swiftshader/i,
    );
    // It ran in the results worker, a child of the app's main process: Dawn is mapped there, never in the main process.
    const main = app.child.pid as number;
    expect(dawnMapped(main)).toBe(false);
    expect(childrenOf(main).some(dawnMapped)).toBe(true);
    expect(problems).toEqual([]);
  }, 180_000);
});
