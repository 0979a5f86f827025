// Results: evaluations of registered models on a project's data (classification metrics at several input sizes,
// segmentation against reference masks, interpolation against held-out real frames), mask and video export, the
// training runs kept in a project (so the Train view finds them after a restart) and renaming a model.
// Type aliases (not interfaces) so every result is a JsonValue.
import type { BackendReport, ModelCard, ResolutionMetrics, TrainStage } from './models.js';

/**
 * Where an evaluation's predictions (or the probe's steps) ran: the selected backend (Settings.backend), the one used
 * and why not the selected one, and `where`, one line for the view ("onnxruntime webgpu (adapter)", "webgpu
 * (adapter)", "cpu (engine)").
 */
export type EvalBackend = BackendReport & { where: string };

/** Which items to evaluate on: a split (items without one follow the training rule: ~19% val by content hash). */
export type EvalSplit = 'train' | 'val' | 'test' | 'all';

export type RunEpoch = {
  stage: number;
  size: number;
  epoch: number;
  trainLoss: number;
  samplesPerSecond: number;
  seconds: number;
  validation: ResolutionMetrics[];
};

/** One training run folder (<project>/runs/<runId>/): its config and the state of its last checkpoint. */
export type RunSummary = {
  runId: string;
  name: string | null;
  task: ModelCard['task'];
  architecture: string | null;
  from: string | null;
  schedule: TrainStage[];
  batchSize: number | null;
  step: number;
  totalSteps: number;
  stage: number;
  epoch: number;
  /** The run finished its schedule (or stopped early); false: it can be resumed from its last checkpoint. */
  done: boolean;
  /** A checkpoint exists to resume from. */
  resumable: boolean;
  seconds: number;
  history: RunEpoch[];
  /** Last modification of the run's state (ms since epoch). */
  updatedAt: number;
};

export type ClassScores = { className: string; precision: number; recall: number; f1: number; support: number };

export type ClassPrediction = {
  itemId: number;
  path: string;
  trueClass: string;
  top: { label: string; p: number }[];
  /** Videos (3-D clip classifiers): the first frame of the first evaluated clip (the thumbnail). */
  frame?: number;
};

export type SizePoint = {
  size: number;
  /** The model fed the image resampled to `size` (S4ND rate = base / size). */
  accuracy: number;
  /** Baseline: the image resampled to `size`, then resized back to the base size and fed at rate 1. */
  baseline: number;
};

export type ClassifyEvaluation = {
  model: string;
  split: EvalSplit;
  classes: string[];
  /** Input size of the confusion matrix, per-class scores, predictions and mistakes (the model's base size). */
  size: number;
  items: number;
  accuracy: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  perClass: ClassScores[];
  predictions: ClassPrediction[];
  /** Wrong predictions, most confident first. */
  mistakes: { itemId: number; path: string; trueClass: string; predicted: string; p: number; frame?: number }[];
  /** Size points; for a 3-D clip classifier `size` is the clip cube (frames = height = width). */
  bySize: SizePoint[];
  /** What was classified: labelled images (2-D models, the default) or labelled videos by clips (3-D models). */
  media?: 'image' | 'video';
  seconds: number;
  /** Where it ran (absent from results of before backend selection). */
  backend?: EvalBackend;
};

/** A segmenter on every image / axial slice of a project that has a reference mask: mean Dice and IoU per class. */
export type SegmentSetEvaluation = {
  model: string;
  /** Items with at least one evaluated reference mask. */
  items: number;
  /** Images and volume slices evaluated (0: the project has no reference masks; the means are then 0). */
  planes: number;
  perClass: { className: string; dice: number; iou: number }[];
  /** Where it ran (absent from results of before backend selection). */
  backend?: EvalBackend;
};

export type SegmentEvaluation = {
  model: string;
  itemId: number;
  /** Axial slice index (volumes) or 0 (images). */
  slice: number;
  slices: number;
  width: number;
  height: number;
  /** The model's input as 8-bit grey (rows top to bottom), base64. */
  imageBase64: string;
  /** Predicted class-index mask (0 background, 1..K), uint8 per pixel, base64. */
  maskBase64: string;
  classes: string[];
  /** Dice and IoU per class against the project's reference mask of this image / slice; null when there is none. */
  reference: { className: string; dice: number; iou: number }[] | null;
  /** Where it ran (absent from results of before backend selection). */
  backend?: EvalBackend;
};

/** A held-out frame: its index, its time t between the kept frames around it, and the scores of its prediction. */
export type FrameScore = {
  index: number;
  t: number;
  psnr: number;
  ssim: number;
  blendPsnr: number;
  blendSsim: number;
};

/** Held-out evaluation: keep every 2nd frame (predict the rest at t = 1/2) or every 3rd (t = 1/3 and 2/3). */
export type InterpolationStep = 2 | 3;

/** Mean PSNR (dB) and SSIM over held-out frames. */
export type InterpolationScore = { psnr: number; ssim: number };

