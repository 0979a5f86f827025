// Inference with the WebGPU backend selected, on real onnxruntime (WebGPU EP) on SwiftShader: the shipped classifier
// and brain segmenter run on ORT-WebGPU after the parity check on that EP and match the CPU run; the verdict is cached
// (a second run checks nothing; a corrupt cache file is ignored and rewritten); a model whose ONNX file does not match
// its checkpoint fails the check and falls back to the GPU executor with the reason (the failed verdict cached too);
// an imported ONNX model is checked against onnxruntime CPU and runs on the EP; an EP that cannot start (no Vulkan
// driver, in a child process) falls back cleanly; the Results handlers (as the results worker runs them) and the Train
// probe use the selected backend.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { InferResult, Suggestion } from '../../contract/models.js';
import { resultsHandlers } from '../../main/app/handlers/results.js';
import { ROOT } from '../../main/app/paths.js';
import { Engine } from '../../main/engine/model.js';
import type { ModelSpec } from '../../main/engine/spec.js';
import type { CallContext } from '../../main/ipc/router.js';
import { exportOnnx } from '../../main/onnx/export.js';
import { runInference } from '../../main/models/infer-service.js';
import { ModelManager, PARITY_TOLERANCE } from '../../main/models/manager.js';
import { openOnBackend } from '../../main/models/route.js';
import { disagreement } from '../../main/models/runner.js';
import { WEBGPU_PARITY_FILE, webgpuParityStats, type WebGpuVerdict } from '../../main/models/runner-webgpu.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';
import { useSwiftShader } from '../gpu/gpu-test-device.js';
import { classifierBytes } from './onnx-import-fixtures.js';
import { fashionProject } from './project-fixture.js';

useSwiftShader();

let tmp: string;
let fashion: string;
let brain: string;
let ct: string;
const engine = new Engine();
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-infer-webgpu-'));
  fashion = await fashionProject(path.join(tmp, 'fashion'), [0, 1], 2, 1);
  brain = await importProject('brain', 'samples/medical/anatomical.nii');
  ct = await importProject('ct', 'samples/medical/CT_small.dcm');
}, 120_000);

async function importProject(name: string, file: string): Promise<string> {
  const project = path.join(tmp, name);
  const store = ProjectStore.open(project);
  try {
    await importPaths(store, [path.join(ROOT, file)], {
      signal: new AbortController().signal,
      progress: () => undefined,
    });
  } finally {
    store.close();
  }
  return project;
}
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function managerIn(name: string): ModelManager {
  return new ModelManager({ userDir: path.join(tmp, name, 'models'), cacheDir: path.join(tmp, name, 'cache'), engine });
}

async function infer(
  manager: ModelManager,
  params: Parameters<typeof runInference>[0],
): Promise<{ result: InferResult; messages: string[]; saved: Suggestion[] }> {
  const messages: string[] = [];
  const ctx = {
    signal: new AbortController().signal,
    progress: (_d: number, _t: number, m: string) => messages.push(m),
    manager,
    engine,
  };
  const result = await runInference(params, ctx);
  const saved = JSON.parse(await readFile(result.file, 'utf8')) as Suggestion[];
  return { result, messages, saved };
}

async function verdicts(manager: ModelManager): Promise<Record<string, WebGpuVerdict>> {
  const text = await readFile(path.join(manager.cacheDir, WEBGPU_PARITY_FILE), 'utf8');
  return (JSON.parse(text) as { verdicts: Record<string, WebGpuVerdict> }).verdicts;
}

/** A saved class-index mask's values: PNG pixels, or the voxels after a NIfTI-1 file's 352-byte header. */
async function maskVoxels(file: string): Promise<Uint8Array> {
  if (file.endsWith('.png')) return new Uint8Array(await sharp(file).extractChannel(0).raw().toBuffer());
  return gunzipSync(await readFile(file)).subarray(352);
}

/** Top-k probabilities per item, in item order. */
const classes = (s: Suggestion[]): { itemId: number; top: { label: string; p: number }[] }[] =>
  s.map((x) => {
    if (x.kind !== 'class') throw new Error('expected class suggestions');
    return { itemId: x.itemId, top: x.top.map((t) => ({ label: t.label, p: t.p })) };
  });

