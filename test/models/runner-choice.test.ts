// The runtime chooser over the shipped models (models/): the engine and onnxruntime runners agree; the first use of a
// model at a size bucket measures both and writes the decision, later uses (same or new runner) read it; a corrupt
// cache file is ignored; a model without ONNX runs on the engine; a non-uniformly rescaled input (the engine's single
// rate vs the export's per-axis rate) is measured against the checkpoint's rate-input export. Assertions never depend
// on which runtime wins.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import type { onnx as OnnxTypes } from 'onnx-proto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { rng } from '../../main/models/dataset.js';
import { ModelManager } from '../../main/models/manager.js';
import {
  AGREE_TOLERANCE,
  CACHE_FILE,
  chooserStats,
  EngineRunner,
  OnnxRunner,
  sizeBucket,
  type Output,
} from '../../main/models/runner.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxTypes };

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssm-runner-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runner agreement tolerance: max|onnx − engine| / max|engine| (the parity check at registration uses 1e-3; the
 *  exporter measures ~1e-6). */
const TOL = 1e-4;

function input(shape: number[], seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = r() * 2 - 1;
  return x;
}

function relErr(a: Output, b: Output): number {
  expect(a.shape).toEqual(b.shape);
  let num = 0,
    den = 0;
  for (let i = 0; i < b.data.length; i++) {
    num = Math.max(num, Math.abs((a.data[i] as number) - (b.data[i] as number)));
    den = Math.max(den, Math.abs(b.data[i] as number));
  }
  return num / Math.max(den, 1e-12);
}

let cacheN = 0;
function managerWithFreshCache(): { manager: ModelManager; cacheFile: string } {
  const cacheDir = path.join(tmp, `cache-${cacheN++}`);
  return {
    manager: new ModelManager({ userDir: path.join(tmp, 'user'), cacheDir }),
    cacheFile: path.join(cacheDir, CACHE_FILE),
  };
}

beforeEach(() => {
  chooserStats.measured = 0;
  chooserStats.cached = 0;
});

