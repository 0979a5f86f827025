// GPU detection for backend selection. `detectGpu()` loads dawn.node, lists the adapters and tries to create a device;
// `detectGpuInChild()` runs the same thing in a forked Node process (this file is its entry point), so the app's main
// process never loads dawn.node, a crashing driver cannot take the app down, and startup is not blocked.
// Selection rule: the GPU is recommended only when a real (hardware, non-fallback) adapter gives a device; software
// adapters (SwiftShader, llvmpipe/lavapipe, WARP, fallback adapters) are listed but not recommended.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { acquireDevice, listAdapters, type GpuAdapterSummary } from './device.js';

export interface DetectedAdapter {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU emulation (SwiftShader, llvmpipe, WARP, …) or WebGPU's fallback adapter: correct, but slow. */
  software: boolean;
  maxBufferMb: number;
}

export interface GpuDetection {
  adapters: DetectedAdapter[];
  /** A device could be created on the default adapter. */
  usable: boolean;
  recommended: 'cpu' | 'webgpu';
  /** Why the GPU is not recommended (null when it is). */
  reason: string | null;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|basic render|microsoft basic|software/i;

export function isSoftwareAdapter(
  a: Pick<GpuAdapterSummary, 'vendor' | 'architecture' | 'description' | 'device' | 'isFallbackAdapter'>,
): boolean {
  return a.isFallbackAdapter || SOFTWARE.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}

/** Pure selection rule (tested without a GPU). */
export function recommend(adapters: DetectedAdapter[], usable: boolean, acquireReason: string | null): GpuDetection {
  const hw = adapters.filter((a) => !a.software);
  if (!usable)
    return { adapters, usable, recommended: 'cpu', reason: acquireReason ?? 'no WebGPU device could be created' };
  if (hw.length === 0) {
    const names = adapters.map((a) => a.description || a.vendor || 'unnamed').join(', ');
    return {
      adapters,
      usable,
      recommended: 'cpu',
      reason: `only software adapters were found (${names}); they emulate a GPU on the CPU and are slower than the CPU engine`,
    };
  }
  return { adapters, usable, recommended: 'webgpu', reason: null };
}

/** Lists adapters and tries a device, in this process (loads dawn.node). Never throws. */
export async function detectGpu(): Promise<GpuDetection> {
  let list: GpuAdapterSummary[];
  try {
    list = await listAdapters();
  } catch (e) {
    return recommend([], false, `WebGPU (dawn.node) could not be loaded: ${(e as Error).message}`);
  }
  const adapters = list.map((a) => ({
    vendor: a.vendor,
    architecture: a.architecture,
    description: a.description,
    software: isSoftwareAdapter(a),
    maxBufferMb: Math.round((a.limits['maxBufferSize'] ?? 0) / 2 ** 20),
  }));
  const dev = await acquireDevice();
  if (dev.ok) dev.context.destroy();
  return recommend(adapters, dev.ok, dev.ok ? null : dev.reason);
}

const here = fileURLToPath(import.meta.url);

/** Runs detectGpu() in a child process (this compiled file). Resolves with a CPU recommendation on any failure. */
export function detectGpuInChild(script = here, timeoutMs = 30_000): Promise<GpuDetection> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (d: GpuDetection): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill();
      resolve(d);
    };
    const child = fork(script, ['--detect-gpu'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const timer = setTimeout(
      () => finish(recommend([], false, `GPU detection did not finish within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    // The timeout alone never keeps the process alive; the child (which exits right after answering) does.
    timer.unref();
    child.on('message', (m) => finish(m as GpuDetection));
    child.on('error', (e) => finish(recommend([], false, `GPU detection could not start: ${e.message}`)));
    child.on('exit', (code, signal) =>
      finish(recommend([], false, `GPU detection process ended (${signal ?? `exit code ${code}`}) before answering`)),
    );
  });
}

if (
  process.argv.includes('--detect-gpu') &&
  process.argv[1] &&
  path.resolve(process.argv[1]) === here &&
  process.send
) {
  void detectGpu().then((d) => {
    process.send?.(d, () => process.exit(0));
  });
}
