// Through the real launcher (bin/ssm-studio.js -> dist/; needs `node scripts/build.mjs main`): `models import
// file.onnx` with a mapping, `classify --json` with the imported model (runtime "onnx") and with the shipped default
// (runtime "engine" or "onnx", decided once and read from runtime-choice.json afterwards), a refused corrupt import.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ModelCard } from '../../contract/index.js';
import { ROOT } from '../../main/app/paths.js';
import { classifierBytes } from './onnx-import-fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssm-onnx-import-cli-'));
const dataDir = path.join(tmp, 'data');
const cacheDir = path.join(tmp, 'cache');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/ssm-studio.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SSM_DATA_DIR: dataDir, SSM_CACHE_DIR: cacheDir },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const onnxFile = path.join(tmp, 'tiny.onnx');
const image = path.join(tmp, 'img.png');

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/main/cli/index.js')))
    throw new Error('dist/ is missing: run `node scripts/build.mjs main`');
  writeFileSync(onnxFile, classifierBytes());
  const px = Buffer.alloc(28 * 28);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 256;
  await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(image);
});

const userIds = (): string[] =>
  (JSON.parse(cli('models', 'list', '--json').stdout) as ModelCard[]).filter((c) => !c.builtin).map((c) => c.id);

describe('models import <file.onnx> and classify with it', () => {
  it('imports with a mapping, classifies on onnxruntime, refuses a corrupt file with nothing registered', () => {
    const imp = cli(
      'models',
      'import',
      onnxFile,
      '--task',
      'classify',
      '--classes',
      'dark,mid,bright',
      '--input-size',
      '28',
      '--channels',
      '1',
      '--mean',
      '0.5',
      '--std',
      '0.5',
      '--input',
      'pixels',
      '--output',
      'probs',
      '--scores',
      'probabilities',
      '--json',
    );
    expect(imp.code, imp.stderr).toBe(0);
    const card = JSON.parse(imp.stdout) as ModelCard;
    expect(card.onnx?.io?.input).toBe('pixels');
    expect(card.lineage.imported?.file).toBe(onnxFile);
    expect(userIds()).toEqual([card.id]);

    const r = cli('classify', image, '--model', card.id, '--json');
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout) as { runtime: string; top: { label: string; p: number }[] };
    expect(line.runtime).toBe('onnx');
    expect(line.top.map((t) => t.label).sort()).toEqual(['bright', 'dark', 'mid']);
    expect(line.top.reduce((a, t) => a + t.p, 0)).toBeCloseTo(1, 3);

    const corrupt = path.join(tmp, 'corrupt.onnx');
    writeFileSync(corrupt, readFileSync(onnxFile).subarray(0, 200));
    const bad = cli('models', 'import', corrupt, '--task', 'classify', '--classes', 'a,b,c', '--input-size', '28');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/corrupt\.onnx cannot be imported: .*nothing was registered/);
    const noMapping = cli('models', 'import', onnxFile, '--classes', 'a,b,c');
    expect(noMapping.code).not.toBe(0);
    expect(noMapping.stderr).toMatch(/needs --task/);
    expect(userIds()).toEqual([card.id]);
  });

  it('classify --json with the shipped classifier reports the runtime; the decision is measured once, then cached', () => {
    const first = cli('classify', image, '--json');
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { runtime: string; top: { index: number }[] };
    expect(['engine', 'onnx']).toContain(a.runtime);
    const cacheFile = path.join(cacheDir, 'runtime-choice.json');
    const decisions = (): Record<string, { runtime: string; date: string }> =>
      (JSON.parse(readFileSync(cacheFile, 'utf8')) as { decisions: Record<string, { runtime: string; date: string }> })
        .decisions;
    const d1 = decisions();
    const key = Object.keys(d1).find((k) => k.startsWith('fashion-mnist-s4nd|')) as string;
    expect(d1[key]?.runtime).toBe(a.runtime);
    const second = cli('classify', image, '--json');
    const b = JSON.parse(second.stdout) as { runtime: string; top: { index: number }[] };
    expect(b.runtime).toBe(a.runtime);
    expect(b.top[0]?.index).toBe(a.top[0]?.index);
    expect(decisions()[key]?.date).toBe(d1[key]?.date); // read, not re-measured
    // Both runtimes forced give the same top class.
    const e = JSON.parse(cli('classify', image, '--json', '--runtime', 'engine').stdout) as typeof a;
    const o = JSON.parse(cli('classify', image, '--json', '--runtime', 'onnx').stdout) as typeof a;
    expect([e.runtime, o.runtime]).toEqual(['engine', 'onnx']);
    expect(o.top).toEqual(e.top);
  });
});
