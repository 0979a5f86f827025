// Models: model cards, training and inference job params, and the models API.
// Type aliases (not interfaces) so cards and results are JsonValues (job results) without a cast.

export type ModelTask = 'classify' | 'segment' | 'interpolate';

/** One stage of a progressive-resizing schedule: train `epochs` epochs at `size` px (S4ND rate = base / size). */
export type TrainStage = { size: number; epochs: number };

export type Normalization = { mean: number; std: number };

export type ModelInputSpec = {
  /** Channels the model takes (interpolators: 2 × frame channels). */
  channels: number;
  /** Spatial axes: 2 (images, volume slices) or 3 (volumes). */
  dims: 2 | 3;
  /** Base (training) resolution per axis: S4ND rate = base / input size. */
  size: number[];
  /** Pixel values in [0, 1] (8/16-bit scaled; volumes by their 99.5th percentile) are mapped to (v - mean) / std. */
  normalize: Normalization;
  /** Input sizes must be a multiple of this (downsampling stages). */
  multiple: number;
  /** Whether the model is resolution-flexible (S4ND) or fixed-grid (Conv2D baseline). */
  resolutionFlexible: boolean;
};

/** Validation metrics at one input resolution: accuracy / loss (classify), dice (segment), psnr / ssim (interpolate). */
export type ResolutionMetrics = { size: number; metrics: Record<string, number> };

export type ModelLineage = {
  /** Model this one was fine-tuned from, or null. */
  parent: string | null;
  /** sha256 of the training samples (sizes, inputs, targets). */
  datasetHash: string;
  /** Where the data came from (a project folder or a named public dataset). */
  dataset: string;
  trainSamples: number;
  valSamples: number;
  schedule: TrainStage[];
  seed: number;
  /** ISO 8601 date of the end of training. */
  date: string;
  steps: number;
  trainSeconds: number;
  /** The train / validation split the run used (absent on cards from before the split choice: the project's). */
  split?: TrainSplit;
  /** Set when the model was imported as a plain ONNX file rather than trained here. */
  imported?: { file: string; sha256: string };
  /** Where the training steps ran, over the whole run (absent on cards from before backend selection). */
  backend?: BackendReport & { steps: { cpu: number; webgpu: number } };
};

/**
 * Which runtime ran a model: the app's own engine, onnxruntime on its CPU EP ('onnx') or onnxruntime on its WebGPU EP
 * ('onnx-webgpu': the GPU backend's runtime for models with an ONNX file that passed the parity check on that EP).
 */
export type RuntimeKind = 'engine' | 'onnx' | 'onnx-webgpu';

/** Runtime selection on the CPU: 'auto' measures both once per model, size bucket and machine and caches the faster. */
export type RuntimeMode = 'auto' | 'engine' | 'onnx';

/**
 * How a third-party ONNX model's tensors map onto the app's (B, C, size...) float32 convention. Only on imported
 * models (they have no engine checkpoint and always run on onnxruntime).
 */
export type OnnxIoMapping = {
  /** Graph input fed the normalised image. */
  input: string;
  /** Graph output read as class scores (classify: (B, K)) or per-pixel scores (segment). */
  output: string;
  /** Tensor layout of the input (and of a segmenter's output). */
  layout: 'nchw' | 'nhwc';
  /** Whether the output holds logits or probabilities (softmax / sigmoid already applied). */
  scores: 'logits' | 'probabilities';
  /** Segment: the output has K + 1 channels, channel 0 being background (else K per-class scores). */
  background: boolean;
  /** Spatial input size the graph fixes ([H, W]), or null when its spatial dims are dynamic. */
  fixedSize: number[] | null;
};

export type OnnxInfo = {
  file: string;
  /** Parity check result: max relative error per checked resolution (empty for imported models: no engine). */
  parity: { size: number[]; maxRel: number; ok: boolean }[];
  /** Input/output mapping of an imported third-party ONNX model. */
  io?: OnnxIoMapping;
};

export type ModelCard = {
  id: string;
  name: string;
  task: ModelTask;
  architecture: string;
  description: string;
  /** Class names (classify, segment foreground classes); empty for interpolators. */
  classes: string[];
  input: ModelInputSpec;
  /** Resolutions the model was trained at (schedule stage sizes). */
  trainingResolutions: number[];
  metrics: ResolutionMetrics[];
  params: number;
  lineage: ModelLineage;
  /** Exported ONNX file and its parity check, when the model was exported. */
  onnx: OnnxInfo | null;
  /** Shipped with the app (read-only) rather than trained or imported by the user. */
  builtin: boolean;
};

