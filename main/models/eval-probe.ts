// A timed probe for the Train view's schedule editor: a few optimizer steps of the chosen architecture (or the parent
// model being fine-tuned) on random data at one size, and the number of training samples the project holds for the
// task, so each stage's time can be predicted (samples per second scaled by pixel count) before a run has measured it.
// 3-D architectures count clips of labelled videos or masked volumes (countTrainSamples3d, project-data-3d.ts).
// The steps run on the selected backend (Settings.backend), reported in `backend`.
import type { ModelTask } from '../../contract/models.js';
import type { ProbeResult } from '../../contract/results.js';
import type { Engine, Model } from '../engine/model.js';
import type { ModelSpec } from '../engine/spec.js';
import { AppError } from '../ipc/app-error.js';
import { probeVideo } from '../media/video.js';
import type { ProjectStore } from '../project/store.js';
import { ModelBackend, type BackendName } from './backend.js';
import { rng } from './dataset.js';
import { splitOfItem } from './eval-classify.js';
import { countTrainSamples3d } from './project-data-3d.js';
import type { ModelManager } from './manager.js';
import { DEFAULT_ARCHITECTURE, zooEntry } from './zoo.js';

/** Training samples (and classes / outputs) of a task in a project, counted the way loadProjectData splits them. */
async function countTrainSamples(
  store: ProjectStore,
  task: ModelTask,
): Promise<{ samples: number; outputs: number; channels: number }> {
  if (task === 'classify') {
    const labels = store.allLabels().filter((l) => l.frameStart === null);
    const classes = new Set(labels.map((l) => l.className));
    let n = 0;
    for (const l of labels) {
      const item = store.item(l.itemId);
      if (item.kind === 'image' && splitOfItem(item) === 'train') n++;
    }
    return { samples: n, outputs: Math.max(2, classes.size), channels: 1 };
  }
  if (task === 'segment') {
    let n = 0;
    for (const m of store.masks()) if (splitOfItem(store.item(m.itemId)) === 'train') n++;
    return { samples: n, outputs: 1, channels: 1 };
  }
  let n = 0;
  for (let off = 0; ; off += 1000) {
    const page = store.items(off, 1000);
    for (const item of page.filter((i) => i.kind === 'video')) {
      const info = await probeVideo(item.path);
      const triplets = Math.floor(Math.min(info.frames, 3 * 64) / 3);
      n += triplets - Math.floor(triplets / 5); // every 5th triplet validates
    }
    if (page.length < 1000) break;
  }
  return { samples: n, outputs: 3, channels: 6 };
}

export async function probeTraining(
  engine: Engine,
  manager: ModelManager,
  store: ProjectStore,
  p: {
    task: ModelTask;
    architecture: string | null;
    from: string | null;
    size: number;
    batchSize: number;
    /** Where the steps run (Settings.backend; WebGPU falls back to the CPU with the reason, see backend.ts). */
    backend?: BackendName;
  },
): Promise<ProbeResult> {
  const parent = p.from ? await manager.get(p.from) : null;
  const architecture = parent?.card.architecture ?? p.architecture ?? DEFAULT_ARCHITECTURE[p.task];
  const entry = zooEntry(architecture);
  const count =
    entry.dims === 3 && p.task !== 'interpolate'
      ? await countTrainSamples3d(store, p.task, p.size, (i) => splitOfItem(i) === 'train')
      : await countTrainSamples(store, p.task);
  if (entry.task !== p.task)
    throw new AppError('bad_request', `architecture '${architecture}' is for ${entry.task}, not ${p.task}`);
  const channels = parent?.card.input.channels ?? count.channels;
  const outputs = p.task === 'classify' ? (parent?.card.classes.length ?? count.outputs) : count.outputs;
  const size = Array.from({ length: entry.dims }, () => p.size);
  let model: Model;
  if (parent) {
    const pm = await engine.loadModel(parent.checkpoint);
    model = engine.createModel(pm.spec as unknown as ModelSpec, 1);
    pm.dispose();
  } else model = engine.createModel(entry.build({ channels, size, outputs }), 1);
  let backend: ModelBackend | null = null;
  try {
    backend = await ModelBackend.open(model, { backend: p.backend ?? 'cpu' });
    const b = backend;
    const base = model.spec.input.size;
    const per = size.reduce((a, b) => a * b, 1);
    const B = p.batchSize;
    const r = rng(7);
    const x = new Float32Array(B * channels * per).map(() => r() * 2 - 1);
    const targets =
      p.task === 'classify'
        ? new Float32Array(B).map((_, i) => i % Math.max(1, outputs))
        : new Float32Array(B * outputs * per).map(() => (p.task === 'segment' ? (r() > 0.5 ? 1 : 0) : r()));
    const rate = Math.exp(base.reduce((a, b) => a + Math.log(b / p.size), 0) / base.length);
    const batch = { x, shape: [B, channels, ...size], targets };
    await b.trainStep(batch, { lr: 1e-4, rate }); // warm-up: kernels (GPU pipelines), allocations
    const steps = 3;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await b.trainStep(batch, { lr: 1e-4, rate });
    const seconds = (performance.now() - t0) / 1000;
    const samplesPerSecond = (steps * B) / Math.max(1e-6, seconds);
    const stepsPerEpoch = Math.max(1, Math.floor(count.samples / B));
    return {
      architecture,
      size: p.size,
      batchSize: B,
      steps,
      seconds,
      samplesPerSecond,
      trainSamples: count.samples,
      secondsPerEpoch: (stepsPerEpoch * B) / samplesPerSecond,
      backend: { ...b.report(), where: b.describe() },
    };
  } finally {
    backend?.dispose();
    model.dispose();
  }
}
