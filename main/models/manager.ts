// The model manager: a registered model is a folder holding the engine checkpoint (model.safetensors), its model card
// (card.json) and, when the ONNX exporter supports its layers, model.onnx that passed the parity check against the
// engine at two or more resolutions. User models live in <dataDir>/models/<id>/; the shipped defaults in
// <app>/models/<id>/ are read-only.
//
// Registration order: copy the checkpoint -> load it in the engine (validates the file) -> export ONNX -> parity
// check (a failure refuses the registration) -> write the card -> rename the folder into place.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ModelCard, ModelTask, OnnxImportParams, OnnxInfo, RuntimeMode } from '../../contract/models.js';
import { ROOT } from '../app/paths.js';
import { Engine, type Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import type { ParityInput } from '../onnx/parity.js';
import { writeDirAtomic } from '../project/atomic.js';
import { resolveDirs } from '../start/dirs.js';
import { rng } from './dataset.js';
import type { ModelRunner } from './runner.js';

export const CHECKPOINT = 'model.safetensors';
export const CARD = 'card.json';
export const ONNX = 'model.onnx';

/** Parity tolerance (relative to the output's max): the exporter measures ~1e-6; float32 rounding elsewhere. */
export const PARITY_TOLERANCE = { rel: 1e-3, abs: 1e-4 };

export interface RegisteredModel {
  card: ModelCard;
  dir: string;
  /** Engine checkpoint path (absent on disk for imported ONNX models: see hasEngine). */
  checkpoint: string;
  /** Whether the model has an engine checkpoint (false for imported third-party ONNX models). */
  hasEngine: boolean;
  onnx: string | null;
}

export type OnnxMode = 'auto' | 'off';

export interface ManagerOptions {
  /** Folder of user models (trained, imported). */
  userDir: string;
  /** Folder of shipped models (read-only); default <app>/models. */
  builtinDir?: string;
  engine?: Engine;
  /** App cache dir (runtime decisions: runtime-choice.json); default SSM_CACHE_DIR or the platform cache dir. */
  cacheDir?: string;
}

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export function newModelId(name: string): string {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'model';
  return `${slug}-${randomBytes(3).toString('hex')}`;
}

/** Parity inputs at the base size and at half of it (or double when half is too small), seeded. */
export function parityInputs(model: Pick<Model, 'spec'>, multiple: number): ParityInput[] {
  const base = model.spec.input.size;
  const half = base.map((n) => n / 2);
  const other = half.every((n) => Number.isInteger(n) && n % multiple === 0 && n >= 4) ? half : base.map((n) => n * 2);
  const r = rng(12345);
  return [base, other].map((size) => {
    const shape = [1, model.spec.input.channels, ...size];
    const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < x.length; i++) x[i] = r() * 2 - 1;
    return { x, shape };
  });
}

export class ModelManager {
  readonly userDir: string;
  readonly builtinDir: string;
  readonly cacheDir: string;
  private engineInstance: Engine | null;

  constructor(options: ManagerOptions) {
    this.userDir = options.userDir;
    this.cacheDir = options.cacheDir ?? resolveDirs({}).cacheDir;
    this.builtinDir = options.builtinDir ?? path.join(ROOT, 'models');
    this.engineInstance = options.engine ?? null;
  }

  /** The engine is loaded on first use (register/import), so listing models never loads the native addon. */
  private get engine(): Engine {
    this.engineInstance ??= new Engine();
    return this.engineInstance;
  }

