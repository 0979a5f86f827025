#!/usr/bin/env node
// Trains the default models shipped in models/ from real public data (Debian packages) and writes their cards:
//   fashion-mnist-s4nd   S4ND isotropic classifier, Fashion-MNIST (dataset-fashion-mnist), progressive 14 -> 28;
//                        test accuracy on the 10k test set at 28, 14 and 56 px (rate = 28 / size)
//   brain-mri-s4nd-unet  S4ND 2-D U-Net brain mask on axial slices of the MNI ch2 T1 (mricron-data: ch2.nii.gz with
//                        ch2bet.nii.gz as the mask); Dice on held-out slices (every 5th), predicted at native size
//   frame-interp-s4nd    time-conditioned S4ND frame interpolator on 64 px crops of vtest.avi frames 0-599 and
//                        Megamind.avi frames 60-269 (opencv-doc), targets at t = j/m (m = 2, 3, 4); PSNR / SSIM at
//                        t = 1/2, 1/3, 2/3 on held-out vtest frames 600-640 and Megamind.avi frames 0-40 vs linear
//                        blending and frame repetition
// Usage: node scripts/build.mjs main && node scripts/train-defaults.mjs [fashion|brain|interp]...
// Needs the three Debian packages (apt-get install -y dataset-fashion-mnist mricron-data opencv-doc).
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(ROOT, 'dist', p));
const { Engine } = await dist('main/engine/model.js');
const { ZOO } = await dist('main/models/zoo.js');
const { train, initialState, evaluate } = await dist('main/models/train.js');
const { resample, datasetHash, rng, interpolationInput, INTERP_CHANNELS } = await dist('main/models/dataset.js');
const { ModelManager } = await dist('main/models/manager.js');
const { readNifti } = await dist('main/media/nifti.js');
const { axialSlice, volumeScale, rgbPlanes } = await dist('main/models/media-input.js');
const { segmentFile, interpolatePair } = await dist('main/models/infer.js');
const { probeVideo, readFrames } = await dist('main/media/video.js');
const { psnr, ssim } = await dist('main/models/metrics.js');

const MODELS = path.join(ROOT, 'models');
const engine = new Engine();
const manager = new ModelManager({ userDir: MODELS, builtinDir: path.join(os.tmpdir(), 'ssm-no-builtins'), engine });
const only = process.argv.slice(2);
const want = (k) => only.length === 0 || only.includes(k);
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

function need(file, pkg) {
  if (!existsSync(file)) throw new Error(`${file} missing: run apt-get install -y ${pkg}`);
}

async function trainSamples(model, trainSet, valSet, config) {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'ssm-default-'));
  const state = initialState(config, trainSet.length);
  let last = 0;
  const out = await train(model, trainSet, valSet, config, state, runDir, {
    progress(done, total, msg, m) {
      if (Date.now() - last > 5000) {
        last = Date.now();
        log(`${msg} ${m.samplesPerSecond.toFixed(0)} samples/s`);
      }
    },
    epoch(r) {
      log(
        `epoch ${r.epoch + 1} @${r.size}px loss ${r.trainLoss.toFixed(4)} ${r.seconds.toFixed(1)} s val ${JSON.stringify(r.validation)}`,
      );
    },
  });
  await model.load(out.best);
  return { state: out.state, runDir };
}

async function register(id, checkpoint, card) {
  rmSync(path.join(MODELS, id), { recursive: true, force: true });
  const reg = await manager.register(checkpoint, { ...card, id });
  const file = path.join(reg.dir, 'card.json');
  const c = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, `${JSON.stringify({ ...c, builtin: true }, null, 2)}\n`);
  log(`registered ${id}: onnx ${JSON.stringify(c.onnx?.parity ?? null)}`);
  return reg;
}

const lineage = (dataset, samples, valCount, schedule, seed, state) => ({
  parent: null,
  datasetHash: datasetHash(samples),
  dataset,
  trainSamples: samples.length,
  valSamples: valCount,
  schedule,
  seed,
  date: new Date().toISOString(),
  steps: state.step,
  trainSeconds: Math.round(state.seconds * 10) / 10,
});

const report = JSON.parse(
  existsSync(path.join(MODELS, 'TRAINING.json')) ? readFileSync(path.join(MODELS, 'TRAINING.json'), 'utf8') : '{}',
);
report.machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model ?? '?',
  threads: process.env.SSM_THREADS ?? 'default',
};

