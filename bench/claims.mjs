#!/usr/bin/env node
// The two S4ND claims, measured on real Fashion-MNIST (Debian dataset-fashion-mnist) with the app's own training loop:
//  1. zero-shot resolution change: an S4ND classifier and a Conv2D baseline, both trained only at 14×14, tested at
//     14×14 and at 28×28 (S4ND with rate 0.5; the CNN simply runs on the larger grid);
//  2. progressive resizing: 14 -> 28 px (same epoch count) vs 28 px throughout: wall-clock and test accuracy at 28.
// Writes bench/claims.json and prints the figures. Usage: node bench/claims.mjs [--train N] [--epochs E]
// (npm run bench -- claims once registered in bench/run.mjs). Needs `node scripts/build.mjs main`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(ROOT, 'dist', p));

export async function main(args = process.argv.slice(2)) {
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const N = opt('train', 12000);
  const EPOCHS = opt('epochs', 4);
  const { Engine } = await dist('main/engine/model.js');
  const { ZOO } = await dist('main/models/zoo.js');
  const { train, initialState, evaluate } = await dist('main/models/train.js');
  const { atSize } = await dist('main/models/dataset.js');
  const dir = '/usr/share/datasets/fashion-mnist';
  const idx = (f) => {
    const b = gunzipSync(readFileSync(path.join(dir, f)));
    return b.subarray(4 + 4 * b[3]);
  };
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
  const trainSet = load('train', 0, N);
  const valSet = load('train', 58000, 1000);
  const testSet = load('t10k', 0, 10000);
  const engine = new Engine();

  async function run(arch, base, schedule, seed = 1) {
    const entry = ZOO[arch];
    const model = engine.createModel(entry.build({ channels: 1, size: [base, base], outputs: 10 }), seed);
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'ssm-claims-'));
    const config = {
      task: 'classify',
      schedule,
      batchSize: 64,
      lr: entry.lr,
      seed,
      validationSizes: [base],
      patience: 100,
      augment: { flip: true, crop: 0, intensity: 0 },
      normalize: norm,
    };
    // Data at the base size: a model "trained at 14" never sees 28 px images.
    const data = atSize(trainSet, [base, base]);
    const val = atSize(valSet, [base, base]);
    const t0 = performance.now();
    const out = await train(model, data, val, config, initialState(config, data.length), runDir, { progress() {} });
    const seconds = (performance.now() - t0) / 1000;
    await model.load(out.best);
    const test = {};
    for (const size of [14, 28]) test[size] = (await evaluate(model, 'classify', testSet, size, norm)).accuracy;
    const params = model.paramCount();
    model.dispose();
    rmSync(runDir, { recursive: true, force: true });
    console.log(
      `${arch} trained at ${schedule.map((s) => `${s.size}px×${s.epochs}`).join(' -> ')}: ${seconds.toFixed(1)} s, test accuracy 14px ${test[14].toFixed(4)}, 28px ${test[28].toFixed(4)} (${params} params)`,
    );
    return { arch, schedule, seconds, params, testAccuracy: test };
  }

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', loadavg: os.loadavg() },
    data: {
      train: N,
      val: valSet.length,
      test: testSet.length,
      source: 'Fashion-MNIST (Debian dataset-fashion-mnist)',
    },
  };
  console.log(`claim 1: zero-shot 14 -> 28 (train ${N} images, ${EPOCHS} epochs at 14 px)`);
  const s4nd14 = await run('s4nd-isotropic', 14, [{ size: 14, epochs: EPOCHS }]);
  const conv14 = await run('conv2d', 14, [{ size: 14, epochs: EPOCHS }]);
  report.zeroShot = {
    s4nd: s4nd14,
    conv2d: conv14,
    drop: {
      s4nd: s4nd14.testAccuracy[14] - s4nd14.testAccuracy[28],
      conv2d: conv14.testAccuracy[14] - conv14.testAccuracy[28],
    },
  };
  console.log(`claim 2: progressive 14 -> 28 vs 28 throughout (${EPOCHS} epochs each)`);
  const half = Math.max(1, Math.floor(EPOCHS / 2));
  const prog = await run('s4nd-isotropic', 28, [
    { size: 14, epochs: half },
    { size: 28, epochs: EPOCHS - half },
  ]);
  const full = await run('s4nd-isotropic', 28, [{ size: 28, epochs: EPOCHS }]);
  report.progressive = {
    progressive: prog,
    full28: full,
    speedup: full.seconds / prog.seconds,
    accuracyDelta28: prog.testAccuracy[28] - full.testAccuracy[28],
  };
  const out = path.join(ROOT, 'bench', 'claims.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(
    `zero-shot accuracy drop 14 -> 28: S4ND ${(report.zeroShot.drop.s4nd * 100).toFixed(1)} points, Conv2D ${(report.zeroShot.drop.conv2d * 100).toFixed(1)} points`,
  );
  console.log(
    `progressive 14->28: ${prog.seconds.toFixed(1)} s vs ${full.seconds.toFixed(1)} s at 28 throughout (×${report.progressive.speedup.toFixed(2)} faster), accuracy at 28: ${prog.testAccuracy[28].toFixed(4)} vs ${full.testAccuracy[28].toFixed(4)}`,
  );
  console.log(`wrote ${out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
