// WebGPU device discovery and acquisition for the GPU backend (Node side, dawn.node via the `webgpu` package).
//
// Dawn reads VK_ICD_FILENAMES etc. when it is loaded, so whoever wants a specific Vulkan driver (SwiftShader in tests,
// see scripts/swiftshader.mjs) sets the environment before the first call here: `webgpu` is imported lazily.
// Nothing here throws for "no GPU": acquisition returns `{ ok: false, reason }`, a sentence the Settings view can show,
// and callers fall back to the CPU engine.

/** What the Settings view shows about one adapter. */
export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** The request options that produced this adapter (adapters are deduplicated by their info). */
  requestedWith: GPURequestAdapterOptions;
  features: string[];
  limits: Record<string, number>;
}

export type GpuAcquireResult =
  { ok: true; context: GpuContext } | { ok: false; reason: string; adapters: GpuAdapterSummary[] };

/** Raised by the runtime once the device is lost; callers catch it and fall back to the CPU engine. */
/** WebGPU validation or out-of-memory errors raised by earlier commands (a bug in a kernel call, or no memory). */
export class GpuCommandError extends Error {
  constructor(readonly messages: string[]) {
    super(`WebGPU reported ${messages.length} error(s): ${messages.join(' | ')}`);
    this.name = 'GpuCommandError';
  }
}

export class GpuDeviceLostError extends Error {
  constructor(
    readonly lostReason: string,
    readonly lostMessage: string,
  ) {
    super(`GPU device lost (${lostReason}): ${lostMessage || 'no message'}. Falling back to the CPU engine is safe.`);
    this.name = 'GpuDeviceLostError';
  }
}

/** The limits we read (all numeric limits of GPUSupportedLimits that the kernels care about, plus a few informative). */
const LIMIT_NAMES = [
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
] as const;

function readLimits(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of LIMIT_NAMES) out[name] = limits[name];
  return out;
}

type GpuFactory = { requestAdapter(options?: GPURequestAdapterOptions): Promise<GPUAdapter | null> };

let gpuPromise: Promise<GpuFactory> | null = null;

/** Loads dawn.node once. Throws with a readable message if the native module cannot load. */
export async function loadWebGpu(dawnOptions: string[] = []): Promise<GpuFactory> {
  if (!gpuPromise) {
    gpuPromise = (async () => {
      const mod = await import('webgpu');
      // dawn.node exposes GPUBufferUsage & co. as `globals`; the browser has them on globalThis. We use our own
      // constants (runtime.ts) but other code may expect the globals, so install them once if absent.
      const g = globalThis as Record<string, unknown>;
      if (g['GPUBufferUsage'] === undefined) Object.assign(globalThis, mod.globals);
      return mod.create(dawnOptions);
    })();
  }
  return gpuPromise;
}

function summarise(adapter: GPUAdapter, requestedWith: GPURequestAdapterOptions): GpuAdapterSummary {
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    // `isFallbackAdapter` moved from GPUAdapter to GPUAdapterInfo in the spec; dawn.node 0.6 has it on info.
    isFallbackAdapter: Boolean((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter),
    requestedWith,
    features: [...adapter.features].sort(),
    limits: readLimits(adapter.limits),
  };
}

const ADAPTER_REQUESTS: GPURequestAdapterOptions[] = [
  {},
  { powerPreference: 'high-performance' },
  { powerPreference: 'low-power' },
  { forceFallbackAdapter: true },
];

/**
 * Lists the adapters WebGPU offers. WebGPU has no enumeration API, so we ask with each power preference and with
 * forceFallbackAdapter, and deduplicate by (vendor, architecture, device, description).
 */
export async function listAdapters(): Promise<GpuAdapterSummary[]> {
  const gpu = await loadWebGpu();
  const seen = new Map<string, GpuAdapterSummary>();
  for (const opts of ADAPTER_REQUESTS) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(opts);
    } catch {
      adapter = null;
    }
    if (!adapter) continue;
    const s = summarise(adapter, opts);
    const key = `${s.vendor}|${s.architecture}|${s.device}|${s.description}`;
    if (!seen.has(key)) seen.set(key, s);
  }
  return [...seen.values()];
}

