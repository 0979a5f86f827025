import os from 'node:os';

import type { AppApi, AppInfo, RunMode, Settings } from '../../../contract/index.js';
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
      const next = await d.settings.update(patch);
      d.onSettingsChanged(next);
      return next;
    },
    'app.network': async () => d.network.list(),
  };
}
