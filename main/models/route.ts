// Where a registered model's predictions run, given the selected backend (Settings.backend, or a job's params):
//
//   cpu     the runtime chooser (runner.ts: engine or onnxruntime CPU, measured and cached) for inference jobs, or the
//           engine model itself for the Results evaluations (`cpu: 'engine'`). Nothing else is tried.
//   webgpu  1. a model with an ONNX file: onnxruntime's WebGPU EP (runner-webgpu.ts), after the parity check on that EP
//              (cached verdict);
//           2. if the EP cannot start, the check fails, or there is no ONNX file: the engine checkpoint on our GPU
//              graph executor (ModelBackend, itself falling back to the CPU engine with its reason);
//           3. an imported ONNX model (no engine checkpoint) whose EP session failed: the CPU chooser (onnxruntime CPU).
//
// The report says what was asked for and what was used, with the reason for every step down the list; describe() is
// the progress message's "on …" ("onnxruntime webgpu (google swiftshader …)", "webgpu (adapter) — onnxruntime
// webgpu not used: …", "cpu (engine)").
import type { BackendReport, RuntimeKind } from '../../contract/models.js';
import { Engine, type Model } from '../engine/model.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { ModelBackend, type BackendName } from './backend.js';
import type { ModelManager, RegisteredModel } from './manager.js';
import type { ModelRunner, Predictor } from './runner.js';
import type { WebGpuOnnxRunner } from './runner-webgpu.js';

export interface RouteOptions {
  backend: BackendName;
  manager: ModelManager;
  engine?: Engine;
  /** WebGPU options for the GPU executor (tests: a runtime of their own). */
  gpu?: { runtime?: GpuRuntime };
  /** On the CPU: the runtime chooser (inference, the default) or the engine model as it is (evaluations). */
  cpu?: 'chooser' | 'engine';
  /** The checkpoint already loaded by the caller: every route uses it instead of loading its own (caller keeps it). */
  model?: Model;
}

export interface RoutedModel {
  /** What inference calls. */
  readonly predictor: Predictor;
  /** Where the predictions run (now: the GPU executor may have moved some to the CPU). */
  report(): BackendReport;
  /** One line for progress messages. */
  describe(): string;
  /** Runtimes that ran at least one call (the chooser / ORT-WebGPU), or null for the GPU executor. */
  runtime(): RuntimeKind[] | null;
  dispose(): Promise<void>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** [async] Opens `reg` where the selected backend says, falling back as described above (never throws for "no GPU"). */
export async function openOnBackend(reg: RegisteredModel, opts: RouteOptions): Promise<RoutedModel> {
  let engineModel: Model | null = opts.model ?? null;
  let owned: Model | null = null;
  const engine = (): Engine => opts.engine ?? new Engine();
  const loadModel = async (): Promise<Model> => {
    if (!engineModel) engineModel = owned = await engine().loadModel(reg.checkpoint);
    return engineModel;
  };
  const disposeOwned = (): void => {
    owned?.dispose();
    owned = null;
  };

  let ortReason: string | null = null;
  if (opts.backend === 'webgpu') {
    if (reg.onnx) {
      const { WebGpuOnnxRunner } = await import('./runner-webgpu.js');
      try {
        const runner = await WebGpuOnnxRunner.open(reg, {
          cacheDir: opts.manager.cacheDir,
          ...(opts.engine ? { engine: opts.engine } : {}),
          ...(opts.model ? { model: opts.model } : {}),
        });
        return onOrtWebGpu(runner);
      } catch (e) {
        ortReason = message(e);
      }
    }
    if (reg.hasEngine) {
      const model = await loadModel();
      const b = await ModelBackend.open(model, { backend: 'webgpu', ...opts.gpu });
      const suffix = ortReason === null ? '' : `onnxruntime webgpu not used: ${ortReason}`;
      return {
        predictor: b.asModel(),
        report: () => {
          const r = b.report();
          const reason = [r.reason, suffix].filter(Boolean).join('; ') || null;
          return { ...r, reason };
        },
        describe: () => b.describe() + (suffix ? ` — ${suffix}` : ''),
        runtime: () => null,
        dispose: async () => {
          b.dispose();
          disposeOwned();
        },
      };
    }
  }

  // The CPU (selected, or the last step down for an imported model).
  const requested = opts.backend;
  const reason =
    requested === 'webgpu'
      ? `${ortReason ? `onnxruntime webgpu not used: ${ortReason}; ` : ''}an imported ONNX model runs on onnxruntime (CPU)`
      : null;
  const report = (): BackendReport => ({ requested, used: 'cpu', adapter: null, reason });
  if ((opts.cpu ?? 'chooser') === 'engine' && reg.hasEngine) {
    const model = await loadModel();
    return {
      predictor: model,
      report,
      describe: () => 'cpu (engine)',
      runtime: () => ['engine'],
      dispose: async () => disposeOwned(),
    };
  }
  const runner: ModelRunner = await opts.manager.runner(reg);
  return {
    predictor: runner,
    report,
    describe: () =>
      `cpu (${[...runner.used].join(', ') || 'runtime not chosen yet'})${requested === 'webgpu' ? ` — ${reason}` : ''}`,
    runtime: () => [...runner.used],
    dispose: () => runner.dispose(),
  };
}

function onOrtWebGpu(runner: WebGpuOnnxRunner): RoutedModel {
  return {
    predictor: runner,
    report: () => ({
      requested: 'webgpu',
      used: 'webgpu',
      adapter: runner.adapter,
      reason: runner.cpuPredictions
        ? `${runner.cpuPredictions} prediction(s) ran on the CPU: ${runner.cpuReason}`
        : null,
    }),
    describe: () => `onnxruntime webgpu (${runner.adapter})`,
    runtime: () => [...runner.used],
    dispose: () => runner.dispose(),
  };
}

/** `model` with `predict` running on `predictor` (for evaluation code written against the engine's Model). */
export function withPredictor(model: Model, predictor: Predictor): Model {
  if (predictor === model) return model;
  const predict = predictor.predict.bind(predictor);
  return new Proxy(model, {
    get: (target, prop, receiver): unknown => (prop === 'predict' ? predict : Reflect.get(target, prop, receiver)),
  });
}