// ---- Fashion-MNIST classifier ----
if (want('fashion')) {
  const dir = '/usr/share/datasets/fashion-mnist';
  need(path.join(dir, 'train-images-idx3-ubyte.gz'), 'dataset-fashion-mnist');
  const idx = (f) => {
    const b = gunzipSync(readFileSync(path.join(dir, f)));
    const rank = b[3];
    return b.subarray(4 + 4 * rank);
  };
  const CLASSES = [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ];
  const norm = { mean: 0.286, std: 0.353 };
  const load = (split, start, count) => {
    const img = idx(`${split}-images-idx3-ubyte.gz`);
    const lab = idx(`${split}-labels-idx1-ubyte.gz`);
    return Array.from({ length: count }, (_, i) => ({
      input: Float32Array.from(
        img.subarray((start + i) * 784, (start + i + 1) * 784),
        (v) => (v / 255 - norm.mean) / norm.std,
      ),
      channels: 1,
      size: [28, 28],
      target: lab[start + i],
      targetChannels: 0,
    }));
  };
  const trainSet = load('train', 0, 30000);
  const valSet = load('train', 55000, 2000);
  const testSet = load('t10k', 0, 10000);
  const schedule = [
    { size: 14, epochs: 4 },
    { size: 28, epochs: 3 },
  ];
  const seed = 1;
  const entry = ZOO['s4nd-isotropic'];
  const model = engine.createModel(
    entry.build({ channels: 1, size: [28, 28], outputs: 10, width: 32, depth: 3 }),
    seed,
  );
  const t0 = Date.now();
  const { state, runDir } = await trainSamples(model, trainSet, valSet, {
    task: 'classify',
    schedule,
    batchSize: 64,
    lr: 1e-2,
    seed,
    validationSizes: [14, 28],
    patience: 3,
    augment: { flip: true, crop: 0.06, intensity: 0 },
    normalize: norm,
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  const metrics = [];
  for (const size of [28, 14, 56])
    metrics.push({ size, metrics: await evaluate(model, 'classify', testSet, size, norm) });
  log('fashion test metrics', JSON.stringify(metrics));
  await model.save(path.join(runDir, 'final.safetensors'));
  await register('fashion-mnist-s4nd', path.join(runDir, 'final.safetensors'), {
    name: 'Fashion-MNIST S4ND classifier',
    task: 'classify',
    architecture: 's4nd-isotropic',
    description: `${entry.description}. Trained on 30,000 Fashion-MNIST training images (progressive 14 -> 28 px); metrics are on the 10,000-image test set at 28 px (training size), 14 px (rate 2) and 56 px (rate 0.5).`,
    classes: CLASSES,
    input: { channels: 1, dims: 2, size: [28, 28], normalize: norm, multiple: 2, resolutionFlexible: true },
    trainingResolutions: [14, 28],
    metrics,
    params: model.paramCount(),
    lineage: lineage(
      'Fashion-MNIST (Debian dataset-fashion-mnist), train[0:30000], val train[55000:57000]',
      trainSet,
      valSet.length,
      schedule,
      seed,
      state,
    ),
  });
  report.fashion = { trainSeconds, steps: state.step, test: metrics };
  model.dispose();
}

// ---- Brain MRI segmenter ----
if (want('brain')) {
  const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
  const BET = '/usr/share/mricron/templates/ch2bet.nii.gz';
  need(CH2, 'mricron-data');
  const t1 = (await readNifti(CH2)).volume;
  const bet = (await readNifti(BET)).volume;
  const scale = volumeScale(t1);
  const [nx, ny, nz] = t1.dims;
  const norm = { mean: 0.3, std: 0.3 };
  const base = 96;
  const heldOut = (k) => k % 5 === 0;
  const trainSet = [];
  const valSet = [];
  for (let k = 8; k < nz - 8; k++) {
    const img = axialSlice(t1, k, scale).map((v) => (v - norm.mean) / norm.std);
    const mask = axialSlice(bet, k, 1).map((v) => (v > 0 ? 1 : 0));
    const s = {
      input: resample(img, 1, [ny, nx], [base, base]),
      channels: 1,
      size: [base, base],
      target: resample(mask, 1, [ny, nx], [base, base]),
      targetChannels: 1,
    };
    (heldOut(k) ? valSet : trainSet).push(s);
  }
  const schedule = [
    { size: 48, epochs: 6 },
    { size: 96, epochs: 6 },
  ];
  const seed = 2;
  const entry = ZOO['s4nd-unet2d'];
  const model = engine.createModel(entry.build({ channels: 1, size: [base, base], outputs: 1, width: 12 }), seed);
  const t0 = Date.now();
  const { state, runDir } = await trainSamples(model, trainSet, valSet, {
    task: 'segment',
    schedule,
    batchSize: 8,
    lr: 1e-2,
    seed,
    validationSizes: [48, 96],
    patience: 4,
    augment: { flip: true, crop: 0.05, intensity: 0.1 },
    normalize: norm,
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  const valMetrics = [];
  for (const size of [48, 96, 192])
    valMetrics.push({ size, metrics: await evaluate(model, 'segment', valSet, size, norm) });
  await model.save(path.join(runDir, 'final.safetensors'));
  const card = {
    name: 'Brain mask (T1 MRI) S4ND U-Net',
    task: 'segment',
    architecture: 's4nd-unet2d',
    description: `${entry.description}. Trained on axial slices of the MNI ch2 T1 template (mricron-data) with ch2bet as the brain mask; every 5th slice held out. Volumes are segmented slice by slice at their native size.`,
    classes: ['brain'],
    input: { channels: 1, dims: 2, size: [base, base], normalize: norm, multiple: 2, resolutionFlexible: true },
    trainingResolutions: [48, 96],
    metrics: valMetrics,
    params: model.paramCount(),
    lineage: lineage(
      'MNI ch2 T1 + ch2bet (Debian mricron-data), axial slices 8-172 not divisible by 5',
      trainSet,
      valSet.length,
      schedule,
      seed,
      state,
    ),
  };
  const reg = await register('brain-mri-s4nd-unet', path.join(runDir, 'final.safetensors'), card);
  // Dice of the full product path: segment the volume at its native size, compare held-out slices with ch2bet.
  const seg = await segmentFile(model, reg.card, CH2, { isDir: false, gzip: true });
  const maskVol = (
    await readNifti(
      await (async () => {
        const f = path.join(runDir, 'pred.nii.gz');
        writeFileSync(f, seg.bytes);
        return f;
      })(),
    )
  ).volume;
  let inter = 0,
    p = 0,
    t = 0;
  for (let k = 8; k < nz - 8; k++) {
    if (!heldOut(k)) continue;
    for (let i = 0; i < nx * ny; i++) {
      const a = maskVol.data[k * nx * ny + i] > 0 ? 1 : 0;
      const b = bet.data[k * nx * ny + i] > 0 ? 1 : 0;
      inter += a * b;
      p += a;
      t += b;
    }
  }
  const nativeDice = (2 * inter) / (p + t);
  log(
    `brain: val dice ${JSON.stringify(valMetrics)}, held-out slices at native 181x217: dice ${nativeDice.toFixed(4)}`,
  );
  const cardFile = path.join(reg.dir, 'card.json');
  const c = JSON.parse(readFileSync(cardFile, 'utf8'));
  c.metrics.push({ size: 217, metrics: { dice: nativeDice } });
  c.description += ` Held-out-slice Dice at the native 181×217 grid (size 217 in metrics): ${nativeDice.toFixed(4)}.`;
  writeFileSync(cardFile, `${JSON.stringify(c, null, 2)}\n`);
  report.brain = { trainSeconds, steps: state.step, val: valMetrics, nativeHeldOutDice: nativeDice };
  model.dispose();
}

// ---- Frame interpolator (time-conditioned) ----
if (want('interp')) {
  const DATA = '/usr/share/doc/opencv-doc/examples/data';
  const VTEST = path.join(DATA, 'vtest.avi');
  const MEGA = path.join(DATA, 'Megamind.avi');
  need(VTEST, 'opencv-doc');
  const norm = { mean: 0.5, std: 0.25 };
  const tile = 64;
  const frames = async (file, start, count) => {
    const info = await probeVideo(file);
    const out = [];
    for await (const f of readFrames(file, info, { start, count }))
      out.push({ planes: rgbPlanes(f.data, f.width, f.height), w: f.width, h: f.height });
    return out;
  };
  // Training crops: 64x64 windows of frames k, k + m (the two inputs) and k + j (the target, t = j / m) with
  // m = 2, 3, 4 in turn and j drawn from 1..m-1, from vtest frames 0-599 at native scale. Frames are streamed (a
  // window of five in memory).
  const r = rng(3);
  const crop = (pl, w, h, x0, y0) => {
    const out = new Float32Array(3 * tile * tile);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < tile; y++)
        for (let x = 0; x < tile; x++)
          out[(c * tile + y) * tile + x] = (pl[(c * h + y0 + y) * w + x0 + x] - norm.mean) / norm.std;
    return out;
  };
  const samples = [];
  const tCount = {};
  const addCrops = async (file, start, count) => {
    const vinfo = await probeVideo(file);
    const win = [];
    let k = -4;
    for await (const f of readFrames(file, vinfo, { start, count })) {
      win.push(rgbPlanes(f.data, f.width, f.height));
      if (win.length > 5) win.shift();
      k++;
      if (win.length < 5) continue;
      const w = f.width,
        h = f.height;
      const m = 2 + (k % 3);
      const j = 1 + Math.floor(r() * (m - 1));
      const t = j / m;
      // Motion-weighted crops: of 10 random windows keep the 2 where frames k and k+m differ most, plus 1 random
      // window (static background teaches nothing beyond blending).
      const cands = [];
      for (let q = 0; q < 10; q++) {
        const x0 = Math.floor(r() * (w - tile)),
          y0 = Math.floor(r() * (h - tile));
        let motion = 0;
        for (let y = 0; y < tile; y += 4)
          for (let x = 0; x < tile; x += 4) {
            const i = (y0 + y) * w + x0 + x;
            motion += Math.abs(win[0][i] - win[m][i]) + Math.abs(win[0][h * w + i] - win[m][h * w + i]);
          }
        cands.push({ x0, y0, motion });
      }
      const picked = [
        ...cands
          .slice(0, 9)
          .sort((p, q) => q.motion - p.motion)
          .slice(0, 2),
        cands[9],
      ];
      for (const { x0, y0 } of picked) {
        // Time reversal (half the crops): frames k + m, k as the inputs and t' = 1 - t, so the model sees every t
        // from both sides and has no reason to treat the earlier and the later frame differently.
        const rev = r() < 0.5;
        const fa = crop(win[rev ? m : 0], w, h, x0, y0),
          fb = crop(win[rev ? 0 : m], w, h, x0, y0);
        const input = interpolationInput(fa, fb, rev ? 1 - t : t, norm);
        samples.push({
          input,
          channels: INTERP_CHANNELS,
          size: [tile, tile],
          target: crop(win[j], w, h, x0, y0),
          targetChannels: 3,
        });
        const key = `${rev ? m - j : j}/${m}`;
        tCount[key] = (tCount[key] ?? 0) + 1;
      }
    }
  };
  await addCrops(VTEST, 0, 600);
  // Megamind.avi frames 60-269 (animation, colour) for variety; its frames 0-40 stay held out for evaluation.
  if (existsSync(MEGA)) await addCrops(MEGA, 60, 210);
  log('interp training crops by t', JSON.stringify(tCount));
  const valSet = samples.filter((_, i) => i % 20 === 0);
  const trainSet = samples.filter((_, i) => i % 20 !== 0);
  const schedule = [
    { size: 32, epochs: 2 },
    { size: 64, epochs: 4 },
  ];
  const seed = 3;
  const entry = ZOO['s4nd-interpolator'];
  const model = engine.createModel(
    entry.build({ channels: INTERP_CHANNELS, size: [tile, tile], outputs: 3, width: 16, normalize: norm }),
    seed,
  );
  entry.init(model); // starts as linear blending at the requested t
  const t0 = Date.now();
  const { state, runDir } = await trainSamples(model, trainSet, valSet, {
    task: 'interpolate',
    schedule,
    batchSize: 16,
    lr: 5e-3,
    seed,
    validationSizes: [64],
    patience: 4,
    augment: { flip: true, crop: 0, intensity: 0 },
    normalize: norm,
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  await model.save(path.join(runDir, 'final.safetensors'));
  const cardBase = {
    name: 'Frame interpolator (S4ND, any t)',
    task: 'interpolate',
    architecture: 's4nd-interpolator',
    classes: [],
    input: {
      channels: INTERP_CHANNELS,
      dims: 2,
      size: [tile, tile],
      normalize: norm,
      multiple: 1,
      resolutionFlexible: true,
    },
    trainingResolutions: [32, 64],
    params: model.paramCount(),
    lineage: lineage(
      `vtest.avi frames 0-599${existsSync(MEGA) ? ' and Megamind.avi frames 60-269' : ''} (Debian opencv-doc), motion-weighted 64x64 crops of frames k, k+m and target k+j (t = j/m, m = 2, 3, 4)`,
      trainSet,
      valSet.length,
      schedule,
      seed,
      state,
    ),
  };
  // Full-frame evaluation at t = 1/2 (frames k, k+2 -> k+1) and t = 1/3, 2/3 (frames k, k+3 -> k+1, k+2): the model
  // vs linear blending at t vs repeating the nearer source frame (the earlier one at t = 1/2).
  const card = { ...cardBase, id: 'eval', description: '', metrics: [], onnx: null, builtin: false };
  const evalVideo = async (file, start, count) => {
    const fr = await frames(file, start, count);
    const zero = () => ({ model: [0, 0], blend: [0, 0], repeat: [0, 0], n: 0 });
    const sums = { '1/2': zero(), '1/3': zero(), '2/3': zero() };
    const score = async (key, a, b, real, t, w, h) => {
      const pred = (await interpolatePair(model, card, a, b, t, h, w)).map((v) => Math.min(1, Math.max(0, v)));
      const blend = a.map((v, i) => (1 - t) * v + t * b[i]);
      const s = sums[key];
      for (const [name, x] of [
        ['model', pred],
        ['blend', blend],
        ['repeat', t <= 0.5 ? a : b],
      ]) {
        s[name][0] += psnr(x, real);
        s[name][1] += ssim(x, real, 3, h, w);
      }
      s.n++;
    };
    for (let q = 0; q + 2 < fr.length; q += 2) {
      const { w, h } = fr[q];
      await score('1/2', fr[q].planes, fr[q + 2].planes, fr[q + 1].planes, 1 / 2, w, h);
    }
    for (let q = 0; q + 3 < fr.length; q += 3) {
      const { w, h } = fr[q];
      await score('1/3', fr[q].planes, fr[q + 3].planes, fr[q + 1].planes, 1 / 3, w, h);
      await score('2/3', fr[q].planes, fr[q + 3].planes, fr[q + 2].planes, 2 / 3, w, h);
    }
    const out = {};
    for (const [key, s] of Object.entries(sums)) {
      out[key] = { pairs: s.n };
      for (const name of ['model', 'blend', 'repeat'])
        out[key][name] = { psnr: s[name][0] / s.n, ssim: s[name][1] / s.n };
    }
    return out;
  };
  const heldVtest = await evalVideo(VTEST, 600, 41);
  const mega = existsSync(MEGA) ? await evalVideo(MEGA, 0, 41) : null;
  log('interp vtest held-out', JSON.stringify(heldVtest), 'megamind', JSON.stringify(mega));
  const fmt = (e) =>
    `model ${e.model.psnr.toFixed(2)} dB / ${e.model.ssim.toFixed(4)}, linear blend ${e.blend.psnr.toFixed(2)} dB / ${e.blend.ssim.toFixed(4)}, frame repetition ${e.repeat.psnr.toFixed(2)} dB / ${e.repeat.ssim.toFixed(4)}`;
  const metricRow = (e) => ({
    psnr: e.model.psnr,
    ssim: e.model.ssim,
    blend_psnr: e.blend.psnr,
    blend_ssim: e.blend.ssim,
    repeat_psnr: e.repeat.psnr,
    repeat_ssim: e.repeat.ssim,
  });
  const meanThirds = (name, m) => (heldVtest['1/3'][name][m] + heldVtest['2/3'][name][m]) / 2;
  await register('frame-interp-s4nd', path.join(runDir, 'final.safetensors'), {
    ...cardBase,
    description: `${entry.description}. Runs on 64×64 tiles at rate 1 (motion is in pixels). Held-out vtest frames 600-640 at full 768×576: t = 1/2 (${heldVtest['1/2'].pairs} frames): ${fmt(heldVtest['1/2'])}; t = 1/3 (${heldVtest['1/3'].pairs}): ${fmt(heldVtest['1/3'])}; t = 2/3 (${heldVtest['2/3'].pairs}): ${fmt(heldVtest['2/3'])}. Metrics (size 576): unsuffixed keys are t = 1/2, keys ending _t1_3 / _t2_3 are t = 1/3 / 2/3.`,
    metrics: [
      {
        size: 576,
        metrics: {
          ...metricRow(heldVtest['1/2']),
          ...Object.fromEntries(
            ['1/3', '2/3'].flatMap((key) =>
              Object.entries(metricRow(heldVtest[key])).map(([m, v]) => [`${m}_t${key.replace('/', '_')}`, v]),
            ),
          ),
        },
      },
    ],
  });
  report.interp = {
    trainSeconds,
    steps: state.step,
    timeConditioned: true,
    trainCrops: tCount,
    vtestHeldOut: heldVtest,
    vtestThirdsMean: {
      model: { psnr: meanThirds('model', 'psnr'), ssim: meanThirds('model', 'ssim') },
      blend: { psnr: meanThirds('blend', 'psnr'), ssim: meanThirds('blend', 'ssim') },
      repeat: { psnr: meanThirds('repeat', 'psnr'), ssim: meanThirds('repeat', 'ssim') },
    },
    megamind: mega,
  };
  model.dispose();
}

writeFileSync(path.join(MODELS, 'TRAINING.json'), `${JSON.stringify(report, null, 2)}\n`);
log('wrote models/TRAINING.json');