/** Both interpolators (and the linear blend) on the same held-out frames of one step. */
export type InterpolationCompareStep = {
  /** 2: every 2nd frame kept, the others predicted at t = 1/2; 3: two of three held out, t = 1/3 and 2/3. */
  step: InterpolationStep;
  /** Held-out frames scored (the same frames for both models). */
  frames: number;
  models: [InterpolationScore, InterpolationScore];
  /** The baseline: (1 - t)·a + t·b. */
  blend: InterpolationScore;
};

export type InterpolationComparison = {
  itemId: number;
  path: string;
  models: [string, string];
  /** Frame size evaluated (the video downscaled to `width`). */
  width: number;
  height: number;
  fps: number;
  steps: InterpolationCompareStep[];
  /** Where each model's predictions ran, in `models` order (absent from results of before backend selection). */
  backends?: [EvalBackend, EvalBackend];
};

export type InterpolationEvaluation = {
  model: string;
  fps: number;
  width: number;
  height: number;
  /** Source frames kept: every `step`-th; the step - 1 frames between two kept ones are held out. */
  step: InterpolationStep;
  /** Held-out frames, each predicted from the two kept frames around it at its t and compared with the real one. */
  frames: FrameScore[];
  /** Means over the held-out frames; the baseline is the linear blend (1 - t)·a + t·b. */
  mean: { psnr: number; ssim: number; blendPsnr: number; blendSsim: number };
  /**
   * The pair around the selected held-out frame `index` (source frames `from` and `to` = from + step) as RGB (H, W, 3)
   * base64, and the frame predicted at exactly t (any t in (0, 1)). `real` / `realIndex`: the source frame at t when t
   * falls on one (t = j / step), else null.
   */
  selected: {
    index: number;
    from: number;
    to: number;
    t: number;
    a: string;
    b: string;
    real: string | null;
    realIndex: number | null;
    predicted: string;
  };
  /** Where it ran (absent from results of before backend selection). */
  backend?: EvalBackend;
};

/** A timed probe of a few training steps at one size (the schedule editor's throughput before a run exists). */
export type ProbeResult = {
  architecture: string;
  size: number;
  batchSize: number;
  steps: number;
  seconds: number;
  samplesPerSecond: number;
  /** Training samples of the task in the project (its train split). */
  trainSamples: number;
  /** Predicted seconds of one epoch at `size`: whole batches of trainSamples at samplesPerSecond. */
  secondsPerEpoch: number;
  /** Where it ran (absent from results of before backend selection). */
  backend?: EvalBackend;
};

export interface ResultsApi {
  'results.runs': { params: { project: string }; result: RunSummary[] };
  'results.classify': {
    params: { project: string; model: string; split: EvalSplit; sizes: number[] };
    result: ClassifyEvaluation;
  };
  'results.segment': {
    params: { project: string; model: string; itemId: number; slice: number | null };
    result: SegmentEvaluation;
  };
  /** Both segmenters on the same reference-masked images and slices of the project (Dice / IoU per class). */
  'results.compareSegment': {
    params: { project: string; models: [string, string] };
    result: [SegmentSetEvaluation, SegmentSetEvaluation];
  };
  /**
   * Two interpolators re-evaluated on the same held-out frames of one project video (its first `pairs` kept pairs,
   * downscaled to `width`): at t = 1/2 (step 2) and at t = 1/3, 2/3 (step 3), mean PSNR / SSIM per model and of the
   * linear blend.
   */
  'results.compareInterpolate': {
    params: { project: string; models: [string, string]; itemId: number; width: number; pairs: number };
    result: InterpolationComparison;
  };
  /** The predicted mask of one item: PNG (images) or NIfTI (volumes), written into the folder `out`. */
  'results.exportMask': {
    params: { project: string; model: string; itemId: number; out: string };
    result: { file: string; format: 'png' | 'nifti'; backend?: EvalBackend };
  };
  /**
   * Held-out evaluation on the first `step` · `pairs` + 1 frames (downscaled to `width`; `step` 2 by default) and the
   * frame at time `t` (any number strictly between 0 and 1) between the kept frames around held-out frame `index`.
   */
  'results.interpolate': {
    params: {
      path: string;
      model: string;
      width: number;
      pairs: number;
      index: number;
      t: number;
      step?: InterpolationStep;
    };
    result: InterpolationEvaluation;
  };
  /**
   * Interpolates the first `maxFrames` frames (downscaled to `width`) to `factor` × the frame rate (any integer ≥ 2)
   * or to `fps` (any rate > 0; give exactly one) into out (.mp4 / .webm). Source frames on the output grid are kept
   * (`kept` of them); the others are predicted at their exact time between the two source frames around them.
   */
  'results.exportVideo': {
    params: {
      path: string;
      model: string;
      factor?: number;
      fps?: number;
      width: number;
      maxFrames: number;
      out: string;
    };
    result: { out: string; frames: number; fps: number; kept: number; backend?: EvalBackend };
  };
  /** Times a few training steps of an architecture (or the model to fine-tune) at `size` on random data. */
  'results.probe': {
    params: {
      project: string;
      task: ModelCard['task'];
      architecture: string | null;
      from: string | null;
      size: number;
      batchSize: number;
    };
    result: ProbeResult;
  };
  /** Renames a user model (its card's name); shipped models are read-only. */
  'results.renameModel': { params: { id: string; name: string }; result: ModelCard };
}
