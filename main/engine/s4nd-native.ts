// Typed shape of the S4ND / FFT part of the native engine (native/src/binding/s4nd_binding.cc), declared once.
// Every function validates its arguments natively too and throws TypeError/RangeError with a precise message; the
// TypeScript callers validate first (see s4nd-case.ts), so a native throw means a programming error.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type S4ndMode = 's4d' | 'dplr';
export type S4ndInit = 'diag-lin' | 'diag-inv' | 'legs';
export type S4ndConv = 'auto' | 'fft' | 'direct';

/** Plain configuration of one S4ND layer (mirrors ssm::s4nd::S4ndConfig). */
export interface S4ndSpec {
  dim: number;
  d_model: number;
  d_state: number;
  channels: number;
  bidirectional: boolean;
  mode: S4ndMode;
  init: S4ndInit;
  l_max: number[];
  /** <= 0: no bandlimit mask */
  bandlimit: number;
  linear: boolean;
  dt_min: number;
  dt_max: number;
  conv: S4ndConv;
}

export interface S4ndParamInfo {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  ssm: boolean;
}

export interface S4ndRunResult {
  y: Float32Array;
  /** parameters after the call (DPLR may rewrite C -> C~ on the first call) */
  params: Float32Array;
  lKernel: number[];
  du?: Float32Array;
  dparams?: Float32Array;
}

export interface S4ndKernelDerived {
  dt?: Float64Array;
  A?: Float64Array;
  dtA?: Float64Array;
  bandlimit_mask?: Float64Array;
  W?: Float64Array;
  A_full?: Float64Array;
  Abar?: Float64Array;
  Bbar?: Float64Array;
  C_eff?: Float64Array;
  discrete_L?: number;
}

export interface S4ndKernelsResult {
  /** per axis, (rows, H, Lk) */
  kernels: Float64Array[];
  derived: S4ndKernelDerived[];
  /** gradient of sum_a sum(k_a * gk_a), flat parameter layout */
  dparams: Float32Array;
}

export interface S4ndBenchResult {
  fwd: Float64Array;
  fwdBwd: Float64Array;
  growEventsAfterWarmup: number;
  growEventsEnd: number;
  workspaceBytesAfterWarmup: number;
  workspaceBytesEnd: number;
  gemm: string;
}

export interface S4ndNative {
  /** [sync] Flat parameter layout. Throws TypeError/RangeError for a bad spec. */
  paramLayout(spec: S4ndSpec): S4ndParamInfo[];
  /** [sync] Seeded official-style initialisation. Throws for a bad spec. */
  init(spec: S4ndSpec, seed: number): { params: Float32Array; lKernel: number[] };
  /**
   * [async] Forward (and backward with dy = G when dy is given) of one layer on a worker thread.
   * Throws synchronously for malformed arguments (sizes); rejects if the computation fails (e.g. singular DPLR).
   */
  run(
    spec: S4ndSpec,
    params: Float32Array,
    lKernel: number[],
    u: Float32Array,
    batch: number,
    dims: number[],
    rate: number,
    dy: Float32Array | null,
  ): Promise<S4ndRunResult>;
  /** [async] Per-axis kernels of length Lk[a], their gradients for sum_a sum(k_a * gk[a]), and derived values. */
  kernels(
    spec: S4ndSpec,
    params: Float32Array,
    lKernel: number[],
    rate: number,
    Lk: number[],
    gk: Float64Array[],
  ): Promise<S4ndKernelsResult>;
  /** [async] Timed forward / forward+backward loop in C++ (S4D init, seed 1234, rate 1). */
  bench(
    spec: S4ndSpec,
    batch: number,
    dims: number[],
    warmup: number,
    iters: number,
    threads: number,
  ): Promise<S4ndBenchResult>;
  /**
   * [sync] N-D real FFT: forward returns interleaved complex; inverse is unnormalised. float32 = true runs the float
   * plans (the SIMD path the layer uses) on x rounded to float. Throws RangeError for a size mismatch.
   */
  fftReal(x: Float64Array, dims: number[], inverse: boolean, float32?: boolean): Float64Array;
  /** [sync] 1-D complex FFT of interleaved (re, im) doubles; inverse is unnormalised. Throws RangeError. */
  fftComplex(x: Float64Array, inverse: boolean): Float64Array;
  /** [sync] Replace the global thread pool (not while a computation runs). */
  setThreads(n: number): void;
  /** [sync] Build facts: selected GEMM kernel, pool size, direct/FFT crossover, grow events so far. */
  info(): { gemm: string; threads: number; directMaxLength: number; growEvents: number };
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Loads the addon (native/build/Release/ssm_engine.node) relative to the repository root. */
export function loadS4ndNative(): S4ndNative {
  // dist/main/engine/*.js and main/engine/*.ts (vitest) sit at different depths; try both.
  const candidates = [repoRoot, path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')];
  const require = createRequire(import.meta.url);
  let lastError: unknown;
  for (const root of candidates) {
    const file = path.join(root, 'native', 'build', 'Release', 'ssm_engine.node');
    try {
      const addon = require(file) as { s4nd?: S4ndNative };
      if (!addon.s4nd) throw new Error(`native addon ${file} has no s4nd export (rebuild with 'npm run build:native')`);
      return addon.s4nd;
    } catch (e) {
      lastError = e;
    }
  }
  throw new Error(`cannot load the native engine: ${String(lastError)}`);
}
