// The model commands through the real launcher (bin/ssm-studio.js -> dist/) with the shipped default models in
// models/: models list, classify (Fashion-MNIST test images as PNG), segment (the ch2 T1 volume -> NIfTI on its
// grid; a slice PNG -> PNG), interpolate (tree.avi ×2 -> mp4; any factor / fps in interp-cli.test.ts), train on an imported project (progress on stderr)
// and classify with the trained model; the infer job saving suggestions. Needs `node scripts/build.mjs main`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { InferResult, JobInfo, ModelCard, Suggestion } from '../../contract/index.js';
import { ROOT } from '../../main/app/paths.js';
import { readNifti } from '../../main/media/nifti.js';
import { probeVideo } from '../../main/media/video.js';
import { JobHost } from '../../main/jobs/job-host.js';
import { readIdx, fashionMnistDir } from '../engine/fashion-mnist.js';
import { CH2, CH2BET, ensurePackage, FASHION_CLASSES, TREE } from './data.js';
import { fashionProject } from './project-fixture.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssm-models-cli-'));
const dataDir = path.join(tmp, 'data');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/ssm-studio.js'), ...args], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, SSM_DATA_DIR: dataDir },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const images: { file: string; label: number }[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/main/cli/index.js')))
    throw new Error('dist/ is missing: run `node scripts/build.mjs main`');
  ensurePackage('mricron-data', CH2);
  ensurePackage('opencv-doc', TREE);
  const dir = fashionMnistDir();
  const img = readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
  const lab = readIdx(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
  for (let i = 0; i < 20; i++) {
    const file = path.join(tmp, `test-${i}.png`);
    await sharp(Buffer.from(img.data.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(file);
    images.push({ file, label: lab.data[i] as number });
  }
});

describe('ssm-studio model commands', () => {
  it('models list --json shows the shipped defaults with their cards', () => {
    const r = cli('models', 'list', '--json');
    expect(r.code).toBe(0);
    const cards = JSON.parse(r.stdout) as ModelCard[];
    const ids = cards.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['fashion-mnist-s4nd', 'brain-mri-s4nd-unet', 'frame-interp-s4nd']));
    const f = cards.find((c) => c.id === 'fashion-mnist-s4nd') as ModelCard;
    expect(f.builtin).toBe(true);
    expect(f.classes[0]).toBe('T-shirt/top');
    expect(f.metrics.map((m) => m.size)).toEqual([28, 14, 56]);
    expect(f.onnx?.parity.every((p) => p.ok)).toBe(true);
  });

  it('classify --json prints one JSON line per file with the top classes (default model, native 28 px and --size 56)', () => {
    const r = cli('classify', ...images.map((i) => i.file), '--json');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; top: { index: number; label: string; p: number }[] });
    expect(lines.length).toBe(20);
    console.log('classify sample line:', JSON.stringify(lines[0]));
    const right = lines.filter((l, i) => l.top[0]?.index === images[i]?.label).length;
    expect(lines[0]?.top[0]?.label).toBe(FASHION_CLASSES[lines[0]?.top[0]?.index ?? 0]);
    expect(right).toBeGreaterThanOrEqual(15); // the default model scores ~85-90% on the test set
    const big = cli('classify', ...images.slice(0, 10).map((i) => i.file), '--size', '56', '--json');
    expect(big.code).toBe(0);
    expect(big.stdout.trim().split('\n').length).toBe(10);
  });

  it('segment a NIfTI volume -> NIfTI mask on the same grid; Dice against ch2bet', async () => {
    const out = path.join(tmp, 'brain.nii.gz');
    const r = cli('segment', CH2, '-o', out, '--json');
    expect(r.code).toBe(0);
    console.log('segment summary:', r.stdout.trim());
    const summary = JSON.parse(r.stdout) as { kind: string; slices: number };
    expect(summary.kind).toBe('nifti');
    const mask = await readNifti(out);
    const ref = await readNifti(CH2BET);
    expect(mask.header.dims).toEqual(ref.header.dims);
    expect(mask.header.affine).toEqual(ref.header.affine);
    let inter = 0,
      p = 0,
      t = 0;
    for (let i = 0; i < mask.volume.data.length; i++) {
      const a = (mask.volume.data[i] as number) > 0 ? 1 : 0;
      const b = (ref.volume.data[i] as number) > 0 ? 1 : 0;
      inter += a * b;
      p += a;
      t += b;
    }
    const dice = (2 * inter) / (p + t);
    console.log(`whole-volume Dice vs ch2bet: ${dice.toFixed(4)}`);
    expect(dice).toBeGreaterThan(0.85);
  });

  it('segment a DICOM series folder -> NIfTI mask with the series dimensions', async () => {
    const series = path.join(ROOT, 'samples', 'medical', 'mr-series');
    const out = path.join(tmp, 'mr-mask.nii.gz');
    const r = cli('segment', series, '-o', out, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { kind: string; width: number; height: number; slices: number };
    const mask = await readNifti(out);
    expect(s.kind).toBe('nifti');
    expect(mask.header.dims).toEqual([s.width, s.height, s.slices]);
  });

  it('segment a PNG slice -> PNG mask of the same size', async () => {
    const vol = (await readNifti(CH2)).volume;
    const [nx, ny] = vol.dims;
    const k = 90;
    const px = new Uint8Array(nx * ny);
    let max = 0;
    for (let i = 0; i < nx * ny; i++) max = Math.max(max, vol.data[k * nx * ny + i] as number);
    for (let i = 0; i < nx * ny; i++) px[i] = Math.round(((vol.data[k * nx * ny + i] as number) / max) * 255);
    const file = path.join(tmp, 'slice.png');
    await sharp(px, { raw: { width: nx, height: ny, channels: 1 } })
      .png()
      .toFile(file);
    const out = path.join(tmp, 'slice-mask.png');
    const r = cli('segment', file, '-o', out, '--json');
    expect(r.code).toBe(0);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([nx, ny]);
    expect((JSON.parse(r.stdout) as { foreground: number }).foreground).toBeGreaterThan(0.2);
  });

  it('interpolate tree.avi --factor 2 -> mp4 with 2n-1 frames at twice the rate; --fps 0 is refused', async () => {
    const out = path.join(tmp, 'tree-x2.mp4');
    const r = cli('interpolate', TREE, '--factor', '2', '-o', out, '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/frames/);
    const info = await probeVideo(out);
    const src = await probeVideo(TREE);
    expect(info.frames).toBe(2 * src.frames - 1);
    expect(info.fps).toBeCloseTo(2 * src.fps, 1);
    console.log('interpolate summary:', r.stdout.trim());
    const bad = cli('interpolate', TREE, '--fps', '0', '-o', out, '--json');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/frame rate must be a number > 0/);
  });

  it('train --project --schedule 14:1,28:1 registers a model (progress on stderr); classify --model uses it; infer saves suggestions', async () => {
    const project = await fashionProject(path.join(tmp, 'p'), [0, 1, 8], 32, 8);
    const r = cli(
      'train',
      '--project',
      project,
      '--task',
      'classify',
      '--schedule',
      '14:1,28:1',
      '--batch-size',
      '16',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stage 1\/2 \(14px\)/);
    const res = JSON.parse(r.stdout) as { modelId: string; card: ModelCard };
    expect(res.card.trainingResolutions).toEqual([14, 28]);
    const c = cli('classify', images[0]?.file as string, '--model', res.modelId, '--json');
    expect(c.code).toBe(0);
    expect((JSON.parse(c.stdout) as { top: unknown[] }).top.length).toBe(3);
    // The infer job (its own process, as in the app) saves the predictions as suggestions in the project.
    const host = new JobHost({ cacheDir: path.join(tmp, 'cache'), dataDir });
    const job = host.start({ kind: 'infer', params: { project, task: 'classify', model: res.modelId } });
    const finished = await new Promise<JobInfo>((resolve) => {
      const on = (j: JobInfo): void => {
        if (j.id === job.id && j.finishedAt !== null) resolve(j);
      };
      host.on('job', on);
    });
    await host.dispose();
    expect(finished.state).toBe('done');
    const inf = finished.result as InferResult;
    const sugg = JSON.parse(readFileSync(inf.file, 'utf8')) as Suggestion[];
    expect(sugg.length).toBe(120);
    expect(sugg[0]?.kind).toBe('class');
    // models export / delete / import round trip.
    const exp = path.join(tmp, 'exported');
    expect(cli('models', 'export', res.modelId, exp).code).toBe(0);
    expect(cli('models', 'delete', res.modelId).code).toBe(0);
    const imp = cli('models', 'import', exp, '--json');
    expect(imp.code).toBe(0);
    expect((JSON.parse(imp.stdout) as ModelCard).lineage.datasetHash).toBe(res.card.lineage.datasetHash);
    mkdirSync(path.join(tmp, 'x'), { recursive: true });
    writeFileSync(path.join(tmp, 'x', 'card.json'), '{}');
    expect(cli('models', 'import', path.join(tmp, 'x')).code).toBe(1);
  });
});
