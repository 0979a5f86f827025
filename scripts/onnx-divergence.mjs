#!/usr/bin/env node
// Where an exported model's output on onnxruntime's WebGPU EP departs from its CPU EP: every node output of a copy
// of model.onnx becomes a graph output (onnx-proto), both EPs run it (graph optimisations off, so the nodes are the
// exported ones) on the registration parity inputs (main/models/manager.ts parityInputs), and the float32 values
// whose max|webgpu − cpu| / max|cpu| exceeds the threshold are listed in graph order: the first line is the first node
// that diverges. SwiftShader unless VK_ICD_FILENAMES is set.
// Usage: node scripts/build.mjs main && node scripts/onnx-divergence.mjs <model id> [model.onnx] [--threshold 1e-5]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const t = args.indexOf('--threshold');
const threshold = t >= 0 ? Number(args.splice(t, 2)[1]) : 1e-5;
const [id, file] = args;
if (!id) throw new Error('usage: onnx-divergence.mjs <model id> [model.onnx] [--threshold 1e-5]');
process.env.VK_ICD_FILENAMES ??= execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'swiftshader.mjs')], {
  encoding: 'utf8',
}).trim();
process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(os.tmpdir(), 'ssm-xdg-'));
const require = createRequire(path.join(ROOT, 'package.json'));
const { onnx } = require('onnx-proto');
const ort = require('onnxruntime-node');
const { parityInputs } = await import(path.join(ROOT, 'dist/main/models/manager.js'));

const card = JSON.parse(readFileSync(path.join(ROOT, 'models', id, 'card.json'), 'utf8'));
const model = onnx.ModelProto.decode(readFileSync(file ?? path.join(ROOT, 'models', id, 'model.onnx')));
const outputs = new Set(model.graph.output.map((o) => o.name));
const order = [];
for (const node of model.graph.node)
  for (const name of node.output)
    if (name && !outputs.has(name)) {
      model.graph.output.push({ name });
      order.push([name, node.opType]);
    }
for (const name of outputs) order.push([name, 'graph output']);
const bytes = onnx.ModelProto.encode(model).finish();
const opts = { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 };
const cpu = await ort.InferenceSession.create(bytes, { ...opts, executionProviders: ['cpu'] });
const gpu = await ort.InferenceSession.create(bytes, { ...opts, executionProviders: ['webgpu'] });
const spec = { input: { size: card.input.size, channels: card.input.channels } };
for (const input of parityInputs({ spec }, card.input.multiple ?? 1)) {
  const feeds = { x: new ort.Tensor('float32', input.x, input.shape) };
  const a = await cpu.run(feeds);
  const b = await gpu.run(feeds);
  console.log(`== input ${input.shape.join('x')}: values with max rel > ${threshold}, in graph order`);
  for (const [name, op] of order) {
    const [ta, tb] = [a[name], b[name]];
    if (!(ta?.data instanceof Float32Array) || !tb) continue;
    let num = 0;
    let den = 0;
    for (let i = 0; i < ta.data.length; i++) {
      num = Math.max(num, Math.abs(ta.data[i] - tb.data[i]));
      den = Math.max(den, Math.abs(ta.data[i]));
    }
    const rel = den > 0 ? num / den : num;
    if (rel > threshold || op === 'graph output')
      console.log(`${rel.toExponential(2)}  ${op}  ${name}  [${ta.dims.join('x')}]`);
  }
}
await Promise.all([cpu.release(), gpu.release()]);
