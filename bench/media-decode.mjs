#!/usr/bin/env node
// Media decode benchmark: decodes a long 1080p video frame by frame through readFrames (ffmpeg → pipe → one frame at
// a time) and reports peak RSS of this process and frames/s as JSON on stdout. Progress goes to stderr.
//
//   node bench/media-decode.mjs [--minutes 10] [--width 1920] [--height 1080] [--fps 25] [--bound-mib 256]
//
// The video is ffmpeg's testsrc, encoded once with low-complexity settings (libx264 ultrafast) and cached in
// $TMPDIR/ssm-bench/; the JSON says whether it was generated in this run and how long that took.
// Needs the build (`node scripts/build.mjs main`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;
if (!existsSync(path.join(root, 'dist/main/media/video.js'))) {
  console.error('bench: dist/ is missing, run `node scripts/build.mjs main` first');
  process.exit(1);
}
const { probeVideo, readFrames } = await import(dist('main/media/video.js'));
const { ffmpegPaths } = await import(dist('main/media/ffmpeg-path.js'));

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    width: { type: 'string', default: '1920' },
    height: { type: 'string', default: '1080' },
    fps: { type: 'string', default: '25' },
    'bound-mib': { type: 'string', default: '256' },
  },
});
const minutes = Number(values.minutes);
const width = Number(values.width);
const height = Number(values.height);
const fps = Number(values.fps);
const boundMiB = Number(values['bound-mib']);
const seconds = Math.round(minutes * 60);

const cacheDir = path.join(os.tmpdir(), 'ssm-bench');
mkdirSync(cacheDir, { recursive: true });
const video = path.join(cacheDir, `testsrc-${width}x${height}-${fps}fps-${seconds}s.mp4`);
let generationSeconds = null;
if (!existsSync(video)) {
  console.error(`bench: generating ${video} (${seconds} s of ${width}×${height} testsrc, libx264 ultrafast) …`);
  const t0 = performance.now();
  const tmp = `${video}.tmp.mp4`;
  execFileSync(
    ffmpegPaths().ffmpeg,
    [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-crf',
      '30',
      '-g',
      String(fps * 10),
      '-pix_fmt',
      'yuv420p',
      tmp,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  renameSync(tmp, video);
  generationSeconds = (performance.now() - t0) / 1000;
}

/** RSS in bytes of this process's child processes (the ffmpeg decoder), from /proc (Linux); 0 elsewhere. */
function childrenRss() {
  if (process.platform !== 'linux') return 0;
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

const info = await probeVideo(video);
const mib = (b) => b / 2 ** 20;
global.gc?.();
const baselineRss = process.memoryUsage().rss;
let peakRss = baselineRss;
let peakChildRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  peakChildRss = Math.max(peakChildRss, childrenRss());
}, 250);

let frames = 0;
let checksum = 0;
const t0 = performance.now();
for await (const frame of readFrames(video, info)) {
  // A little work per frame, as a consumer would do: sample a few pixels.
  checksum = (checksum + frame.data[0] + frame.data[frame.data.length >> 1] + frame.data[frame.data.length - 1]) % 1e9;
  frames += 1;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (frames % 1000 === 0) {
    const s = (performance.now() - t0) / 1000;
    console.error(
      `bench: ${frames}/${info.frames} frames, ${(frames / s).toFixed(1)} fps, peak RSS ${mib(peakRss).toFixed(0)} MiB`,
    );
  }
}
const decodeSeconds = (performance.now() - t0) / 1000;
clearInterval(sampler);

const result = {
  benchmark: 'media-decode',
  machine: { cpus: os.availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` },
  ffmpeg: ffmpegPaths().ffmpeg,
  video: {
    path: video,
    width: info.width,
    height: info.height,
    fps: info.fps,
    frames: info.frames,
    durationSeconds: info.durationSeconds,
    codec: info.codec,
    sizeBytes: statSync(video).size,
    generatedThisRun: generationSeconds !== null,
    generationSeconds,
  },
  decode: {
    frames,
    seconds: Number(decodeSeconds.toFixed(2)),
    framesPerSecond: Number((frames / decodeSeconds).toFixed(2)),
    frameBytes: info.width * info.height * 3,
    checksum,
  },
  memory: {
    baselineRssMiB: Number(mib(baselineRss).toFixed(1)),
    peakRssMiB: Number(mib(peakRss).toFixed(1)),
    boundMiB,
    withinBound: mib(peakRss) <= boundMiB,
    ffmpegPeakRssMiB: Number(mib(peakChildRss).toFixed(1)),
    note: 'peakRssMiB: this Node process (frames arrive one at a time through a pipe); ffmpegPeakRssMiB: the decoder child, sampled every 250 ms',
  },
  ok: frames === info.frames && mib(peakRss) <= boundMiB,
};
console.log(JSON.stringify(result, null, 2));
process.exitCode = result.ok ? 0 : 1;