describe('engine and ONNX runners', () => {
  it.each([
    ['fashion-mnist-s4nd', [1, 1, 28, 28]],
    ['fashion-mnist-s4nd', [4, 1, 14, 14]],
    ['brain-mri-s4nd-unet', [2, 1, 96, 96]],
    ['brain-mri-s4nd-unet', [1, 1, 48, 48]],
  ])(`%s at %j: same outputs within ${TOL} (relative to the output's max)`, async (id, shape) => {
    const { manager } = managerWithFreshCache();
    const reg = await manager.get(id);
    const engine = await EngineRunner.open(reg.checkpoint);
    const onnx = await OnnxRunner.open(readFileSync(reg.onnx as string));
    try {
      const base = reg.card.input.size[0] as number;
      const rate = base / (shape[2] as number);
      const x = input(shape, 7);
      const e = await engine.predict(x, shape, { rate });
      const o = await onnx.predict(x, shape, { rate });
      const err = relErr(o, e);
      console.log(`${id} ${shape.join('x')}: max rel |onnx - engine| = ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOL);
    } finally {
      await engine.dispose();
      await onnx.dispose();
    }
  });
});

describe('runtime chooser', () => {
  it('measures a bucket once, writes the decision, and later runners read it from the cache file', async () => {
    const { manager, cacheFile } = managerWithFreshCache();
    const reg = await manager.get('fashion-mnist-s4nd');
    const shape = [1, 1, 28, 28];
    const x = input(shape, 1);
    const a = await manager.runner(reg);
    let first: Output;
    try {
      first = await a.predict(x, shape, { rate: 1 });
      expect(chooserStats.measured).toBe(1);
      await a.predict(x, shape, { rate: 1 }); // same bucket, same runner: no new decision
      await a.predict(input([1, 1, 30, 30], 2), [1, 1, 30, 30], { rate: 28 / 30 }); // 30 -> bucket 32, as 28
      expect(chooserStats.measured).toBe(1);
      expect(a.decisions.get(sizeBucket(shape))?.source).toBe('measured');
    } finally {
      await a.dispose();
    }
    const file = JSON.parse(readFileSync(cacheFile, 'utf8')) as {
      version: number;
      decisions: Record<string, { runtime: string; engineMs: number; onnxMs: number; runs: number }>;
    };
    const keys = Object.keys(file.decisions);
    expect(keys.length).toBe(1);
    expect(keys[0]).toContain('fashion-mnist-s4nd|');
    expect(keys[0]).toContain('|b1:32x32|');
    expect(keys[0]).toContain(`threads=`);
    const d = file.decisions[keys[0] as string];
    expect(['engine', 'onnx']).toContain(d?.runtime);
    expect(d?.engineMs).toBeGreaterThan(0);
    expect(d?.onnxMs).toBeGreaterThan(0);
    expect(a.runtime).toBe(d?.runtime);
    console.log(`fashion-mnist-s4nd b1:32x32 decision: ${JSON.stringify(d)}`);

    const b = await manager.runner(reg);
    try {
      const again = await b.predict(x, shape, { rate: 1 });
      expect(chooserStats.measured).toBe(1);
      expect(chooserStats.cached).toBe(1);
      expect(b.decisions.get(sizeBucket(shape))?.source).toBe('cache');
      expect([...b.used]).toEqual([d?.runtime]);
      expect(relErr(again, first)).toBeLessThanOrEqual(TOL);
      // A new bucket is a new measurement.
      await b.predict(input([3, 1, 56, 56], 3), [3, 1, 56, 56], { rate: 0.5 });
      expect(chooserStats.measured).toBe(2);
    } finally {
      await b.dispose();
    }
    const after = JSON.parse(readFileSync(cacheFile, 'utf8')) as { decisions: Record<string, unknown> };
    expect(Object.keys(after.decisions).length).toBe(2);
  });

  it('concurrent first calls at one bucket measure it once', async () => {
    const { manager } = managerWithFreshCache();
    const reg = await manager.get('fashion-mnist-s4nd');
    const r = await manager.runner(reg);
    try {
      const shape = [1, 1, 28, 28];
      const outs = await Promise.all([1, 2, 3].map((s) => r.predict(input(shape, s), shape, { rate: 1 })));
      expect(outs.map((o) => o.shape)).toEqual([
        [1, 10],
        [1, 10],
        [1, 10],
      ]);
      expect(chooserStats.measured).toBe(1);
    } finally {
      await r.dispose();
    }
  });

  it('ignores a corrupt cache file (no crash), measures, and rewrites it', async () => {
    const { manager, cacheFile } = managerWithFreshCache();
    const reg = await manager.get('fashion-mnist-s4nd');
    const shape = [1, 1, 28, 28];
    const junks = [
      '{"version": 1, "decisions": {"x": ',
      '\u0000\u00ff garbage',
      '[1,2,3]',
      '{"version":1,"decisions":{"k":{"runtime":"gpu"}}}',
    ];
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    for (const [i, junk] of junks.entries()) {
      writeFileSync(cacheFile, junk);
      const r = await manager.runner(reg);
      try {
        const out = await r.predict(input(shape, 5), shape, { rate: 1 });
        expect(out.shape).toEqual([1, 10]);
        expect(chooserStats.measured).toBe(i + 1);
      } finally {
        await r.dispose();
      }
      const rewritten = JSON.parse(readFileSync(cacheFile, 'utf8')) as { version: number; decisions: object };
      expect(rewritten.version).toBe(1);
      expect(Object.keys(rewritten.decisions).length).toBe(1);
    }
  });

  it('keeps the engine when the ONNX file disagrees with it on the measured input (a tampered bias)', async () => {
    const { manager, cacheFile } = managerWithFreshCache();
    const builtin = await manager.get('fashion-mnist-s4nd');
    const { id: _id, onnx: _onnx, builtin: _b, ...card } = builtin.card;
    const reg = await manager.register(builtin.checkpoint, { ...card, id: 'tampered-onnx' }, { onnx: 'auto' });
    const m = onnx.ModelProto.decode(readFileSync(reg.onnx as string));
    const bias = m.graph?.initializer?.find((t) => (t.dims ?? []).map(Number).join(',') === '10');
    if (!bias?.rawData) throw new Error('no (10) initializer with raw data in the export');
    const f = new Float32Array(new Uint8Array(bias.rawData).slice().buffer);
    for (let i = 0; i < f.length; i++) f[i] = (f[i] as number) + (i % 2 ? 3 : -3);
    bias.rawData = new Uint8Array(f.buffer);
    writeFileSync(reg.onnx as string, onnx.ModelProto.encode(m).finish());
    const r = await manager.runner(reg);
    try {
      await r.predict(input([1, 1, 28, 28], 6), [1, 1, 28, 28], { rate: 1 });
      expect(r.runtime).toBe('engine');
      const d = r.decisions.get('b1:32x32')?.decision;
      expect(d?.maxRel).toBeGreaterThan(AGREE_TOLERANCE.rel);
      expect(existsSync(cacheFile)).toBe(true);
    } finally {
      await r.dispose();
    }
  });

  it('runs a model without ONNX on the engine (no measurement, no cache entry)', async () => {
    const { manager, cacheFile } = managerWithFreshCache();
    const builtin = await manager.get('fashion-mnist-s4nd');
    const { id: _id, onnx: _onnx, builtin: _b, ...card } = builtin.card;
    const reg = await manager.register(builtin.checkpoint, { ...card, id: 'no-onnx-copy' }, { onnx: 'off' });
    expect(reg.onnx).toBeNull();
    expect(reg.hasEngine).toBe(true);
    const r = await manager.runner(reg);
    try {
      await r.predict(input([1, 1, 28, 28], 9), [1, 1, 28, 28], { rate: 1 });
      expect(r.runtime).toBe('engine');
      expect(r.decisions.get('b1:32x32')?.source).toBe('only');
      expect(chooserStats.measured).toBe(0);
      expect(existsSync(cacheFile)).toBe(false);
    } finally {
      await r.dispose();
    }
    await expect(manager.runner(reg, 'onnx')).rejects.toThrow(/no ONNX file/);
  });

  it('measures a non-uniformly rescaled input against the rate-input export (the engine\u2019s single rate)', async () => {
    const { manager, cacheFile } = managerWithFreshCache();
    const reg = await manager.get('brain-mri-s4nd-unet');
    const r = await manager.runner(reg);
    try {
      // A 96×112 slice of a model trained at 96×96: the registered export would run per-axis rates (1 and 0.857),
      // the engine one rate (their geometric mean); the rate-input export is fed that same rate.
      const shape = [1, 1, 96, 112];
      const rate = Math.sqrt((96 / 96) * (96 / 112));
      const out = await r.predict(input(shape, 4), shape, { rate });
      expect(out.shape).toEqual([1, 1, 96, 112]);
      const d = r.decisions.get(r.decisionKey(shape));
      expect(r.decisionKey(shape)).toBe('b1:128x128|rate-input');
      expect(d?.source).toBe('measured');
      expect(d?.onnx).toBe('rate-input');
      expect(d?.decision?.onnx).toBe('rate-input');
      expect(d?.decision?.maxRel).toBeLessThanOrEqual(TOL);
      console.log(`brain 96x112 (rate-input export): ${JSON.stringify(d?.decision)}`);
      const keys = Object.keys((JSON.parse(readFileSync(cacheFile, 'utf8')) as { decisions: object }).decisions);
      expect(keys.length).toBe(1);
      expect(keys[0]).toMatch(/\|b1:128x128\|.*\|rate-input$/);
      // The uniform 96×96 input is a different decision (the registered file), under its own key.
      await r.predict(input([1, 1, 96, 96], 5), [1, 1, 96, 96], { rate: 1 });
      expect(r.decisions.get('b1:128x128')?.onnx).toBe('file');
      expect(chooserStats.measured).toBe(2);
    } finally {
      await r.dispose();
    }
  });
});
