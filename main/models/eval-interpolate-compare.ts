// Two frame interpolators on the same held-out frames of one video (results.compareInterpolate): for step 2 (every
// 2nd frame kept, the rest predicted at t = 1/2) and step 3 (two of three held out, t = 1/3 and 2/3), each model's
// mean PSNR / SSIM and the linear blend's, from evaluateInterpolation (the Results view's evaluation).
import type {
  EvalBackend,
  InterpolationComparison,
  InterpolationEvaluation,
  InterpolationStep,
} from '../../contract/results.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import { evaluateInterpolation } from './eval-interpolate.js';
import type { RegisteredModel } from './manager.js';

/** Runs `fn` with model `id` loaded (and disposed after); `backend`: where its predictions ran. */
export type WithModel = <T>(
  id: string,
  fn: (model: Model, reg: RegisteredModel) => Promise<T>,
) => Promise<{ value: T; backend: EvalBackend }>;

const STEPS: readonly InterpolationStep[] = [2, 3];

export async function compareInterpolators(
  withModel: WithModel,
  models: [string, string],
  opts: { itemId: number; file: string; width: number; pairs: number },
): Promise<InterpolationComparison> {
  const evals: InterpolationEvaluation[][] = [];
  const backends: EvalBackend[] = [];
  for (const id of models) {
    const { value, backend } = await withModel(id, async (model, reg) => {
      const out: InterpolationEvaluation[] = [];
      // t = 1 / step falls on a held-out frame: the selected prediction is reused, no extra model call.
      for (const step of STEPS)
        out.push(
          await evaluateInterpolation(model, reg, opts.file, {
            width: opts.width,
            pairs: opts.pairs,
            index: 1,
            t: 1 / step,
            step,
          }),
        );
      return out;
    });
    evals.push(value);
    backends.push(backend);
  }
  const [ea, eb] = evals as [InterpolationEvaluation[], InterpolationEvaluation[]];
  const first = ea[0] as InterpolationEvaluation;
  return {
    itemId: opts.itemId,
    path: opts.file,
    models,
    width: first.width,
    height: first.height,
    fps: first.fps,
    steps: STEPS.map((step, i) => {
      const a = ea[i] as InterpolationEvaluation;
      const b = eb[i] as InterpolationEvaluation;
      const held = (e: InterpolationEvaluation): string => e.frames.map((f) => `${f.index}@${f.t}`).join(',');
      if (held(a) !== held(b))
        throw new AppError('internal', `the two models were scored on different frames (step ${step})`);
      return {
        step,
        frames: a.frames.length,
        models: [
          { psnr: a.mean.psnr, ssim: a.mean.ssim },
          { psnr: b.mean.psnr, ssim: b.mean.ssim },
        ],
        blend: { psnr: a.mean.blendPsnr, ssim: a.mean.blendSsim },
      };
    }),
    backends: backends as [EvalBackend, EvalBackend],
  };
}
