// Importing plain third-party ONNX models with an input/output mapping: tiny real models built here with the graph
// builder (main/onnx/graph.ts) — a fixed-size NCHW classifier with softmax probabilities and a dynamic NHWC segmenter
// with a background channel — imported, run through classify/segment (onnxruntime, the only runtime they have), and
// compared with a direct onnxruntime run on the same normalised input. Corrupt / hostile / mismatched files are
// refused with a clear error and nothing is registered.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import type * as OrtTypes from 'onnxruntime-node';
import type { onnx as OnnxTypes } from 'onnx-proto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { OnnxImportParams } from '../../contract/models.js';
import { resample, rng } from '../../main/models/dataset.js';
import { classifyImage, segmentFile } from '../../main/models/infer.js';
import { ModelManager } from '../../main/models/manager.js';
import { loadImage, normalizeInPlace } from '../../main/models/media-input.js';
import { classifierBytes, segmenterBytes } from './onnx-import-fixtures.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof OrtTypes;
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxTypes };

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssm-onnx-import-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const manager = new ModelManager({ userDir: path.join(tmp, 'models'), cacheDir: path.join(tmp, 'cache') });

const CLASSIFY: OnnxImportParams = {
  task: 'classify',
  classes: ['dark', 'mid', 'bright'],
  inputSize: 28,
  channels: 1,
  mean: 0.5,
  std: 0.5,
  input: 'pixels',
  output: 'probs',
  scores: 'probabilities',
};

async function png(file: string, w: number, h: number, f: (x: number, y: number) => number): Promise<string> {
  const data = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  await sharp(data, { raw: { width: w, height: h, channels: 1 } })
    .png()
    .toFile(file);
  return file;
}

const files = { classifier: '', segmenter: '' };
beforeAll(() => {
  files.classifier = path.join(tmp, 'tiny-classifier.onnx');
  writeFileSync(files.classifier, classifierBytes());
  files.segmenter = path.join(tmp, 'tiny-segmenter.onnx');
  writeFileSync(files.segmenter, segmenterBytes());
});

