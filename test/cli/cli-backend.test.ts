// `--backend cpu|webgpu` on the model commands through the real launcher (bin/ssm-studio.js -> dist/): classify a
// shipped sample image with the default classifier on the CPU and on WebGPU (SwiftShader, VK_ICD_FILENAMES from
// scripts/swiftshader.mjs in the child's env, as test/gpu/gpu-test-device.ts sets it for in-process tests): the same
// top class, probabilities within 5e-3, stdout's JSON lines with the same fields, and stderr naming where it ran. No
// Vulkan driver: the CPU, the fallback reason on stderr, exit 0. A bad value: a usage error, exit 2. Needs
// `node scripts/build.mjs native main`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../main/app/paths.js';

const IMAGE = path.join(ROOT, 'samples/images/fashion-mnist/ankle_boot/t10k-00000.png');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssm-cli-backend-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let icd = '';

type Top = { index: number; label: string; p: number };
type Line = { file: string; model: string; runtime: string | null; top: Top[] };

function cli(env: Record<string, string>, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/ssm-studio.js'), ...args], {
    encoding: 'utf8',
    timeout: 80_000,
    // A data and cache dir of its own: the WebGPU parity check runs here, not from another run's cached verdict.
    env: {
      ...process.env,
      SSM_DATA_DIR: path.join(tmp, 'data'),
      SSM_CACHE_DIR: path.join(tmp, 'cache'),
      XDG_RUNTIME_DIR: tmp,
      ...env,
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const parse = (stdout: string): Line => {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as Line;
};

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist/main/cli/index.js')))
    throw new Error('dist/ is missing: run `node scripts/build.mjs main`');
  icd =
    process.env['SSM_GPU_TEST_DRIVER'] === 'system'
      ? (process.env['VK_ICD_FILENAMES'] ?? '')
      : execFileSync(process.execPath, [path.join(ROOT, 'scripts/swiftshader.mjs')], {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        }).trim();
});

describe('ssm-studio --backend', () => {
  it('classify --backend webgpu (SwiftShader) gives the CPU top class within 5e-3 and says where on stderr', () => {
    const cpu = cli({}, 'classify', IMAGE, '--backend', 'cpu', '--json', '--top', '10');
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(cpu.stderr).toBe('');
    const gpu = cli({ VK_ICD_FILENAMES: icd }, 'classify', IMAGE, '--backend', 'webgpu', '--json', '--top', '10');
    expect(gpu.code, gpu.stderr).toBe(0);
    const where = gpu.stderr.split('\n').filter((l) => l.startsWith('ssm-studio: running on '));
    expect(where).toHaveLength(1);
    expect(where[0]).toMatch(/^ssm-studio: running on (onnxruntime )?webgpu \(.*swiftshader/i);
    const a = parse(cpu.stdout);
    const b = parse(gpu.stdout);
    // The same per-file fields as on the CPU (no backend field on the lines).
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(b.model).toBe(a.model);
    expect(b.top[0]?.label).toBe('Ankle boot');
    expect(b.top[0]?.label).toBe(a.top[0]?.label);
    expect(b.top).toHaveLength(10);
    let worst = 0;
    for (const t of a.top) {
      const other = b.top.find((x) => x.index === t.index);
      expect(other, t.label).toBeDefined();
      worst = Math.max(worst, Math.abs((other?.p ?? 0) - t.p));
    }
    expect(worst).toBeLessThan(5e-3);
    console.log(`classify --backend webgpu: ${where[0]}; max |Δp| vs cpu ${worst.toExponential(2)}`);
  }, 85_000);

  it('an unusable GPU (no Vulkan driver) falls back to the CPU with the reason on stderr, exit 0', () => {
    const r = cli({ VK_ICD_FILENAMES: '/nonexistent' }, 'classify', IMAGE, '--backend', 'webgpu', '--json');
    expect(r.code, r.stderr).toBe(0);
    const where = r.stderr.split('\n').filter((l) => l.startsWith('ssm-studio: running on '));
    expect(where).toHaveLength(1);
    expect(where[0]).toMatch(/^ssm-studio: running on cpu \(.*webgpu not used: .*adapter/i);
    expect(parse(r.stdout).top[0]?.label).toBe('Ankle boot');
  }, 60_000);

  it('a bad --backend is a usage error (exit 2) on every command that takes it; --help lists it', () => {
    const cases: string[][] = [
      ['classify', IMAGE],
      ['segment', IMAGE, '-o', path.join(tmp, 'm.png')],
      ['interpolate', 'clip.mp4', '--factor', '2', '-o', path.join(tmp, 'o.mp4')],
      ['train', '--project', tmp],
    ];
    for (const args of cases) {
      const r = cli({}, ...args, '--backend', 'gpu');
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/--backend must be cpu or webgpu, got 'gpu'/);
      expect(r.stderr).toMatch(/usage: .*\[--backend cpu\|webgpu\]/);
      const help = cli({}, args[0] as string, '--help');
      expect(help.stdout).toMatch(/\[--backend cpu\|webgpu\]/);
    }
    const both = cli({}, 'classify', IMAGE, '--backend', 'webgpu', '--runtime', 'onnx');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--runtime chooses a CPU runtime: it cannot be combined with --backend webgpu/);
    const json = cli({}, 'classify', IMAGE, '--backend', 'metal', '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: 'bad_request', message: "--backend must be cpu or webgpu, got 'metal'" },
    });
  }, 60_000);
});
