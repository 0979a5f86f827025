// App-level requests: what is running, settings, the offline audit.

export type RunMode = 'electron' | 'browser';
export type Theme = 'light' | 'dark' | 'system';

export interface AppInfo {
  name: string;
  version: string;
  mode: RunMode;
  platform: string;
  arch: string;
  nodeVersion: string;
  /** Logical CPU count and the engine's thread count. */
  cpus: number;
  engineThreads: number;
  /** The native engine loaded and its version, or why it did not. */
  engine: { loaded: true; version: string } | { loaded: false; reason: string };
}

export interface Settings {
  theme: Theme;
  /** Engine threads; 0 = machine default. */
  threads: number;
  /** Soft memory limit for jobs in MiB; 0 = none. */
  memoryLimitMb: number;
  backend: 'cpu' | 'webgpu';
  /** True once the user picked a backend; until then the app picks it from the detected GPU (see GpuStatus). */
  backendChosen?: boolean;
}

/** A WebGPU adapter found at start. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** CPU emulation (SwiftShader, llvmpipe, WARP, fallback adapter): listed, never recommended. */
  software: boolean;
  maxBufferMb: number;
}

/** GPU detection (runs in a child process at start, never blocking it). */
export interface GpuStatus {
  state: 'detecting' | 'ready';
  adapters: GpuAdapterInfo[];
  /** A device could be created. */
  usable: boolean;
  /** 'webgpu' only for a real (hardware) adapter that gives a device. */
  recommended: 'cpu' | 'webgpu';
  /** Why the GPU is not recommended; null when it is. */
  reason: string | null;
}

/** A network connection the app opened (the offline audit). Only loopback is expected. */
export interface NetworkRecord {
  at: number;
  kind: 'listen' | 'connect' | 'accept';
  address: string;
  port: number;
  loopback: boolean;
}

export interface AppApi {
  'app.info': { params: Record<string, never>; result: AppInfo };
  'settings.get': { params: Record<string, never>; result: Settings };
  'settings.update': { params: Partial<Settings>; result: Settings };
  'app.network': { params: Record<string, never>; result: NetworkRecord[] };
  'gpu.status': { params: Record<string, never>; result: GpuStatus };
}
