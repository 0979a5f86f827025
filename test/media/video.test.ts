// Video: metadata, frame-accurate random access, clips, filmstrips, encoding back with timing and audio, corrupt input.
// Fixtures are made at test time with the bundled ffmpeg: a 64×48 grey ramp (frame n has luma 4n), 60 frames at 25 fps.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AppError } from '../../main/ipc/app-error.js';
import { probeFile } from '../../main/media/probe.js';
import { encodeVideo } from '../../main/media/video-encode.js';
import {
  decodeClip,
  decodeFrame,
  filmstrip,
  probeVideo,
  readFrames,
  videoThumbnail,
  type VideoInfo,
} from '../../main/media/video.js';
import { debianFile, ffmpeg, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('ssm-video-');
afterAll(cleanup);

const RAMP_IN = ['-f', 'lavfi', '-i', 'color=black:s=64x48:r=25:d=2.4'];
const RAMP_VF = ['-vf', "geq=lum='N*4':cb=128:cr=128"];
const RAMP = [...RAMP_IN, ...RAMP_VF];
const CONTAINERS: Record<string, string[]> = {
  mp4: ['-c:v', 'libx264', '-g', '12', '-bf', '2', '-pix_fmt', 'yuv420p'],
  mov: ['-c:v', 'libx264', '-g', '12', '-pix_fmt', 'yuv420p'],
  mkv: ['-c:v', 'libx264', '-g', '12', '-pix_fmt', 'yuv420p'],
  webm: ['-c:v', 'libvpx-vp9', '-g', '12', '-deadline', 'realtime', '-cpu-used', '8'],
  avi: ['-c:v', 'mpeg4', '-g', '12', '-q:v', '2'],
};
const file = (ext: string): string => path.join(dir, `ramp.${ext}`);

async function allFrames(f: string, info: VideoInfo): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const fr of readFrames(f, info)) out.push(fr.data);
  return out;
}

beforeAll(() => {
  for (const [ext, args] of Object.entries(CONTAINERS)) ffmpeg([...RAMP, ...args, file(ext)]);
  // With a real audio track (AAC), for pass-through on encode.
  ffmpeg([
    ...RAMP_IN,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=2.4',
    ...RAMP_VF,
    ...(CONTAINERS.mp4 as string[]),
    '-c:a',
    'aac',
    '-shortest',
    path.join(dir, 'audio.mp4'),
  ]);
  // Left half white, right half black, tagged rotate=90 (written by ffmpeg 4.1's muxer).
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=white:s=32x48:r=25:d=0.2',
    '-f',
    'lavfi',
    '-i',
    'color=black:s=32x48:r=25:d=0.2',
    '-filter_complex',
    'hstack',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv444p',
    '-qp',
    '0',
    path.join(dir, 'halves.mp4'),
  ]);
  ffmpeg([
    '-i',
    path.join(dir, 'halves.mp4'),
    '-c',
    'copy',
    '-metadata:s:v:0',
    'rotate=90',
    path.join(dir, 'rotated.mp4'),
  ]);
  // Large enough that the sample data, not the index, is most of the file.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=320x240:r=25:d=2',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    path.join(dir, 'big.mp4'),
  ]);
  ffmpeg([...RAMP, ...(CONTAINERS.mp4 as string[]), '-movflags', '+faststart', path.join(dir, 'faststart.mp4')]);
});

describe.each(Object.keys(CONTAINERS))('%s', (ext) => {
  it('metadata, sequential decode and frame-accurate random access', async () => {
    const info = await probeVideo(file(ext));
    expect([info.format, info.width, info.height, info.frames]).toEqual([ext, 64, 48, 60]);
    expect(info.fps).toBeCloseTo(25, 6);
    expect(info.durationSeconds).toBeCloseTo(2.4, 1);
    const seq = await allFrames(file(ext), info);
    expect(seq).toHaveLength(60);
    // The ramp brightens every frame (luma 4n, limited range: visible from frame 4 on), tolerance ±3 for the codec.
    for (let n = 5; n < 60; n += 1)
      expect((seq[n] as Uint8Array)[0]).toBeGreaterThan(((seq[n - 1] as Uint8Array)[0] as number) - 3);
    for (const k of [0, 1, 11, 12, 13, 37, 59]) {
      const fr = await decodeFrame(file(ext), info, { frame: k });
      expect(fr.index).toBe(k);
      expect(Buffer.from(fr.data).equals(Buffer.from(seq[k] as Uint8Array))).toBe(true);
    }
  });
});

