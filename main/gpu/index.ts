// WebGPU backend entry point: device discovery, runtime, the op list and the op modules.
export * from './device.js';
export * from './runtime.js';
export * from './backend.js';
export * as basic from './ops/basic.js';
export * as matmulOps from './ops/matmul.js';
export * as fft from './ops/fft.js';
export * as s4nd from './ops/s4nd.js';
export * as nn from './ops/nn.js';
export { GpuModel, GpuUnsupportedError, gpuUnsupportedReason } from './graph/executor.js';
export { Trainer } from './graph/trainer.js';
export type { BackendName, BackendStatus, TrainerOptions, TrainerStep } from './graph/trainer.js';
export { detectGpu, detectGpuInChild, isSoftwareAdapter, recommend } from './detect.js';
export type { DetectedAdapter, GpuDetection } from './detect.js';
export { GpuStatusService } from './status.js';