describe('inference with WebGPU selected: onnxruntime WebGPU EP', () => {
  it('the shipped classifier runs on ORT-WebGPU after the parity check, matches the CPU run, and the verdict is cached', async () => {
    const manager = managerIn('classify');
    const cpu = await infer(manager, { project: fashion, task: 'classify', backend: 'cpu' });
    expect(cpu.result.backend?.used).toBe('cpu');

    const before = { ...webgpuParityStats };
    const gpu = await infer(manager, { project: fashion, task: 'classify', backend: 'webgpu' });
    expect(gpu.result.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expect(gpu.result.backend?.adapter).toMatch(/swiftshader/i);
    expect(gpu.result.runtime).toEqual(['onnx-webgpu']);
    expect(gpu.messages.at(-1)).toMatch(/^done on onnxruntime webgpu \(.*swiftshader/i);
    expect(webgpuParityStats.checked - before.checked).toBe(1);
    const v = Object.entries(await verdicts(manager));
    expect(v.length).toBe(1);
    const [key, verdict] = v[0] as [string, WebGpuVerdict];
    expect(key).toMatch(/^fashion-mnist-s4nd\|[0-9a-f]{64}\|file\|.*swiftshader/i);
    expect(verdict.ok).toBe(true);
    expect(verdict.sizes.length).toBe(2);
    for (const r of verdict.maxRel) expect(r).toBeLessThanOrEqual(PARITY_TOLERANCE.rel);
    console.log(`fashion-mnist ORT-WebGPU parity: ${JSON.stringify(verdict)}`);

    // Same classes and probabilities as the CPU run (class probabilities from logits within the parity tolerance).
    const a = classes(cpu.saved);
    const b = classes(gpu.saved);
    expect(b.length).toBe(6);
    let worst = 0;
    for (const [i, x] of a.entries()) {
      const y = b[i];
      expect(y?.itemId).toBe(x.itemId);
      expect(y?.top.map((t) => t.label)).toEqual(x.top.map((t) => t.label));
      for (const [j, t] of x.top.entries()) worst = Math.max(worst, Math.abs(t.p - (y?.top[j]?.p ?? NaN)));
    }
    console.log(`fashion-mnist: max |p(ORT-WebGPU) - p(CPU)| over ${b.length} items: ${worst.toExponential(2)}`);
    // Logits within 1e-3 of max|logit| (about 10 here): |Δp| ≤ max|Δlogit| / 2 ≈ 5e-3 at worst.
    expect(worst).toBeLessThan(5e-3);

    // Second run: the verdict is read from the cache, nothing is checked.
    const mid = { ...webgpuParityStats };
    const again = await infer(manager, { project: fashion, task: 'classify', backend: 'webgpu' });
    expect(again.result.runtime).toEqual(['onnx-webgpu']);
    expect(webgpuParityStats.checked).toBe(mid.checked);
    expect(webgpuParityStats.cached).toBe(mid.cached + 1);

    // A corrupt cache file is ignored: the check runs again and the file is rewritten.
    await writeFile(path.join(manager.cacheDir, WEBGPU_PARITY_FILE), '{ "version": 1, "verdicts": [ not json');
    const third = await infer(manager, { project: fashion, task: 'classify', backend: 'webgpu' });
    expect(third.result.backend?.used).toBe('webgpu');
    expect(webgpuParityStats.checked).toBe(mid.checked + 1);
    expect(Object.values(await verdicts(manager)).map((x) => x.ok)).toEqual([true]);
  }, 300_000);

  it('non-uniformly rescaled inputs run on the rate-input export, itself parity-checked on the EP', async () => {
    const manager = managerIn('rate');
    const reg = await manager.get('fashion-mnist-s4nd');
    const routed = await openOnBackend(reg, { backend: 'webgpu', manager, engine });
    const model = await engine.loadModel(reg.checkpoint);
    try {
      // 28×20: per-axis rates 1 and 1.4 in the registered export; the engine (and the rate-input graph) one rate.
      const shape = [2, 1, 28, 20];
      const rate = Math.sqrt(28 / 20);
      const x = Float32Array.from({ length: 2 * 28 * 20 }, (_, i) => Math.sin(i / 7) + 0.3 * Math.cos(i / 3));
      const got = await routed.predictor.predict(x, shape, { rate });
      const ref = await model.predict(x, shape, { rate });
      const e = disagreement(got, ref);
      console.log(`fashion 28x20 (rate-input export on ORT-WebGPU) vs engine: max rel ${e.maxRel.toExponential(2)}`);
      const v = await verdicts(manager);
      expect(Object.keys(v).map((k) => k.split('|')[2])).toEqual(['file', 'rate-input']);
      expect(Object.values(v).map((x) => x.ok)).toEqual([true, true]);
      expect(routed.runtime()).toEqual(['onnx-webgpu']);
      expect(routed.report()).toMatchObject({ used: 'webgpu', reason: null });
      expect(e.maxRel <= PARITY_TOLERANCE.rel || e.maxAbs <= PARITY_TOLERANCE.abs).toBe(true);
    } finally {
      await routed.dispose();
      model.dispose();
    }
  }, 300_000);

  it('the shipped brain segmenter on a 128×128 DICOM slice: passes the check on the EP and runs there; masks match the CPU', async () => {
    const manager = managerIn('segment');
    const cpu = await infer(manager, { project: ct, task: 'segment', backend: 'cpu' });
    const gpu = await infer(manager, { project: ct, task: 'segment', backend: 'webgpu' });
    const verdict = Object.entries(await verdicts(manager)).find(([k]) => k.split('|')[2] === 'file')?.[1];
    if (!verdict) throw new Error('no parity verdict for the registered ONNX file');
    expect(verdict.sizes).toEqual([
      [96, 96],
      [48, 48],
    ]);
    console.log(`brain U-Net ORT-WebGPU parity: ${JSON.stringify(verdict)}`);
    // The exported S4D kernels are generated in float64 (onnxruntime runs that part on its CPU EP), so the check passes
    // on SwiftShader too: max rel ~4e-7 (it failed at 1.5e-3 / 1.2e-3 when the kernels used the GPU's float32 sin/cos).
    expect(verdict.ok).toBe(true);
    for (const r of verdict.maxRel) expect(r).toBeLessThan(1e-5);
    expect(gpu.result.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expect(gpu.result.runtime).toEqual(['onnx-webgpu']);
    expect(gpu.messages.at(-1)).toMatch(/^done on onnxruntime webgpu \(/);
    const [c] = cpu.saved;
    const [g] = gpu.saved;
    if (c?.kind !== 'mask' || g?.kind !== 'mask') throw new Error('expected mask suggestions');
    expect(g.slices).toBe(c.slices);
    const mc = await maskVoxels(c.file);
    const mg = await maskVoxels(g.file);
    expect(mg.length).toBe(mc.length);
    let differ = 0;
    for (let i = 0; i < mc.length; i++) if (mc[i] !== mg[i]) differ++;
    console.log(
      `brain U-Net on a CT slice (${c.slices} slice) ${gpu.messages.at(-1)}: foreground CPU ${c.foreground.toFixed(5)} vs ${g.foreground.toFixed(5)}, ${differ} of ${mc.length} pixels differ`,
    );
    expect(Math.abs(g.foreground - c.foreground)).toBeLessThan(1e-3);
    expect(differ / mc.length).toBeLessThan(1e-3);
    // The route's logits themselves (the mask above may be all background): within the registration tolerance.
    const reg = await manager.get('brain-mri-s4nd-unet');
    const routed = await openOnBackend(reg, { backend: 'webgpu', manager, engine });
    const model = await engine.loadModel(reg.checkpoint);
    try {
      const x = Float32Array.from({ length: 96 * 96 }, (_, i) => Math.sin(i / 7) + 0.3 * Math.cos(i / 3));
      const e = disagreement(await routed.predictor.predict(x, [1, 1, 96, 96]), await model.predict(x, [1, 1, 96, 96]));
      console.log(
        `brain U-Net 96x96 logits on ${routed.describe().split(' — ')[0]} vs engine: max rel ${e.maxRel.toExponential(2)}`,
      );
      expect(e.maxRel).toBeLessThanOrEqual(PARITY_TOLERANCE.rel);
    } finally {
      await routed.dispose();
      model.dispose();
    }
  }, 300_000);
  it('a model whose ONNX file does not match its checkpoint fails the check and runs on the GPU executor, with the reason', async () => {
    const manager = managerIn('tampered');
    const dir = path.join(manager.userDir, 'fashion-tampered');
    await cp(path.join(ROOT, 'models/fashion-mnist-s4nd'), dir, { recursive: true });
    // The same architecture with other weights: loads and runs, computes something else.
    const m = await engine.loadModel(path.join(dir, 'model.safetensors'));
    const other = engine.createModel(m.spec as unknown as ModelSpec, 99);
    m.dispose();
    await writeFile(path.join(dir, 'model.onnx'), exportOnnx(other));
    other.dispose();
    const first = await infer(manager, {
      project: fashion,
      task: 'classify',
      model: 'fashion-tampered',
      backend: 'webgpu',
    });
    expect(first.result.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu' });
    expect(first.result.backend?.reason).toMatch(
      /onnxruntime webgpu not used: the ONNX parity check failed on onnxruntime webgpu: 28×28 max rel/,
    );
    expect(first.result.runtime).toBeUndefined();
    expect(first.messages.at(-1)).toMatch(
      /^done on webgpu \(.*\) — onnxruntime webgpu not used: the ONNX parity check failed/,
    );
    expect(Object.values(await verdicts(manager)).map((x) => x.ok)).toEqual([false]);
    // The GPU executor computes what the CPU does.
    const cpu = await infer(manager, { project: fashion, task: 'classify', model: 'fashion-tampered', backend: 'cpu' });
    expect(classes(first.saved).map((x) => x.top[0]?.label)).toEqual(classes(cpu.saved).map((x) => x.top[0]?.label));
    // The failed verdict is cached: the next run does not open a session or check again.
    const mid = { ...webgpuParityStats };
    const second = await infer(manager, {
      project: fashion,
      task: 'classify',
      model: 'fashion-tampered',
      backend: 'webgpu',
    });
    expect(second.result.backend?.reason).toMatch(/verdict cached/);
    expect(webgpuParityStats.checked).toBe(mid.checked);
    console.log(`tampered ONNX: ${first.result.backend?.reason}`);
  }, 300_000);

  it('an imported ONNX model is checked against onnxruntime CPU and runs on the EP', async () => {
    const manager = managerIn('imported');
    const file = path.join(tmp, 'tiny.onnx');
    await writeFile(file, classifierBytes());
    const reg = await manager.importOnnx(file, {
      task: 'classify',
      classes: ['dark', 'mid', 'bright'],
      inputSize: 28,
      channels: 1,
      mean: 0.5,
      std: 0.5,
      scores: 'probabilities',
    });
    const cpu = await infer(manager, { project: fashion, task: 'classify', model: reg.card.id, backend: 'cpu' });
    const gpu = await infer(manager, { project: fashion, task: 'classify', model: reg.card.id, backend: 'webgpu' });
    expect(gpu.result.runtime).toEqual(['onnx-webgpu']);
    expect(gpu.result.backend).toMatchObject({ used: 'webgpu', reason: null });
    const v = Object.values(await verdicts(manager));
    expect(v.map((x) => [x.ok, x.sizes])).toEqual([[true, [[28, 28]]]]);
    const a = classes(cpu.saved);
    const b = classes(gpu.saved);
    for (const [i, x] of a.entries())
      for (const [j, t] of x.top.entries()) expect(Math.abs(t.p - (b[i]?.top[j]?.p ?? NaN))).toBeLessThan(1e-3);
  }, 120_000);

  // resultsHandlers as the results worker runs them (the app forwards these calls to that child with WebGPU selected:
  // test/models/results-worker.test.ts); here in the test process, routed directly.
  it('Results evaluations and the Train probe run on the selected backend and say where', async () => {
    const ctx = {} as CallContext;
    const manager = managerIn('results');
    const onCpu = resultsHandlers(manager, { backend: () => 'cpu' });
    const onGpu = resultsHandlers(manager, { backend: () => 'webgpu' });
    const p = { project: fashion, model: 'fashion-mnist-s4nd', split: 'all' as const, sizes: [28, 14] };
    const c = await onCpu['results.classify'](p, ctx);
    const g = await onGpu['results.classify'](p, ctx);
    expect(c.backend).toMatchObject({ requested: 'cpu', used: 'cpu', where: 'cpu (engine)' });
    expect(g.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expect(g.backend?.where).toMatch(/^onnxruntime webgpu \(.*swiftshader/i);
    expect(g.accuracy).toBe(c.accuracy);
    expect(g.confusion).toEqual(c.confusion);
    expect(g.bySize.map((s) => [s.accuracy, s.baseline])).toEqual(c.bySize.map((s) => [s.accuracy, s.baseline]));

    const store = ProjectStore.open(brain, { create: false });
    const itemId = store.items(0, 10)[0]?.id ?? 0;
    store.close();
    const sc = await onCpu['results.segment']({ project: brain, model: 'brain-mri-s4nd-unet', itemId, slice: 12 }, ctx);
    const sg = await onGpu['results.segment']({ project: brain, model: 'brain-mri-s4nd-unet', itemId, slice: 12 }, ctx);
    // The brain U-Net passes the check on the EP (see above), so it runs on ORT-WebGPU.
    expect(sg.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expect(sg.backend?.where).toMatch(/^onnxruntime webgpu \(/);
    const mc = Buffer.from(sc.maskBase64, 'base64');
    const mg = Buffer.from(sg.maskBase64, 'base64');
    let differ = 0;
    for (let i = 0; i < mc.length; i++) if (mc[i] !== mg[i]) differ++;
    expect(differ / mc.length).toBeLessThan(1e-2);

    const probe = {
      project: fashion,
      task: 'classify' as const,
      architecture: null,
      from: null,
      size: 14,
      batchSize: 4,
    };
    const pc = await onCpu['results.probe'](probe, ctx);
    const pg = await onGpu['results.probe'](probe, ctx);
    expect(pc.backend).toMatchObject({ used: 'cpu', where: 'cpu' });
    expect(pg.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expect(pg.backend?.where).toMatch(/^webgpu \(/);
    console.log(
      `probe 14px batch 4: CPU ${pc.samplesPerSecond.toFixed(1)} samples/s, SwiftShader ${pg.samplesPerSecond.toFixed(1)} samples/s`,
    );
  }, 300_000);

  it('an EP that cannot start (no Vulkan driver, child process) falls back cleanly to the CPU with both reasons', () => {
    const main = path.join(ROOT, 'dist/main/models/infer-service.js');
    if (!existsSync(main)) throw new Error('dist/ is missing: run `node scripts/build.mjs main`');
    const script = `
      const { runInference } = await import(${JSON.stringify(main)});
      const { ModelManager } = await import(${JSON.stringify(path.join(ROOT, 'dist/main/models/manager.js'))});
      const manager = new ModelManager({ userDir: process.env.T_USER, cacheDir: process.env.T_CACHE });
      const messages = [];
      const r = await runInference({ project: process.env.T_PROJECT, task: 'classify', backend: 'webgpu' },
        { signal: new AbortController().signal, progress: (d, t, m) => messages.push(m), manager });
      console.log(JSON.stringify({ r, last: messages.at(-1) }));`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...process.env,
        VK_ICD_FILENAMES: path.join(tmp, 'no-such-driver.json'),
        T_USER: path.join(tmp, 'noep', 'models'),
        T_CACHE: path.join(tmp, 'noep', 'cache'),
        T_PROJECT: fashion,
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const line = res.stdout.trim().split('\n').at(-1) ?? '';
    const { r, last } = JSON.parse(line) as { r: InferResult; last: string };
    expect(r.suggestions).toBe(6);
    expect(r.backend).toMatchObject({ requested: 'webgpu', used: 'cpu', adapter: null });
    expect(r.backend?.reason).toMatch(
      /onnxruntime webgpu not used: onnxruntime's WebGPU EP could not start: .*adapter/,
    );
    expect(last).toMatch(/^done on cpu \(webgpu not used: /);
    console.log(`no driver: ${r.backend?.reason}`);
  }, 150_000);
});
