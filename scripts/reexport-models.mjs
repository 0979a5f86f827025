#!/usr/bin/env node
// Re-exports the shipped models' model.onnx from their committed checkpoints (model.safetensors is only read) with
// the current exporter, re-measures the registration parity check (main/models/manager.ts: the same inputs and
// tolerance, engine vs onnxruntime CPU EP) and writes the figures into each card.json's onnx.parity.
// With --webgpu the same check is also run on onnxruntime's WebGPU EP (SwiftShader unless VK_ICD_FILENAMES is set)
// and printed. With --check nothing is exported or written: the committed model.onnx files are measured.
// Usage: node scripts/build.mjs native main && node scripts/reexport-models.mjs [--check] [--webgpu] [id...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const webgpu = args.includes('--webgpu');
const ids = args.filter((a) => !a.startsWith('--'));
if (webgpu) {
  process.env.VK_ICD_FILENAMES ??= execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'swiftshader.mjs')], {
    encoding: 'utf8',
  }).trim();
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(os.tmpdir(), 'ssm-xdg-'));
}
const dist = (p) => import(path.join(ROOT, 'dist', p));
const { Model } = await dist('main/engine/model.js');
const { exportOnnx, readExportState } = await dist('main/onnx/export.js');
const { checkParity } = await dist('main/onnx/parity.js');
const { parityInputs, PARITY_TOLERANCE } = await dist('main/models/manager.js');
const { createWebGpuSession } = await dist('main/gpu/ort.js');

const MODELS = path.join(ROOT, 'models');
const fmt = (r) => r.resolutions.map((p) => `${p.size.join('×')} ${p.maxRel.toExponential(2)}`).join(', ');
for (const id of ids.length > 0 ? ids : ['fashion-mnist-s4nd', 'brain-mri-s4nd-unet', 'frame-interp-s4nd']) {
  const dir = path.join(MODELS, id);
  const cardFile = path.join(dir, 'card.json');
  const card = JSON.parse(readFileSync(cardFile, 'utf8'));
  const checkpoint = path.join(dir, 'model.safetensors');
  const model = await Model.fromCheckpoint(checkpoint);
  try {
    const bytes = check
      ? new Uint8Array(readFileSync(path.join(dir, 'model.onnx')))
      : exportOnnx(model, { state: await readExportState(checkpoint), producer: 'ssm-studio' });
    const inputs = parityInputs(model, card.input.multiple ?? 1);
    const cpu = await checkParity(model, bytes, inputs, PARITY_TOLERANCE);
    console.log(`${id}: CPU EP ${cpu.ok ? 'pass' : 'FAIL'}: ${fmt(cpu)}`);
    if (webgpu) {
      const session = await createWebGpuSession(bytes);
      try {
        const gpu = await checkParity(model, bytes, inputs, PARITY_TOLERANCE, { session });
        console.log(`${id}: WebGPU EP ${gpu.ok ? 'pass' : 'FAIL'}: ${fmt(gpu)}`);
      } finally {
        await session.release();
      }
    }
    if (check) continue;
    if (!cpu.ok) throw new Error(`${id}: the re-exported model fails the CPU parity check; nothing written`);
    writeFileSync(path.join(dir, 'model.onnx'), bytes);
    const parity = cpu.resolutions.map((r) => ({ size: r.size, maxRel: r.maxRel, ok: r.ok }));
    writeFileSync(cardFile, `${JSON.stringify({ ...card, onnx: { ...card.onnx, parity } }, null, 2)}\n`);
    console.log(`${id}: wrote model.onnx (${bytes.length} bytes) and card.json onnx.parity`);
  } finally {
    model.dispose();
  }
}
