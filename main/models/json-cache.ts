// Small JSON caches in the app's cache dir ({ version: 1, <field>: { key: record } }): the CPU runtime chooser's
// decisions (runner.ts) and the WebGPU EP parity verdicts (runner-webgpu.ts). Unreadable, foreign or malformed
// content reads as empty (invalid records are dropped); writes are read-merge-write with an atomic rename, so a reader
// never sees half a file.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class JsonRecordCache<T> {
  constructor(
    readonly file: string,
    private readonly field: string,
    private readonly valid: (v: unknown) => v is T,
  ) {}

  async read(): Promise<Record<string, T>> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    if (text === null) return {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null) return {};
      const body = parsed as Record<string, unknown>;
      const records = body[this.field];
      if (body['version'] !== 1 || typeof records !== 'object' || records === null) return {};
      const out: Record<string, T> = {};
      for (const [k, v] of Object.entries(records)) if (this.valid(v)) out[k] = v;
      return out;
    } catch {
      return {};
    }
  }

  async get(key: string): Promise<T | null> {
    return (await this.read())[key] ?? null;
  }

  /** Adds one record. */
  async put(key: string, record: T): Promise<void> {
    const records = { ...(await this.read()), [key]: record };
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ version: 1, [this.field]: records }, null, 1)}\n`);
    await rename(tmp, this.file);
  }
}

/**
 * [async] sha256 over a registered model's files (checkpoint, then ONNX): a retrained or replaced model is measured
 * afresh. `onnxBytes`: the ONNX file already read by the caller.
 */
export async function modelFilesHash(
  reg: { hasEngine: boolean; checkpoint: string; onnx: string | null },
  onnxBytes?: Uint8Array,
): Promise<string> {
  const h = createHash('sha256');
  if (reg.hasEngine) h.update(await readFile(reg.checkpoint));
  if (onnxBytes) h.update(onnxBytes);
  else if (reg.onnx) h.update(await readFile(reg.onnx));
  return h.digest('hex');
}
