// Moving a model's full training state (parameters, AdamW moments, step) between the CPU engine and the GPU executor
// through the engine's own safetensors checkpoint (main/engine/README.md "Checkpoint format"): the CPU model writes
// it, we read or patch the float32 data in place (the header's offsets do not change) and the CPU model loads it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { Model } from '../../engine/model.js';

export interface TrainingState {
  /** By name: parameters `layers.…`, moments `optim.exp_avg.<name>`, `optim.exp_avg_sq.<name>`. */
  tensors: Map<string, Float32Array>;
  step: number;
  /** Non-trainable integer state (S4ND DPLR `<layer>.l_kernel` per axis), from the checkpoint's `state` metadata. */
  state: Record<string, number[]>;
}

interface Parsed {
  header: Record<string, unknown>;
  dataStart: number;
  bytes: Buffer;
}

function parse(bytes: Buffer, file: string): Parsed {
  if (bytes.length < 8) throw new Error(`checkpoint '${file}': too short`);
  const n = Number(bytes.readBigUInt64LE(0));
  if (n > bytes.length - 8) throw new Error(`checkpoint '${file}': header length ${n} beyond the file`);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  return { header, dataStart: 8 + n, bytes };
}

function entries(p: Parsed): { name: string; begin: number; end: number }[] {
  const out: { name: string; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(p.header)) {
    if (name === '__metadata__' || typeof v !== 'object' || v === null) continue;
    const offs = (v as { data_offsets?: unknown }).data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2) continue;
    out.push({ name, begin: Number(offs[0]), end: Number(offs[1]) });
  }
  return out;
}

async function withTemp<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ssm-gpu-state-'));
  try {
    return await fn(path.join(dir, 'state.safetensors'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The CPU model's parameters, moments and optimizer step (one save to a temporary file). */
export async function readTrainingState(model: Model): Promise<TrainingState> {
  return withTemp(async (file) => {
    await model.save(file);
    const p = parse(await readFile(file), file);
    const tensors = new Map<string, Float32Array>();
    for (const e of entries(p)) {
      const slice = p.bytes.subarray(p.dataStart + e.begin, p.dataStart + e.end);
      const f = new Float32Array(slice.length / 4);
      Buffer.from(f.buffer).set(slice);
      tensors.set(e.name, f);
    }
    const meta = (p.header['__metadata__'] ?? {}) as Record<string, string>;
    let state: Record<string, number[]> = {};
    try {
      const parsed: unknown = JSON.parse(meta['state'] ?? '{}');
      if (typeof parsed === 'object' && parsed !== null) state = parsed as Record<string, number[]>;
    } catch {
      state = {};
    }
    return { tensors, step: Number(meta['optimizer.step'] ?? '0'), state };
  });
}

/** Overwrites the CPU model's parameters, moments and step with `state` (save, patch the data, load). */
export async function writeTrainingState(model: Model, state: TrainingState): Promise<void> {
  await withTemp(async (file) => {
    await model.save(file);
    const p = parse(await readFile(file), file);
    for (const e of entries(p)) {
      const t = state.tensors.get(e.name);
      if (!t) throw new Error(`writeTrainingState: no value for '${e.name}'`);
      if (t.byteLength !== e.end - e.begin)
        throw new Error(
          `writeTrainingState: '${e.name}' has ${t.length} values, the checkpoint ${(e.end - e.begin) / 4}`,
        );
      Buffer.from(t.buffer, t.byteOffset, t.byteLength).copy(p.bytes, p.dataStart + e.begin);
    }
    const meta = { ...((p.header['__metadata__'] ?? {}) as Record<string, string>) };
    meta['optimizer.step'] = String(state.step);
    p.header['__metadata__'] = meta;
    let json = JSON.stringify(p.header);
    while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await writeFile(file, Buffer.concat([head, Buffer.from(json, 'utf8'), p.bytes.subarray(p.dataStart)]));
    await model.load(file);
  });
}
