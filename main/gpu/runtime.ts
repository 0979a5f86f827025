// GPU runtime: tensors in pooled storage buffers, a pipeline cache, command batching and explicit readback.
//
// - Buffer pool: buffers are bucketed by byte size (rounded up to a power of two, min 256 B) and reused. In steady
//   state (the same sequence of ops every training step) no GPUBuffer is created; `stats` makes that testable.
// - Pipeline cache: keyed by WGSL source + entry point + override constants.
// - Batch: records many dispatches (and copies) into one command encoder and submits once. Tensors stay on the GPU
//   between ops; data comes back only through `read()`.
// - Releasing a tensor while a batch is open defers its return to the pool until that batch is submitted, so a queued
//   `writeBuffer` can never overwrite data an unsubmitted command still reads.
import { GpuCommandError, type GpuContext } from './device.js';

// WebGPU flag values (spec constants), so this file does not depend on the GPUBufferUsage global.
export const BufferUsage = {
  MAP_READ: 0x1,
  MAP_WRITE: 0x2,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;
const MAP_MODE_READ = 0x1;

export type DType = 'f32' | 'u32';

/** A GPU-resident array. `shape` is row-major; complex tensors are f32 with a trailing axis of size 2. */
export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Element count (product of shape). */
  readonly size: number;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Packs a uniform struct made of 4-byte scalars, in WGSL field order. */
export class Params {
  private readonly words: { kind: 'u32' | 'f32' | 'i32'; v: number }[] = [];
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`Params.u32: ${v} is not a u32`);
    this.words.push({ kind: 'u32', v });
    return this;
  }
  i32(v: number): this {
    this.words.push({ kind: 'i32', v });
    return this;
  }
  f32(v: number): this {
    this.words.push({ kind: 'f32', v });
    return this;
  }
  bytes(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4); // uniform structs are 16-byte multiples
    const buf = new ArrayBuffer(n * 4);
    const dv = new DataView(buf);
    this.words.forEach((w, i) => {
      if (w.kind === 'u32') dv.setUint32(i * 4, w.v, true);
      else if (w.kind === 'i32') dv.setInt32(i * 4, w.v, true);
      else dv.setFloat32(i * 4, w.v, true);
    });
    return buf;
  }
}

export interface KernelSpec {
  /** WGSL source. Storage bindings are @group(0) @binding(0..n-1) in `dispatch` order; the uniform (if any) is last. */
  code: string;
  entryPoint?: string;
  constants?: Record<string, number>;
  label?: string;
}

export interface RuntimeStats {
  buffersCreated: number;
  buffersReused: number;
  pipelinesCompiled: number;
  bindGroupsCreated: number;
  submits: number;
  bytesRead: number;
}

function bucketBytes(bytes: number): number {
  let b = 256;
  while (b < bytes) b *= 2;
  return b;
}

/** Workgroup counts for a 1-D problem of `n` threads in workgroups of `wg`, folded into 2-D beyond 65535 groups. */
export function grid1d(n: number, wg = 256): [number, number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [65535, y, 1];
}

export class Batch {
  private readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniforms: GPUBuffer[] = [];
  private submitted = false;

  constructor(private readonly rt: GpuRuntime) {
    this.encoder = rt.device.createCommandEncoder();
  }

  /** Records one dispatch. `buffers` are bound at 0..n-1; `params` (if given) as a uniform at binding n. */
  dispatch(
    kernel: KernelSpec,
    buffers: readonly (GpuTensor | GPUBuffer)[],
    params: Params | null,
    workgroups: readonly [number, number, number],
  ): void {
    if (this.submitted) throw new Error('Batch.dispatch: this batch was already submitted');
    const pipeline = this.rt.pipeline(kernel);
    const bound: GPUBuffer[] = buffers.map((b) => ('buffer' in b ? b.buffer : b));
    if (params) {
      const u = this.rt.takeUniform(params.bytes());
      this.uniforms.push(u);
      bound.push(u);
    }
    const bindGroup = this.rt.bindGroup(pipeline, bound);
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
  }