it('decodes by time, as a clip tensor at a chosen size, and as a filmstrip', async () => {
  const info = await probeVideo(file('mp4'));
  const seq = await allFrames(file('mp4'), info);
  const byTime = await decodeFrame(file('mp4'), info, { time: 1.0 });
  expect(byTime.index).toBe(25);
  expect(Buffer.from(byTime.data).equals(Buffer.from(seq[25] as Uint8Array))).toBe(true);

  const clip = await decodeClip(file('mp4'), info, { start: 10, count: 8, width: 32, height: 24 });
  expect(clip.shape).toEqual([8, 24, 32, 3]);
  expect(clip.data.length).toBe(8 * 24 * 32 * 3);
  // A flat frame stays flat when scaled: clip frame t ≈ source frame 10 + t (±2).
  for (let t = 0; t < 8; t += 1)
    expect(
      Math.abs((clip.data[t * 24 * 32 * 3] as number) - ((seq[10 + t] as Uint8Array)[0] as number)),
    ).toBeLessThanOrEqual(2);

  const strip = await filmstrip(file('mp4'), info, 4, 24);
  const meta = await sharp(strip).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual(['png', 4 * 32, 24]);
  const thumb = await sharp(await videoThumbnail(file('mp4'), info, 32)).metadata();
  expect([thumb.width, thumb.height]).toEqual([32, 24]);
});

it('reports rotation metadata and decodes rotated frames at the displayed size, turned the way it reports', async () => {
  const info = await probeVideo(path.join(dir, 'rotated.mp4'));
  // ffmpeg 4.1's muxer stores rotate=90 as a display matrix that ffmpeg itself shows turned 90° counter-clockwise,
  // i.e. 270° clockwise: the white left half ends up at the bottom. `rotation` reports what decoding does.
  expect(info.rotation).toBe(270);
  expect([info.width, info.height]).toEqual([48, 64]);
  const fr = await decodeFrame(path.join(dir, 'rotated.mp4'), info, { frame: 3 });
  expect([fr.width, fr.height, fr.data.length]).toEqual([48, 64, 48 * 64 * 3]);
  expect(fr.data[0]).toBeLessThan(10); // top-left: black
  expect(fr.data[(63 * 48 + 47) * 3]).toBeGreaterThan(245); // bottom-right: white
});

it('stopping early ends ffmpeg at once (no decode of the rest)', async () => {
  const info = await probeVideo(file('mp4'));
  let n = 0;
  const t0 = Date.now();
  for await (const fr of readFrames(file('mp4'), info)) {
    expect(fr.data.length).toBe(64 * 48 * 3);
    n += 1;
    if (n === 2) break;
  }
  expect(n).toBe(2);
  expect(Date.now() - t0).toBeLessThan(5000);
});

it('backpressure: a paused consumer stops ffmpeg after a few frames (Linux: bytes ffmpeg wrote, from /proc)', async () => {
  if (process.platform !== 'linux') return;
  const f = path.join(dir, 'long.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=320x240:r=25:d=12',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    f,
  ]);
  const info = await probeVideo(f);
  const frameBytes = 320 * 240 * 3;
  const written = (): number => {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        if (!/^Name:\s+ffmpeg/m.test(status) || Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
        return Number(/^wchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? -1);
      } catch {
        // gone meanwhile
      }
    }
    return -1;
  };
  let n = 0;
  let wrote = -1;
  for await (const fr of readFrames(f, info)) {
    expect(fr.data.length).toBe(frameBytes);
    n += 1;
    if (n === 5) {
      await new Promise((r) => setTimeout(r, 500)); // the consumer is busy; ffmpeg must wait on the full pipe
      wrote = written();
      break;
    }
  }
  expect(info.frames).toBe(300);
  expect(wrote).toBeGreaterThan(5 * frameBytes - 1);
  // Without backpressure ffmpeg would have written most of the 300 frames (69 MB) in 500 ms; the pipe and the
  // stream buffer hold well under 10 frames.
  expect(wrote).toBeLessThan(15 * frameBytes);
});