/** Where a job's compute ran: the backend asked for (the job's params, else Settings.backend) and the one used. */
export type BackendReport = {
  requested: 'cpu' | 'webgpu';
  used: 'cpu' | 'webgpu';
  /** The WebGPU adapter when used. */
  adapter: string | null;
  /** Why the work runs on the CPU although WebGPU was asked for, or (inference) why not on onnxruntime's WebGPU EP
   *  (null when it runs where asked). */
  reason: string | null;
};

export type AugmentParams = { flip: boolean; crop: number; intensity: number };

/**
 * How classify / segment training data is split into train and validation (interpolation always validates on
 * every 5th triplet of each video). 'project': the items' stored splits (test items are left out), items without one
 * validate when their content hash starts with 0-2 (3/16, about 19%). 'hash': stored splits are ignored and every
 * item (test ones included) validates when the first 8 hex digits of its content hash, read as a fraction of
 * 2^32, are below `fraction`.
 */
export type TrainSplit = { mode: 'project' } | { mode: 'hash'; fraction: number };

export type TrainParams = {
  /** Project folder whose labels (classify), masks (segment) or videos (interpolate) and splits are the data. */
  project: string;
  task: ModelTask;
  /** Zoo architecture (default per task). */
  architecture?: string;
  schedule: TrainStage[];
  /** Fine-tune from this registered model (a new head when the classes differ). */
  from?: string;
  /** Resume this run (its folder under the project's runs/) from its last checkpoint. */
  runId?: string;
  name?: string;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Validation resolutions after each epoch (default: every stage size). */
  validationSizes?: number[];
  /** Epochs without improvement before a stage ends early (the last stage: training stops). */
  patience?: number;
  augment?: AugmentParams;
  /** Train / validation split (default: { mode: 'project' }). */
  split?: TrainSplit;
  /** Stop after this many optimizer steps in this process (tests: a deterministic point to crash at). */
  maxSteps?: number;
  /** Compute backend for this call (default: the app's Settings.backend); not kept with the run, like maxSteps. */
  backend?: 'cpu' | 'webgpu';
};

export type TrainResult = {
  runId: string;
  /** The registered model; null when the run stopped at maxSteps (resume it with runId). */
  modelId: string | null;
  card: ModelCard | null;
  resumed: boolean;
  stoppedEarly: boolean;
  steps: number;
  /** Where this call's steps ran (absent from results of before backend selection). */
  backend?: BackendReport;
};

export type InferParams = {
  project: string;
  task: 'classify' | 'segment';
  /** Model id (default: the shipped default for the task). */
  model?: string;
  /** Items to run on (default: every item the task applies to). */
  itemIds?: number[];
  /** Compute backend (default: the app's Settings.backend). */
  backend?: 'cpu' | 'webgpu';
};

export type Suggestion =
  | { itemId: number; kind: 'class'; top: { index: number; label: string; p: number }[] }
  | { itemId: number; kind: 'mask'; axis: number; slices: number; file: string; foreground: number };

export type InferResult = {
  model: string;
  suggestions: number;
  file: string;
  /** Runtime(s) that ran the model (the chooser may pick per input size bucket; 'onnx-webgpu' with WebGPU selected;
   *  absent when the engine ran on the GPU graph executor). */
  runtime?: RuntimeKind[];
  /** Where the predictions ran and why not where asked (absent from results of before backend selection). */
  backend?: BackendReport;
};

/** Mapping options of `models.import` for a plain .onnx file (a folder import ignores them). */
export type OnnxImportParams = {
  task: 'classify' | 'segment';
  classes: string[];
  /** Spatial size (square) the model is declared for; the dry run uses it. */
  inputSize: number;
  channels: number;
  mean: number;
  std: number;
  name?: string;
  /** Input / output names (default: the graph's only float input / first output). */
  input?: string;
  output?: string;
  layout?: 'nchw' | 'nhwc';
  scores?: 'logits' | 'probabilities';
};

/** Live training figures carried by job progress events. */
export type TrainMetrics = {
  stage: number;
  size: number;
  epoch: number;
  step: number;
  loss: number;
  samplesPerSecond: number;
  /** Latest validation metric per resolution ("28": {accuracy: 0.9}). */
  validation: Record<string, Record<string, number>>;
  /** Where the steps run now (absent from progress of before backend selection). */
  backend?: BackendReport;
};

export interface ModelsApi {
  'models.list': { params: Record<string, never>; result: ModelCard[] };
  'models.get': { params: { id: string }; result: ModelCard };
  'models.delete': { params: { id: string }; result: { deleted: boolean } };
  /** A model folder written by models.export, or a plain .onnx file with `onnx` mapping options. */
  'models.import': { params: { path: string; onnx?: OnnxImportParams }; result: ModelCard };
  'models.export': { params: { id: string; out: string }; result: { out: string } };
}