  /** Copies `src` into `dst` (whole of src, or `elements` elements at the given element offsets). */
  copy(src: GpuTensor, dst: GpuTensor, elements = src.size, srcOffset = 0, dstOffset = 0): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder.copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, elements * 4);
  }

  /** Fills a tensor with zeros. */
  zero(t: GpuTensor): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder.clearBuffer(t.buffer, 0, Math.ceil((t.size * 4) / 4) * 4);
  }

  submit(): void {
    if (this.submitted) return;
    this.submitted = true;
    try {
      this.rt.context.assertAlive();
      if (this.pass) this.pass.end();
      this.rt.device.queue.submit([this.encoder.finish()]);
    } finally {
      this.rt.batchClosed(this.uniforms);
    }
  }
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly stats: RuntimeStats = {
    buffersCreated: 0,
    buffersReused: 0,
    pipelinesCompiled: 0,
    bindGroupsCreated: 0,
    submits: 0,
    bytesRead: 0,
  };
  private readonly pool = new Map<number, GPUBuffer[]>();
  private readonly uniformPool = new Map<number, GPUBuffer[]>();
  private readonly stagingPool = new Map<number, GPUBuffer[]>();
  private readonly pipelines = new Map<string, Map<string, GPUComputePipeline>>();
  private openBatches = 0;
  private deferred: GPUBuffer[] = [];
  /** Buffers allocated since beginScope() and not yet released (see beginScope). */
  private scope: Set<GPUBuffer> | null = null;

  constructor(readonly context: GpuContext) {
    this.device = context.device;
  }

  // ---- buffers -------------------------------------------------------------------------------------------------

  private takeFrom(pool: Map<number, GPUBuffer[]>, bytes: number, usage: number, label: string): GPUBuffer {
    const size = bucketBytes(bytes);
    const free = pool.get(size);
    const reused = free?.pop();
    if (reused) {
      this.stats.buffersReused++;
      return reused;
    }
    this.context.assertAlive();
    this.stats.buffersCreated++;
    return this.device.createBuffer({ size, usage, label });
  }

  /**
   * Free lists are kept sorted by buffer id, descending, so `pop()` hands out the oldest free buffer. Allocation is
   * then a function of the free set alone, and a repeated step gets the same buffers in the same roles every time:
   * that keeps the bind-group cache hitting in steady state whatever order the caller releases tensors in.
   */
  private giveTo(pool: Map<number, GPUBuffer[]>, b: GPUBuffer): void {
    const id = this.idOf(b);
    let list = pool.get(b.size);
    if (!list) {
      list = [];
      pool.set(b.size, list);
    }
    let i = list.length;
    while (i > 0 && this.idOf(list[i - 1] as GPUBuffer) < id) i--;
    list.splice(i, 0, b);
  }

  /** A tensor from the pool. Its contents are undefined (use `zeros` for a cleared one). */
  alloc(shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    const size = numel(shape);
    const buffer = this.takeFrom(
      this.pool,
      Math.max(4, size * 4),
      BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
      'tensor',
    );
    this.scope?.add(buffer);
    return { buffer, shape: [...shape], dtype, size };
  }

  /**
   * Starts tracking every tensor allocated from now on; endScope() releases the ones still held. The graph executor
   * wraps one training step in a scope so activations, gradients and temporaries all return to the pool, while the
   * parameters and optimizer moments (allocated outside any scope) stay. Scopes do not nest.
   */
  beginScope(): void {
    if (this.scope) throw new Error('GpuRuntime.beginScope: a scope is already open');
    this.scope = new Set();
  }

  /** Runs `fn` with scope tracking suspended: for long-lived tensors (plan caches) made lazily inside a step. */
  untracked<T>(fn: () => T): T {
    const s = this.scope;
    this.scope = null;
    try {
      return fn();
    } finally {
      this.scope = s;
    }
  }

  /** Releases every tensor allocated since beginScope() except `keep`, and closes the scope. */
  endScope(keep: readonly GpuTensor[] = []): void {
    const s = this.scope;
    this.scope = null;
    if (!s) return;
    for (const k of keep) s.delete(k.buffer);
    for (const buffer of s) {
      if (this.openBatches > 0) this.deferred.push(buffer);
      else this.giveTo(this.pool, buffer);
    }
  }

  /** Returns a tensor's buffer to the pool. Deferred until submission if a batch is open. */
  release(...tensors: (GpuTensor | null | undefined)[]): void {
    for (const t of tensors) {
      if (!t) continue;
      this.scope?.delete(t.buffer);
      if (this.openBatches > 0) this.deferred.push(t.buffer);
      else this.giveTo(this.pool, t.buffer);
    }
  }

  upload(data: Float32Array | Uint32Array | readonly number[], shape: readonly number[], dtype?: DType): GpuTensor {
    const dt: DType = dtype ?? (data instanceof Uint32Array ? 'u32' : 'f32');
    const n = numel(shape);
    if (data.length !== n) throw new RangeError(`upload: ${data.length} values for shape [${shape.join(', ')}] (${n})`);
    const t = this.alloc(shape, dt);
    const arr: Float32Array | Uint32Array =
      data instanceof Float32Array || data instanceof Uint32Array
        ? data
        : dt === 'u32'
          ? Uint32Array.from(data)
          : Float32Array.from(data);
    // writeBuffer runs before any unsubmitted batch. That is safe here: a freshly allocated buffer is not used by any
    // open batch, because buffers released while a batch is open only return to the pool after its submission.
    this.device.queue.writeBuffer(t.buffer, 0, arr.buffer as ArrayBuffer, arr.byteOffset, arr.byteLength);
    return t;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    const t = this.alloc(shape, dtype);
    const b = this.batch();
    b.zero(t);
    b.submit();
    return t;
  }

  /** Reads a tensor back to the CPU (the only place data leaves the GPU). */
  async read(t: GpuTensor): Promise<Float32Array> {
    if (this.openBatches > 0) {
      throw new Error('GpuRuntime.read: a batch is still open; submit it first (its results are not computed yet)');
    }
    const bytes = t.size * 4;
    const staging = this.takeFrom(
      this.stagingPool,
      Math.max(4, bytes),
      BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      'staging',
    );
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    this.context.assertAlive();
    this.device.queue.submit([enc.finish()]);
    this.stats.submits++;
    try {
      await Promise.race([staging.mapAsync(MAP_MODE_READ, 0, bytes), this.context.lost.then((e) => Promise.reject(e))]);
    } catch (e) {
      this.context.assertAlive();
      throw e;
    }
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    this.giveTo(this.stagingPool, staging);
    this.stats.bytesRead += bytes;
    this.throwPendingErrors();
    return out;
  }

  async readU32(t: GpuTensor): Promise<Uint32Array> {
    const f = await this.read(t);
    return new Uint32Array(f.buffer);
  }

  private dummyTensor: GpuTensor | null = null;

  /** A small never-written tensor to bind where a kernel's optional input is absent. */
  dummy(): GpuTensor {
    if (!this.dummyTensor) {
      const t = this.alloc([4]);
      this.scope?.delete(t.buffer); // lives for the runtime, never released by a scope
      this.dummyTensor = t;
    }
    return this.dummyTensor;
  }

  // ---- uniforms ------------------------------------------------------------------------------------------------

  /** @internal A uniform buffer holding `data`; returned to the pool when its batch is submitted. */
  takeUniform(data: ArrayBuffer): GPUBuffer {
    const u = this.takeFrom(this.uniformPool, data.byteLength, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'uniform');
    this.device.queue.writeBuffer(u, 0, data);
    return u;
  }

  // ---- pipelines -----------------------------------------------------------------------------------------------

  pipeline(k: KernelSpec): GPUComputePipeline {
    // Two levels so the (long, constant) WGSL string is hashed once by V8, not concatenated into a key per dispatch.
    let byCode = this.pipelines.get(k.code);
    if (!byCode) {
      byCode = new Map();
      this.pipelines.set(k.code, byCode);
    }
    const entryPoint = k.entryPoint ?? 'main';
    const key = k.constants ? `${entryPoint}|${JSON.stringify(k.constants)}` : entryPoint;
    let p = byCode.get(key);
    if (!p) {
      this.context.assertAlive();
      const module = this.device.createShaderModule({ code: k.code, label: k.label ?? entryPoint });
      const compute: GPUProgrammableStage = { module, entryPoint };
      if (k.constants) compute.constants = k.constants;
      p = this.device.createComputePipeline({ layout: 'auto', compute, label: k.label ?? entryPoint });
      byCode.set(key, p);
      this.stats.pipelinesCompiled++;
    }
    return p;
  }

  private readonly bufferIds = new WeakMap<GPUBuffer | GPUComputePipeline, number>();
  private nextId = 1;
  private readonly bindGroups = new Map<string, GPUBindGroup>();

  private idOf(o: GPUBuffer | GPUComputePipeline): number {
    let id = this.bufferIds.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.bufferIds.set(o, id);
    }
    return id;
  }

  /**
   * @internal Bind group for `buffers` at bindings 0..n-1, cached by (pipeline, buffers): pooled buffers come back in
   * the same order every step, so steady-state steps create no bind groups either.
   */
  bindGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
    const key = `${this.idOf(pipeline)}:${buffers.map((b) => this.idOf(b)).join(',')}`;
    let g = this.bindGroups.get(key);
    if (!g) {
      if (this.bindGroups.size >= 8192) this.bindGroups.clear(); // bounded; a miss only costs a createBindGroup
      g = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      this.bindGroups.set(key, g);
      this.stats.bindGroupsCreated++;
    }
    return g;
  }

  // ---- batches -------------------------------------------------------------------------------------------------

  batch(): Batch {
    this.openBatches++;
    return new Batch(this);
  }

  /** Records `fn` into one batch and submits it. */
  run<T>(fn: (b: Batch) => T): T {
    const b = this.batch();
    let out: T;
    try {
      out = fn(b);
    } finally {
      b.submit();
    }
    return out;
  }

  /** @internal */
  batchClosed(uniforms: GPUBuffer[]): void {
    this.stats.submits++;
    for (const u of uniforms) this.giveTo(this.uniformPool, u);
    this.openBatches = Math.max(0, this.openBatches - 1);
    if (this.openBatches === 0) {
      for (const b of this.deferred) this.giveTo(this.pool, b);
      this.deferred = [];
    }
  }

  /** Resolves when all submitted work has finished. Rejects with GpuDeviceLostError if the device is lost. */
  async sync(): Promise<void> {
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.context.lost.then((e) => Promise.reject(e))]);
    this.throwPendingErrors();
  }

  /** Throws GpuCommandError if WebGPU reported errors for earlier commands (their results are not to be trusted). */
  throwPendingErrors(): void {
    const errors = this.context.takeErrors();
    if (errors.length > 0) throw new GpuCommandError(errors);
  }

  /** Destroys every pooled buffer (tensors still held by callers stay valid until they are released). */
  trim(): void {
    for (const pool of [this.pool, this.uniformPool, this.stagingPool]) {
      for (const list of pool.values()) for (const b of list) b.destroy();
      pool.clear();
    }
    this.dummyTensor = null;
    this.bindGroups.clear();
  }
}
