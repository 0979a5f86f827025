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
}