  private async readDir(dir: string, builtin: boolean): Promise<RegisteredModel[]> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: RegisteredModel[] = [];
    for (const name of names.sort()) {
      if (!ID_RE.test(name)) continue;
      const folder = path.join(dir, name);
      const text = await readFile(path.join(folder, CARD), 'utf8').catch(() => null);
      if (text === null) continue;
      const card = { ...(JSON.parse(text) as ModelCard), id: name, builtin };
      const hasOnnx = card.onnx !== null && (await stat(path.join(folder, ONNX)).catch(() => null)) !== null;
      const hasEngine = !card.onnx?.io && (await stat(path.join(folder, CHECKPOINT)).catch(() => null)) !== null;
      out.push({
        card,
        dir: folder,
        checkpoint: path.join(folder, CHECKPOINT),
        hasEngine,
        onnx: hasOnnx ? path.join(folder, ONNX) : null,
      });
    }
    return out;
  }

  async list(): Promise<RegisteredModel[]> {
    return [...(await this.readDir(this.builtinDir, true)), ...(await this.readDir(this.userDir, false))];
  }

  async get(id: string): Promise<RegisteredModel> {
    const found = (await this.list()).find((m) => m.card.id === id);
    if (!found) {
      const known = (await this.list()).map((m) => m.card.id);
      throw new AppError('not_found', `no model '${id}' (registered: ${known.join(', ') || 'none'})`, 'params.model');
    }
    return found;
  }

  /** The shipped default for a task (or the newest user model of that task when no default ships). */
  async defaultFor(task: ModelTask): Promise<RegisteredModel> {
    const all = await this.list();
    const m = all.find((x) => x.card.builtin && x.card.task === task) ?? all.filter((x) => x.card.task === task).at(-1);
    if (!m) throw new AppError('not_found', `no model for task '${task}' is registered; train one or pass --model`);
    return m;
  }

  /**
   * Registers a checkpoint with its card. ONNX ('auto'): exported and parity-checked at two resolutions; a model
   * whose layers the exporter does not support is registered without ONNX, a failed parity check refuses it.
   */
  async register(
    checkpoint: string,
    card: Omit<ModelCard, 'id' | 'onnx' | 'builtin'> & { id?: string },
    options: { onnx?: OnnxMode; dir?: string } = {},
  ): Promise<RegisteredModel> {
    const id = card.id ?? newModelId(card.name);
    if (!ID_RE.test(id)) throw new AppError('bad_request', `model id '${id}' must match ${ID_RE}`, 'params.id');
    const root = options.dir ?? this.userDir;
    const target = path.join(root, id);
    if (await stat(target).catch(() => null)) throw new AppError('conflict', `model '${id}' already exists`);
    await writeDirAtomic(target, async (tmp) => {
      await copyFile(checkpoint, path.join(tmp, CHECKPOINT));
      const model = await this.engine.loadModel(path.join(tmp, CHECKPOINT));
      try {
        let onnx: OnnxInfo | null = null;
        if ((options.onnx ?? 'auto') === 'auto')
          onnx = await this.exportChecked(model, path.join(tmp, CHECKPOINT), tmp, card.input.multiple);
        const full: ModelCard = { ...card, id, onnx, builtin: false, params: model.paramCount() };
        await writeFile(path.join(tmp, CARD), `${JSON.stringify(full, null, 2)}\n`);
      } finally {
        model.dispose();
      }
    });
    const readBack = await this.readDir(root, root === this.builtinDir);
    const reg = readBack.find((m) => m.card.id === id);
    if (!reg) throw new AppError('internal', `model '${id}' was written but cannot be read back`);
    return reg;
  }

  private async exportChecked(
    model: Model,
    checkpoint: string,
    dir: string,
    multiple: number,
  ): Promise<OnnxInfo | null> {
    // Loaded on first export: onnxruntime-node is a native module the main process never needs for listing models.
    const { exportOnnx, OnnxExportError, readExportState } = await import('../onnx/export.js');
    const { checkParity } = await import('../onnx/parity.js');
    let bytes: Uint8Array;
    try {
      bytes = exportOnnx(model, { state: await readExportState(checkpoint), producer: 'ssm-studio' });
    } catch (err) {
      if (err instanceof OnnxExportError) return null;
      throw err;
    }
    const report = await checkParity(model, bytes, parityInputs(model, multiple), PARITY_TOLERANCE);
    const parity = report.resolutions.map((r) => ({ size: r.size, maxRel: r.maxRel, ok: r.ok }));
    if (!report.ok) {
      throw new AppError(
        'internal',
        `ONNX parity check failed: ${parity.map((p) => `${p.size.join('×')} max rel ${p.maxRel.toExponential(2)}`).join(', ')} (tolerance ${PARITY_TOLERANCE.rel})`,
      );
    }
    await writeFile(path.join(dir, ONNX), bytes);
    return { file: ONNX, parity };
  }

  async delete(id: string): Promise<boolean> {
    const m = await this.get(id);
    if (m.card.builtin) throw new AppError('conflict', `model '${id}' ships with the app and cannot be deleted`);
    await rm(m.dir, { recursive: true, force: true });
    return true;
  }

  /**
   * The runner inference uses for a model: engine or onnxruntime, whichever was measured faster here for the input's
   * size bucket ('auto', decisions cached in <cacheDir>/runtime-choice.json), or the one `mode` forces.
   */
  async runner(reg: RegisteredModel, mode: RuntimeMode = 'auto'): Promise<ModelRunner> {
    const { openRunner } = await import('./runner.js');
    return openRunner(reg, {
      cacheDir: this.cacheDir,
      mode,
      ...(this.engineInstance ? { engine: this.engineInstance } : {}),
    });
  }

  /** Imports a plain third-party ONNX classifier/segmenter with an input/output mapping (see onnx-import.ts). */
  async importOnnx(file: string, params: OnnxImportParams): Promise<RegisteredModel> {
    const { importOnnxModel } = await import('./onnx-import.js');
    await mkdir(this.userDir, { recursive: true });
    return importOnnxModel(this, file, params);
  }

  /** Exports a model as a folder (card.json, model.safetensors, model.onnx) that `import` reads back. */
  async export(id: string, out: string): Promise<string> {
    const m = await this.get(id);
    await writeDirAtomic(out, async (tmp) => {
      if (m.hasEngine) await copyFile(m.checkpoint, path.join(tmp, CHECKPOINT));
      if (m.onnx) await copyFile(m.onnx, path.join(tmp, ONNX));
      await writeFile(path.join(tmp, CARD), `${JSON.stringify({ ...m.card, builtin: false }, null, 2)}\n`);
    });
    return out;
  }

  /**
   * Imports an exported model folder; the checkpoint is loaded (validated) and ONNX re-exported and re-checked. An
   * exported imported-ONNX model (no checkpoint, card with an ONNX mapping) is re-validated like a fresh ONNX import.
   * A plain .onnx file needs `onnx` mapping params.
   */
  async import(folder: string, onnxParams?: OnnxImportParams): Promise<RegisteredModel> {
    const st = await stat(folder).catch(() => null);
    if (st?.isFile()) {
      if (!onnxParams)
        throw new AppError(
          'bad_request',
          `${folder} is a file: importing a plain ONNX model needs its mapping (task, classes, input size, channels, mean, std)`,
          'params.onnx',
        );
      return this.importOnnx(folder, onnxParams);
    }
    const text = await readFile(path.join(folder, CARD), 'utf8').catch(() => null);
    if (text === null) throw new AppError('not_found', `${folder} has no ${CARD}: not an exported model folder`);
    const card = JSON.parse(text) as ModelCard;
    if (typeof card.task !== 'string' || typeof card.name !== 'string' || !card.input) {
      throw new AppError('corrupt_input', `${folder}/${CARD} is not a model card (task, name, input missing)`);
    }
    const io = card.onnx?.io;
    if (io && (card.task === 'classify' || card.task === 'segment')) {
      return this.importOnnx(path.join(folder, ONNX), {
        task: card.task,
        classes: card.classes,
        inputSize: card.input.size[0] ?? 0,
        channels: card.input.channels,
        mean: card.input.normalize.mean,
        std: card.input.normalize.std,
        name: card.name,
        input: io.input,
        output: io.output,
        layout: io.layout,
        scores: io.scores,
      });
    }
    const taken = (await this.list()).some((m) => m.card.id === card.id);
    await mkdir(this.userDir, { recursive: true });
    const { onnx: _onnx, builtin: _builtin, ...rest } = card;
    return this.register(path.join(folder, CHECKPOINT), {
      ...rest,
      id: taken || !ID_RE.test(card.id) ? newModelId(card.name) : card.id,
    });
  }
}
