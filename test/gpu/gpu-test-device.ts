// Test helpers for the WebGPU backend: a SwiftShader-backed runtime, seeded inputs, float64 references and error
// measures.
//
// Dawn reads VK_ICD_FILENAMES when `webgpu` is first loaded, and vitest runs each test file in its own forked worker
// (pool 'forks'), so setting the variable here, before main/gpu/device.ts imports `webgpu` lazily, is enough: no
// extra child process is needed. The driver comes from scripts/swiftshader.mjs (extracted into .cache/swiftshader,
// libvulkan1 installed when root). Set SSM_GPU_TEST_DRIVER=system to test on the machine's own Vulkan driver instead.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { acquireDevice } from '../../main/gpu/device.js';
import { GpuRuntime } from '../../main/gpu/runtime.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function useSwiftShader(): void {
  if (process.env['SSM_GPU_TEST_DRIVER'] !== 'system' && !process.env['VK_ICD_FILENAMES']) {
    const icd = execFileSync(process.execPath, [path.join(root, 'scripts', 'swiftshader.mjs')], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    process.env['VK_ICD_FILENAMES'] = icd;
  }
  // dawn warns "XDG_RUNTIME_DIR is invalid" without one; give it a private temp dir.
  if (!process.env['XDG_RUNTIME_DIR']) {
    process.env['XDG_RUNTIME_DIR'] = mkdtempSync(path.join(os.tmpdir(), 'ssm-gpu-xdg-'));
  }
}

let rtPromise: Promise<GpuRuntime> | null = null;

/** One runtime per test file (worker). Fails loudly if there is no adapter: GPU tests never skip silently. */
export function testRuntime(): Promise<GpuRuntime> {
  if (!rtPromise) {
    rtPromise = (async () => {
      useSwiftShader();
      const r = await acquireDevice();
      if (!r.ok) throw new Error(`no WebGPU device for the GPU tests: ${r.reason}`);
      return new GpuRuntime(r.context);
    })();
  }
  return rtPromise;
}

/** Seeded uniform [lo, hi) values (mulberry32). */
export function seeded(seed: number, n: number, lo = -1, hi = 1): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

/** Rounds float64 values to float32 (the GPU inputs), returned as float64 for the references. */
export function f32(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(x as ArrayLike<number>));
}

/** Normalised mean squared error sum((a - r)^2) / sum(r^2) (ggml's test-backend-ops measure). */
export function nmse(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new RangeError(`nmse: length ${a.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = (a[i] ?? 0) - (ref[i] ?? 0);
    num += d * d;
    den += (ref[i] ?? 0) * (ref[i] ?? 0);
  }
  return den === 0 ? num : num / den;
}

/** max|a - r| / max|r| (the S4ND reference README's measure). */
export function relMax(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new RangeError(`relMax: length ${a.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs((a[i] ?? 0) - (ref[i] ?? 0)));
    den = Math.max(den, Math.abs(ref[i] ?? 0));
  }
  return den === 0 ? num : num / den;
}

/**
 * Central finite differences of L(x) = sum(f(x) * g) in float64: the gradient any backward must reproduce.
 */
export function finiteDiff(
  f: (x: Float64Array) => ArrayLike<number>,
  x: Float64Array,
  g: ArrayLike<number>,
  h = 1e-6,
): Float64Array {
  const loss = (v: Float64Array): number => {
    const y = f(v);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i] ?? 0) * (g[i] ?? 0);
    return s;
  };
  const out = new Float64Array(x.length);
  const v = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const x0 = v[i] ?? 0;
    v[i] = x0 + h;
    const lp = loss(v);
    v[i] = x0 - h;
    const lm = loss(v);
    v[i] = x0;
    out[i] = (lp - lm) / (2 * h);
  }
  return out;
}

/** Uploads float64 values as float32. */
export function up(rt: GpuRuntime, x: ArrayLike<number>, shape: readonly number[]) {
  return rt.upload(Float32Array.from(x as ArrayLike<number>), shape);
}
