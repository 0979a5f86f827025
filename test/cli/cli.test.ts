// The `ssm-studio` CLI through its real launcher (bin/ssm-studio.js → dist/): info and import, JSON output,
// error objects and exit codes. Needs the build (`node scripts/build.mjs main`; `npm test` builds first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../main/app/paths.js';
import { DB_FILE } from '../../main/project/store.js';
import { ffmpeg, nibabel, tempDir, writeDicomSlice } from '../media/helpers.js';

const { dir, cleanup } = tempDir('ssm-cli-');
afterAll(cleanup);

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string; json: unknown } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/ssm-studio.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = null;
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/main/cli/index.js'))) {
    throw new Error('dist/ is missing: run `node scripts/build.mjs main` (npm test builds first)');
  }
  const g16 = new Uint16Array(20 * 10).map((_, i) => i * 300);
  await sharp(g16, { raw: { width: 20, height: 10, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(path.join(dir, 'g16.png'));
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=96x64:r=12:d=2',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    path.join(dir, 'clip.mp4'),
  ]);
  mkdirSync(path.join(dir, 'ct'));
  for (let k = 0; k < 4; k += 1) {
    writeDicomSlice({
      file: path.join(dir, 'ct', `${k}.dcm`),
      seriesUid: '2.25.31',
      rows: 3,
      columns: 5,
      pixels: new Uint16Array(15).fill(k),
      position: [0, 0, 1.5 * k],
      instance: k,
    });
  }
  writeFileSync(path.join(dir, 'broken.jpg'), Buffer.from('definitely not a jpeg, just text pretending to be one'));
});

describe('ssm-studio info', () => {
  it('16-bit PNG', () => {
    const r = cli('info', path.join(dir, 'g16.png'), '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      kind: 'image',
      format: 'png',
      width: 20,
      height: 10,
      frames: 1,
      bitDepth: 16,
      channels: 1,
    });
  });

  it('video: frames, fps, duration', () => {
    const r = cli('info', path.join(dir, 'clip.mp4'), '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      kind: 'video',
      width: 96,
      height: 64,
      frames: 24,
      fps: 12,
      durationSeconds: 2,
      rotation: 0,
      hasAudio: false,
    });
  });

  it('a DICOM series folder: slices and spacing', () => {
    const r = cli('info', path.join(dir, 'ct'), '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      kind: 'dicom',
      width: 5,
      height: 3,
      slices: 4,
      spacing: [0.75, 0.5, 1.5],
      bitDepth: 16,
    });
  });

  it('NIfTI: slices and spacing', () => {
    const r = cli('info', nibabel('anatomical.nii'), '--json');
    expect(r.json).toMatchObject({
      kind: 'nifti',
      width: 33,
      height: 41,
      slices: 25,
      spacing: [2, 2, 2],
      bitDepth: 16,
    });
  });

  it('any other folder: every media file, and the reason for each unreadable one', () => {
    const r = cli('info', dir, '--json');
    expect(r.code).toBe(0);
    const f = r.json as {
      kind: string;
      items: { path: string; kind: string }[];
      skipped: { path: string; reason: string }[];
    };
    expect(f.kind).toBe('folder');
    expect(f.items.map((i) => [path.basename(i.path), i.kind]).sort()).toEqual([
      ['clip.mp4', 'video'],
      ['ct', 'dicom'],
      ['g16.png', 'image'],
    ]);
    expect(f.skipped).toEqual([
      { path: path.join(dir, 'broken.jpg'), reason: 'not a JPEG file: its bytes match no known format' },
    ]);
  });

  it('human-readable output without --json', () => {
    const r = cli('info', path.join(dir, 'clip.mp4'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kind: +video \(mp4, h264\)/);
    expect(r.stdout).toMatch(/frames: +24/);
  });

  it('errors: an object with the reason and exit code 1; usage errors exit 2', () => {
    const bad = cli('info', path.join(dir, 'broken.jpg'), '--json');
    expect(bad.code).toBe(1);
    expect(bad.json).toEqual({
      error: { code: 'corrupt_input', message: 'not a JPEG file: its bytes match no known format' },
    });
    const missing = cli('info', path.join(dir, 'nope.png'), '--json');
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ error: { code: 'not_found' } });
    expect(cli('info', '--json').code).toBe(2);
    expect(cli('info', 'a', '--bogus').code).toBe(2);
    expect(cli('frobnicate').code).toBe(2);
  });

  it('--help lists the commands', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/info +show what/);
    expect(r.stdout).toMatch(/import +import files/);
  });
});

describe('ssm-studio import', () => {
  it('runs as a job through the job host and prints the result', () => {
    const project = path.join(dir, 'proj');
    const r = cli(
      'import',
      '--project',
      project,
      path.join(dir, 'g16.png'),
      path.join(dir, 'clip.mp4'),
      path.join(dir, 'ct'),
      path.join(dir, 'broken.jpg'),
      '--json',
    );
    expect(r.code).toBe(0);
    const out = r.json as {
      imported: number;
      skipped: { path: string; reason: string }[];
      items: { path: string; kind: string; frames: number }[];
    };
    expect(out.imported).toBe(3);
    expect(out.skipped).toEqual([
      { path: path.join(dir, 'broken.jpg'), reason: 'not a JPEG file: its bytes match no known format' },
    ]);
    expect(out.items.map((i) => [path.basename(i.path), i.kind, i.frames])).toEqual([
      ['g16.png', 'image', 1],
      ['clip.mp4', 'video', 24],
      ['ct', 'dicom', 1],
    ]);
    expect(existsSync(path.join(project, DB_FILE))).toBe(true);
    expect(r.stderr).toMatch(/\[\d+\/\d+\]/); // progress on stderr
    // Again, in-process: everything is already there.
    const again = cli('import', '--project', project, path.join(dir, 'g16.png'), '--json', '--in-process');
    expect(again.json).toMatchObject({ imported: 0, skipped: [{ reason: expect.stringMatching(/^duplicate of/) }] });
  });

  it('export writes labels, and refuses a folder that is not a project', () => {
    const project = path.join(dir, 'proj');
    const out = path.join(dir, 'exported', 'labels.json');
    const r = cli('export', '--project', project, '--format', 'labels-json', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ out, files: 1 });
    expect(cli('export', '--project', project, '--format', 'xlsx', '--out', out).code).toBe(2);
    const none = cli(
      'export',
      '--project',
      path.join(dir, 'not-a-project'),
      '--format',
      'coco',
      '--out',
      out,
      '--json',
    );
    expect(none.code).toBe(1);
    expect(none.json).toMatchObject({ error: { code: 'not_found' } });
  });

  it('requires --project', () => {
    const r = cli('import', path.join(dir, 'g16.png'), '--json');
    expect(r.code).toBe(2);
    expect(r.json).toEqual({ error: { code: 'bad_request', message: '--project <dir> is required' } });
  });
});
