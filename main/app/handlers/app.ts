import os from 'node:os';

import type { AppApi, AppInfo, GpuStatus, RunMode, Settings } from '../../../contract/index.js';
import type { Handler } from '../../ipc/router.js';
import type { NetworkAudit } from '../network-audit.js';
import type { SettingsStore } from '../settings-store.js';

export interface AppHandlerDeps {
  mode: RunMode;
  version: string;
  settings: SettingsStore;
  network: NetworkAudit;
  engine: () => AppInfo['engine'];
  engineThreads: () => number;
  onSettingsChanged: (s: Settings) => void;
  /** GPU detection result (main/gpu/status.ts). */
  gpu: () => GpuStatus;
}

export function appHandlers(d: AppHandlerDeps): { [M in keyof AppApi]: Handler<M> } {
  return {
    'app.info': async () => ({
      name: 'SSM Studio',
      version: d.version,
      mode: d.mode,
      platform: process.platform,
      arch: process.arch,
      nodeVersion: process.versions.node,
      cpus: os.availableParallelism(),
      engineThreads: d.engineThreads(),
      engine: d.engine(),
    }),
    'settings.get': async () => d.settings.get(),
    'settings.update': async (patch) => {
      // A backend picked by the user sticks; until then the app picks it from GPU detection.
      const next = await d.settings.update('backend' in patch ? { ...patch, backendChosen: true } : patch);
      d.onSettingsChanged(next);
      return next;
    },
    'app.network': async () => d.network.list(),
    'gpu.status': async () => d.gpu(),
  };
}