async function ortRun(
  file: string,
  name: string,
  x: Float32Array,
  shape: number[],
  out: string,
): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(file);
  try {
    const r = await s.run({ [name]: new ort.Tensor('float32', x, shape) });
    return r[out]?.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('import a plain ONNX classifier with a mapping', () => {
  it('registers it (no engine checkpoint, ONNX mapping, lineage marks the import) and classifies like a direct ORT run', async () => {
    const reg = await manager.importOnnx(files.classifier, { ...CLASSIFY, name: 'Tiny classifier' });
    expect(reg.hasEngine).toBe(false);
    expect(reg.card.builtin).toBe(false);
    expect(reg.card.architecture).toBe('onnx-import');
    expect(reg.card.params).toBe(784 * 3 + 3);
    expect(reg.card.lineage.imported?.file).toBe(files.classifier);
    expect(reg.card.lineage.imported?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(reg.card.onnx?.io).toEqual({
      input: 'pixels',
      output: 'probs',
      layout: 'nchw',
      scores: 'probabilities',
      background: false,
      fixedSize: [28, 28],
    });
    expect((await manager.list()).map((m) => m.card.id)).toContain(reg.card.id);

    // A 28×28 gradient and a 40×40 bright image (resampled to the declared 28×28).
    const images = [
      await png(path.join(tmp, 'grad.png'), 28, 28, (x, y) => (x * 9 + y * 3) % 256),
      await png(path.join(tmp, 'bright40.png'), 40, 40, (x, y) => 200 + ((x + y) % 40)),
    ];
    const runner = await manager.runner(reg);
    try {
      for (const file of images) {
        const top = await classifyImage(runner, reg.card, file, { top: 3 });
        expect(runner.runtime).toBe('onnx');
        const img = await loadImage(file, 1);
        const x = normalizeInPlace(resample(img.data, 1, [img.height, img.width], [28, 28]), { mean: 0.5, std: 0.5 });
        const p = await ortRun(files.classifier, 'pixels', x, [1, 1, 28, 28], 'probs');
        const want = Array.from(p)
          .map((v, index) => ({ index, p: v }))
          .sort((a, b) => b.p - a.p);
        console.log(`${path.basename(file)}: app ${JSON.stringify(top)} direct ORT ${JSON.stringify(want)}`);
        expect(top.map((t) => t.index)).toEqual(want.map((w) => w.index));
        for (const [i, t] of top.entries()) {
          expect(t.label).toBe(CLASSIFY.classes[t.index]);
          // classifyImage rounds p to 1e-4; softmax(log p) of the mapped probabilities is p up to float32 rounding.
          expect(Math.abs(t.p - (want[i]?.p ?? NaN))).toBeLessThanOrEqual(1e-4);
        }
      }
    } finally {
      await runner.dispose();
    }
    await expect(manager.runner(reg, 'engine')).rejects.toThrow(/no engine checkpoint/);

    // Export (model.onnx + card.json, no checkpoint) and import the folder back: re-validated like a fresh import.
    const out = await manager.export(reg.card.id, path.join(tmp, 'exported'));
    const back = await manager.import(out);
    expect(back.card.id).not.toBe(reg.card.id);
    expect(back.hasEngine).toBe(false);
    expect(back.card.onnx?.io).toEqual(reg.card.onnx?.io);
    expect(back.card.classes).toEqual(CLASSIFY.classes);
    await expect(manager.import(files.classifier)).rejects.toThrow(/needs its mapping/);
  });

  it('imports an NHWC segmenter with a background channel and segments like a direct ORT argmax', async () => {
    const reg = await manager.importOnnx(files.segmenter, {
      task: 'segment',
      classes: ['a', 'b'],
      inputSize: 32,
      channels: 1,
      mean: 0.5,
      std: 0.5,
      layout: 'nhwc',
    });
    expect(reg.card.onnx?.io).toMatchObject({
      input: 'img',
      output: 'seg',
      layout: 'nhwc',
      background: true,
      fixedSize: null,
    });
    const file = await png(path.join(tmp, 'seg.png'), 32, 32, (x) => Math.round((x / 31) * 255));
    const runner = await manager.runner(reg);
    try {
      const seg = await segmentFile(runner, reg.card, file, { isDir: false });
      expect(runner.runtime).toBe('onnx');
      const { data: mask, info } = await sharp(seg.bytes).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([32, 32, 1]);
      const img = await loadImage(file, 1);
      const x = normalizeInPlace(Float32Array.from(img.data), { mean: 0.5, std: 0.5 });
      const y = await ortRun(files.segmenter, 'img', x, [1, 32, 32, 1], 'seg');
      let same = 0;
      const counts = [0, 0, 0];
      for (let p = 0; p < 32 * 32; p++) {
        const v = [y[p * 3], y[p * 3 + 1], y[p * 3 + 2]] as number[];
        const want = v.indexOf(Math.max(...v));
        counts[want] = (counts[want] ?? 0) + 1;
        if (mask[p] === want) same++;
      }
      expect(counts.every((c) => c > 0)).toBe(true); // all three labels occur: a meaningful comparison
      expect(same).toBe(32 * 32);
    } finally {
      await runner.dispose();
    }
  });
});

describe('refused imports register nothing', () => {
  const bad = async (file: string, params: OnnxImportParams, message: RegExp): Promise<void> => {
    const before = (await manager.list()).map((m) => m.card.id);
    const err = await manager.importOnnx(file, params).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err, `${path.basename(file)} should be refused`).not.toBeNull();
    expect(err?.message).toMatch(message);
    console.log(`refused: ${err?.message}`);
    expect((await manager.list()).map((m) => m.card.id)).toEqual(before);
  };

  it('random bytes, a truncated file, an empty file', async () => {
    const junk = path.join(tmp, 'junk.onnx');
    const r = rng(11);
    writeFileSync(junk, Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r() * 256))));
    await bad(
      junk,
      CLASSIFY,
      /junk\.onnx cannot be imported: (not an ONNX model|onnxruntime cannot load it).*nothing was registered/,
    );
    const cut = path.join(tmp, 'truncated.onnx');
    const full = readFileSync(files.classifier);
    writeFileSync(cut, full.subarray(0, Math.floor(full.length / 2)));
    await bad(cut, CLASSIFY, /truncated\.onnx cannot be imported/);
    const empty = path.join(tmp, 'empty.onnx');
    writeFileSync(empty, '');
    await bad(empty, CLASSIFY, /the file is empty/);
  });

  it('a tensor pointing at external data (e.g. /etc/passwd) and a custom op domain', async () => {
    const m = onnx.ModelProto.decode(classifierBytes());
    const w = m.graph?.initializer?.[0] as OnnxTypes.TensorProto;
    w.rawData = new Uint8Array(0);
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: '/etc/passwd' })];
    const ext = path.join(tmp, 'external.onnx');
    writeFileSync(ext, onnx.ModelProto.encode(m).finish());
    await bad(ext, CLASSIFY, /refers to external data/);

    const c = onnx.ModelProto.decode(classifierBytes());
    const node = c.graph?.node?.[0] as OnnxTypes.NodeProto;
    node.domain = 'com.evil';
    const custom = path.join(tmp, 'custom.onnx');
    writeFileSync(custom, onnx.ModelProto.encode(c).finish());
    await bad(custom, CLASSIFY, /custom domain 'com\.evil'/);
  });

  it('a mapping that does not fit the graph: input name, channels, size, class count, output channels', async () => {
    await bad(files.classifier, { ...CLASSIFY, input: 'image' }, /no input 'image' \(inputs: pixels\)/);
    await bad(files.classifier, { ...CLASSIFY, channels: 3 }, /takes 1 channel\(s\), the mapping says 3/);
    await bad(files.classifier, { ...CLASSIFY, inputSize: 32 }, /fixes the image size at 28/);
    await bad(files.classifier, { ...CLASSIFY, classes: ['a', 'b'] }, /holds 3 scores per image, but 2 classes/);
    await bad(files.classifier, { ...CLASSIFY, output: 'logits' }, /no output 'logits'/);
    await bad(
      files.segmenter,
      { task: 'segment', classes: ['a', 'b', 'c', 'd'], inputSize: 32, channels: 1, mean: 0, std: 1, layout: 'nhwc' },
      /has 3 channels; 4 classes need 4 \(per class\) or 5/,
    );
  });
});