describe('encoding result frames back to video', () => {
  for (const ext of ['mp4', 'webm'] as const) {
    it(`${ext}: source timing and audio are kept`, async () => {
      const src = path.join(dir, 'audio.mp4');
      const info = await probeVideo(src);
      expect(info.hasAudio).toBe(true);
      async function* inverted(): AsyncGenerator<Uint8Array> {
        for await (const fr of readFrames(src, info)) yield fr.data.map((v) => 255 - v);
      }
      const out = path.join(dir, `encoded.${ext}`);
      const written = await encodeVideo(inverted(), {
        out,
        width: info.width,
        height: info.height,
        fps: info.fpsRational,
        audioFrom: src,
        audioCodec: info.audioCodec,
      });
      expect(written).toBe(60);
      const back = await probeVideo(out);
      expect([back.frames, back.width, back.height, back.hasAudio]).toEqual([60, 64, 48, true]);
      expect(back.fps).toBeCloseTo(25, 6);
      expect(back.codec).toBe(ext === 'mp4' ? 'h264' : 'vp9');
      expect(back.audioCodec).toBe(ext === 'mp4' ? 'aac' : 'opus');
      // Frame 0 of the source is black, so the inverted frame 0 is white (±4 for the codec).
      const f0 = await decodeFrame(out, back, { frame: 0 });
      expect(f0.data[0]).toBeGreaterThan(250);
    });
  }

  it('refuses an odd frame size and leaves no file behind', async () => {
    const out = path.join(dir, 'odd.mp4');
    await expect(encodeVideo([new Uint8Array(3 * 3 * 3)], { out, width: 3, height: 3, fps: '25/1' })).rejects.toThrow(
      /must be even/,
    );
    expect(() => readFileSync(out)).toThrow();
  });
});

describe('real video (OpenCV sample data)', () => {
  it('vtest.avi (MS-MPEG4) and tree.avi (Cinepak, variable frame rate) decode frame-accurately', async () => {
    const vtest = debianFile('opencv-doc', '/usr/share/doc/opencv-doc/examples/data/vtest.avi');
    const info = await probeVideo(vtest);
    expect([info.width, info.height, info.frames, info.codec]).toEqual([768, 576, 795, 'msmpeg4v3']);
    expect(info.fps).toBeCloseTo(10, 6);
    const tree = debianFile('opencv-doc', '/usr/share/doc/opencv-doc/examples/data/tree.avi');
    const t = await probeVideo(tree);
    expect([t.width, t.height, t.frames, t.variableFrameRate]).toEqual([320, 240, 68, true]);
    const seq = await allFrames(tree, t);
    expect(seq).toHaveLength(68);
    for (const k of [1, 30, 67]) {
      const fr = await decodeFrame(tree, t, { frame: k });
      expect(Buffer.from(fr.data).equals(Buffer.from(seq[k] as Uint8Array))).toBe(true);
    }
  });
});

describe('corrupt input', () => {
  async function expectCorrupt(f: string, message: RegExp): Promise<void> {
    const err = await probeFile(f).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('corrupt_input');
    expect((err as AppError).message).toMatch(message);
  }

  it('truncated MP4 (index at the end: moov missing)', async () => {
    const bytes = readFileSync(path.join(dir, 'big.mp4'));
    const cut = path.join(dir, 'cut.mp4');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expectCorrupt(cut, /truncated or corrupt MP4: moov atom not found/);
  });

  it('truncated MP4 (index first: frames missing)', async () => {
    const bytes = readFileSync(path.join(dir, 'faststart.mp4'));
    const cut = path.join(dir, 'cut-faststart.mp4');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.5)));
    await expectCorrupt(cut, /truncated video: the header lists 60 frames but only \d+ are present/);
  });

  it('random bytes named .mp4 and .webm', async () => {
    for (const ext of ['mp4', 'webm']) {
      const f = path.join(dir, `random.${ext}`);
      writeFileSync(f, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 2654435761) % 253)));
      await expectCorrupt(f, new RegExp(`not a (MP4|WebM) file`));
    }
  });

  it('an audio-only file is unsupported, not corrupt', async () => {
    const f = path.join(dir, 'audio-only.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5', '-c:a', 'aac', f]);
    const err = await probeFile(f).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'unsupported', message: 'MP4 holds only audio, no video stream' });
  });

  it('frame index out of range', async () => {
    const info = await probeVideo(file('mp4'));
    await expect(decodeFrame(file('mp4'), info, { frame: 60 })).rejects.toThrow(
      /frame 60 is out of range \(the video has 60 frames\)/,
    );
  });
});
