// The infer job's service through the runtime chooser: on the CPU backend the shipped classifier runs on the engine
// or onnxruntime (whichever was measured faster here) and the result says which; an imported ONNX classifier (no
// engine checkpoint) runs on onnxruntime: with WebGPU asked for, on its WebGPU EP where that starts and passes the
// check, else on the CPU EP with the reason (test/models/infer-webgpu.test.ts covers the WebGPU EP on SwiftShader).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { Suggestion } from '../../contract/models.js';
import { runInference } from '../../main/models/infer-service.js';
import { ModelManager } from '../../main/models/manager.js';
import { CACHE_FILE } from '../../main/models/runner.js';
import { classifierBytes } from './onnx-import-fixtures.js';
import { fashionProject } from './project-fixture.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssm-runner-infer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cacheDir = path.join(tmp, 'cache');
const manager = new ModelManager({ userDir: path.join(tmp, 'models'), cacheDir });
const ctx = { signal: new AbortController().signal, progress: (): void => undefined, manager };

describe('infer service through the runtime chooser', () => {
  it('classifies a project with the shipped model and with an imported ONNX model, reporting the runtime', async () => {
    const project = await fashionProject(path.join(tmp, 'project'), [0, 1], 3, 1);
    const shipped = await runInference({ project, task: 'classify' }, ctx);
    expect(shipped.suggestions).toBe(8);
    expect(shipped.runtime?.length).toBe(1);
    expect(['engine', 'onnx']).toContain(shipped.runtime?.[0]);
    expect(shipped.backend?.used).toBe('cpu');
    const decisions = (
      JSON.parse(readFileSync(path.join(cacheDir, CACHE_FILE), 'utf8')) as {
        decisions: Record<string, { runtime: string }>;
      }
    ).decisions;
    expect(Object.values(decisions).map((d) => d.runtime)).toEqual(shipped.runtime);

    const file = path.join(tmp, 'tiny.onnx');
    writeFileSync(file, classifierBytes());
    const reg = await manager.importOnnx(file, {
      task: 'classify',
      classes: ['dark', 'mid', 'bright'],
      inputSize: 28,
      channels: 1,
      mean: 0.5,
      std: 0.5,
      scores: 'probabilities',
    });
    const imported = await runInference({ project, task: 'classify', model: reg.card.id, backend: 'webgpu' }, ctx);
    if (imported.backend?.used === 'webgpu') {
      expect(imported.runtime).toEqual(['onnx-webgpu']);
      expect(imported.backend.reason).toBeNull();
    } else {
      expect(imported.runtime).toEqual(['onnx']);
      expect(imported.backend).toMatchObject({ requested: 'webgpu', used: 'cpu' });
      expect(imported.backend?.reason).toMatch(
        /^onnxruntime webgpu not used: .*; an imported ONNX model runs on onnxruntime \(CPU\)$/,
      );
    }
    const saved = JSON.parse(readFileSync(imported.file, 'utf8')) as Suggestion[];
    expect(saved.length).toBe(8);
    for (const s of saved) {
      if (s.kind !== 'class') throw new Error('expected class suggestions');
      expect(s.top.map((t) => t.label).sort()).toEqual(['bright', 'dark', 'mid']);
    }
  });
});