/** A device plus what the rest of the backend needs to know about it. */
export class GpuContext {
  /** Resolves (never rejects) when the device is lost, including after `destroy()`. */
  readonly lost: Promise<GpuDeviceLostError>;
  private lostError: GpuDeviceLostError | null = null;
  private readonly lostListeners = new Set<(e: GpuDeviceLostError) => void>();

  private readonly pendingErrors: string[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly adapter: GpuAdapterSummary,
  ) {
    // Validation / out-of-memory errors that no error scope caught. They are kept (bounded) and reported by the
    // runtime at the next read()/sync(), so a bad dispatch surfaces as an exception instead of silent garbage.
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      if (this.pendingErrors.length < 16) this.pendingErrors.push(e.message);
    });
    this.lost = device.lost.then((info) => {
      const err = new GpuDeviceLostError(info.reason ?? 'unknown', info.message);
      this.lostError = err;
      for (const fn of this.lostListeners) fn(err);
      return err;
    });
  }

  get isLost(): boolean {
    return this.lostError !== null;
  }

  /** Throws the device-lost error if the device is gone; the runtime calls this before every submission. */
  assertAlive(): void {
    if (this.lostError) throw this.lostError;
  }

  /** Returns and clears the WebGPU errors seen since the last call. */
  takeErrors(): string[] {
    return this.pendingErrors.splice(0, this.pendingErrors.length);
  }

  /** Registers a callback for device loss; returns an unsubscribe function. */
  onLost(fn: (e: GpuDeviceLostError) => void): () => void {
    if (this.lostError) fn(this.lostError);
    else this.lostListeners.add(fn);
    return () => this.lostListeners.delete(fn);
  }

  destroy(): void {
    this.device.destroy();
  }
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  forceFallbackAdapter?: boolean;
  /** Storage-buffer binding size the caller needs (defaults to the adapter's maximum). */
  maxStorageBufferBindingSize?: number;
}

/** Acquires a device, or explains in one sentence why there is none. */
export async function acquireDevice(options: AcquireOptions = {}): Promise<GpuAcquireResult> {
  let gpu: GpuFactory;
  try {
    gpu = await loadWebGpu();
  } catch (e) {
    return { ok: false, reason: `WebGPU (dawn.node) could not be loaded: ${(e as Error).message}`, adapters: [] };
  }
  const request: GPURequestAdapterOptions = {};
  if (options.powerPreference) request.powerPreference = options.powerPreference;
  if (options.forceFallbackAdapter) request.forceFallbackAdapter = true;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(request);
  } catch (e) {
    return { ok: false, reason: `Requesting a GPU adapter failed: ${(e as Error).message}`, adapters: [] };
  }
  if (!adapter) {
    return {
      ok: false,
      reason:
        'No WebGPU adapter is available: no Vulkan/Metal/D3D12 driver with compute support was found ' +
        '(on Linux without a GPU, install a Vulkan driver such as SwiftShader; see scripts/swiftshader.mjs).',
      adapters: [],
    };
  }
  const summary = summarise(adapter, request);
  const lim = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: Math.min(
      options.maxStorageBufferBindingSize ?? lim.maxStorageBufferBindingSize,
      lim.maxStorageBufferBindingSize,
    ),
    maxBufferSize: lim.maxBufferSize,
    maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
    maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
  };
  if (lim.maxComputeWorkgroupSizeX < 256 || lim.maxComputeInvocationsPerWorkgroup < 256) {
    return {
      ok: false,
      reason: `The GPU adapter "${summary.description}" allows only ${lim.maxComputeInvocationsPerWorkgroup} threads per workgroup; the kernels need 256.`,
      adapters: [summary],
    };
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, label: 'ssm-studio' });
  } catch (e) {
    return {
      ok: false,
      reason: `The GPU adapter "${summary.description}" refused to create a device: ${(e as Error).message}`,
      adapters: [summary],
    };
  }
  return { ok: true, context: new GpuContext(device, summary) };
}
