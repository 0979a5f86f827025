// Public entry of the engine module.
export { loadEngine } from './binding.js';
export type { EngineBinding, NativeModel, NativeParamInfo, NativeStepResult, NativeTensor } from './binding.js';
export { Engine, Model, EngineError, readCheckpointMetadata } from './model.js';
export type { Batch, TrainOptions, PredictOptions, StepResult, Prediction } from './model.js';
export { validateSpec, inferOutput, SpecError, SPEC_LIMITS } from './spec.js';
export type {
  ModelSpec,
  LayerSpec,
  LossSpec,
  OptimizerSpec,
  NormalizedSpec,
  SampleShape,
  ValidatedSpec,
} from './spec.js';
export { warmupCosineLr } from './schedule.js';
export type { WarmupCosine } from './schedule.js';
