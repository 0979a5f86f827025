// The main-process services, created once and shared by both transports (Electron IPC, browser-mode WebSocket).
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';

import type { AppEvent, AppInfo, RunMode } from '../../contract/index.js';
import { Router } from '../ipc/router.js';
import { JobHost } from '../jobs/job-host.js';
import { detectGpuInChild } from '../gpu/detect.js';
import { GpuStatusService } from '../gpu/status.js';
import { ModelManager } from '../models/manager.js';
import { ProjectRegistry } from '../project/registry.js';
import { appHandlers } from './handlers/app.js';
import { jobHandlers } from './handlers/jobs.js';
import { mediaHandlers } from './handlers/media.js';
import { modelHandlers } from './handlers/models.js';
import { projectHandlers } from './handlers/project.js';
import { routedResultsHandlers } from './handlers/results-routed.js';
import { NetworkAudit } from './network-audit.js';
import { built, packageVersion, ROOT } from './paths.js';
import { ResultsWorker } from './results-worker.js';
import { SettingsStore } from './settings-store.js';

export interface AppServicesOptions {
  mode: RunMode;
  dataDir: string;
  cacheDir: string;
}

export interface AppServices {
  router: Router;
  jobs: JobHost;
  settings: SettingsStore;
  network: NetworkAudit;
  /** The child process that runs the Results evaluations with WebGPU selected (Dawn never loads in this process). */
  resultsWorker: ResultsWorker;
  /** Every event for the renderer (job progress, settings changes). */
  events: EventEmitter<{ event: [AppEvent] }>;
  dispose(): Promise<void>;
}

export function createAppServices(options: AppServicesOptions): AppServices {
  const events = new EventEmitter<{ event: [AppEvent] }>();
  const settings = new SettingsStore(options.dataDir);
  const network = new NetworkAudit();
  const jobs = new JobHost({ cacheDir: options.cacheDir, dataDir: options.dataDir });
  jobs.on('job', (job) => events.emit('event', { type: 'job', job }));

  const engine = (): AppInfo['engine'] => ({ loaded: false, reason: 'the engine is loaded inside job processes' });
  const projects = new ProjectRegistry();
  const models = new ModelManager({ userDir: path.join(options.dataDir, 'models'), cacheDir: options.cacheDir });
  const resultsWorker = new ResultsWorker({ userDir: models.userDir, cacheDir: models.cacheDir });
  // GPU detection in a child process, in the background; until the user picks a backend, follow its recommendation.
  const gpu = new GpuStatusService(
    () =>
      process.env['SSM_GPU_DETECT'] === '0'
        ? Promise.resolve({
            adapters: [],
            usable: false,
            recommended: 'cpu',
            reason: 'GPU detection is disabled (SSM_GPU_DETECT=0)',
          })
        : detectGpuInChild(built('main/gpu/detect.js')),
    (status) => {
      const s = settings.get();
      if (s.backendChosen || s.backend === status.recommended) return;
      void settings
        .update({ backend: status.recommended })
        .then((next) => events.emit('event', { type: 'settings', settings: next }))
        .catch(() => {});
    },
  );
  const router = new Router({
    ...appHandlers({
      mode: options.mode,
      version: packageVersion(),
      settings,
      network,
      engine,
      engineThreads: () => settings.get().threads || os.availableParallelism(),
      onSettingsChanged: (s) => {
        if (s.backend !== 'webgpu') void resultsWorker.stop('WebGPU is no longer selected');
        events.emit('event', { type: 'settings', settings: s });
      },
      gpu: () => gpu.get(),
    }),
    ...jobHandlers(jobs),
    ...mediaHandlers(),
    ...modelHandlers(models),
    ...routedResultsHandlers(models, { backend: () => settings.get().backend, worker: resultsWorker }),
    ...projectHandlers(projects, {
      dataDir: options.dataDir,
      samplesDir: path.join(ROOT, 'samples'),
      cardClasses: async (id) => (await models.get(id)).card.classes,
    }),
  });

  return {
    router,
    jobs,
    settings,
    network,
    resultsWorker,
    events,
    dispose: async () => {
      await Promise.all([jobs.dispose(), resultsWorker.stop('the app is stopping')]);
      projects.closeAll();
    },
  };
}
