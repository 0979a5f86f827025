// `ssm-studio interpolate` on a 10-fps clip (10 vtest frames at 96×72, encoded here) through the real launcher with
// the shipped time-conditioned interpolator: --factor 3 and --fps 25 to lossless PNG sequences give the right frame
// count and rate, and every source frame whose timestamp is on the output grid comes out pixel-identical to the
// decoded source frame. Bad factors / rates are refused. Needs `node scripts/build.mjs main` and opencv-doc.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../main/app/paths.js';
import { encodeVideo } from '../../main/media/video-encode.js';
import { probeVideo, readFrames } from '../../main/media/video.js';
import { ensurePackage, VTEST } from './data.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssm-interp-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const clip = path.join(tmp, 'clip10.mp4');
const source: Buffer[] = [];

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/ssm-studio.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SSM_DATA_DIR: path.join(tmp, 'data') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function png(file: string): Promise<Buffer> {
  return sharp(file).removeAlpha().raw().toBuffer();
}

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/main/cli/index.js')))
    throw new Error('dist/ is missing: run `node scripts/build.mjs main`');
  ensurePackage('opencv-doc', VTEST);
  const info = await probeVideo(VTEST);
  async function* frames(): AsyncGenerator<Uint8Array> {
    for await (const f of readFrames(VTEST, info, { start: 300, count: 10, width: 96, height: 72 })) yield f.data;
  }
  await encodeVideo(frames(), { out: clip, width: 96, height: 72, fps: '10/1' });
  const ci = await probeVideo(clip);
  for await (const f of readFrames(clip, ci)) source.push(Buffer.from(f.data));
}, 60_000);

describe('ssm-studio interpolate: any factor, any fps', () => {
  it('the 10-fps clip has 10 frames', async () => {
    const ci = await probeVideo(clip);
    expect(ci.fps).toBeCloseTo(10, 6);
    expect(source).toHaveLength(10);
  });

  it('--factor 3 -> PNG: 28 frames at 30 fps, source frame i is output frame 3i pixel for pixel', async () => {
    const out = path.join(tmp, 'x3', '%05d.png');
    const r = cli('interpolate', clip, '--factor', '3', '-o', out, '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const s = JSON.parse(r.stdout) as { frames: number; fps: number; fpsRational: string; kept: number };
    expect(s).toMatchObject({ frames: 28, fps: 30, fpsRational: '30/1', kept: 10 });
    const files = readdirSync(path.dirname(out)).sort();
    expect(files).toHaveLength(28);
    for (let i = 0; i < 10; i++)
      expect((await png(path.join(path.dirname(out), files[3 * i] as string))).equals(source[i] as Buffer)).toBe(true);
    // The new frames are not copies of either neighbour.
    const mid = await png(path.join(path.dirname(out), files[1] as string));
    expect(mid.equals(source[0] as Buffer) || mid.equals(source[1] as Buffer)).toBe(false);
  }, 60_000);

  it('--fps 25 -> PNG: 23 frames (k / 25 s), source frames 0, 2, 4, 6, 8 at outputs 0, 5, 10, 15, 20 pixel for pixel', async () => {
    const out = path.join(tmp, 'f25', 'f%03d.png');
    const r = cli('interpolate', clip, '--fps', '25', '-o', out, '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const s = JSON.parse(r.stdout) as { frames: number; fps: number; fpsRational: string; kept: number };
    expect(s).toMatchObject({ frames: 23, fps: 25, fpsRational: '25/1', kept: 5 });
    const files = readdirSync(path.dirname(out)).sort();
    expect(files).toHaveLength(23);
    for (const i of [0, 2, 4, 6, 8])
      expect((await png(path.join(path.dirname(out), files[(i * 5) / 2] as string))).equals(source[i] as Buffer)).toBe(
        true,
      );
  }, 60_000);

  it('a non-integer factor and a rate <= 0 are refused with a clear message', () => {
    const bad = cli('interpolate', clip, '--factor', '2.5', '-o', path.join(tmp, 'bad.mp4'), '--json');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/integer ≥ 2/);
    const bad2 = cli('interpolate', clip, '--fps', '0', '-o', path.join(tmp, 'bad.mp4'), '--json');
    expect(bad2.code).toBe(1);
    expect(bad2.stdout).toMatch(/> 0/);
  });
});
