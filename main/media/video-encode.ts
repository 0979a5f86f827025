// Encodes result frames back to a video (mp4: H.264 via libx264; webm: VP9 via libvpx-vp9) with the source's frame
// rate and its audio passed through. Frames are written into ffmpeg's stdin with backpressure; the output is written
// to a temporary file and renamed into place, so a failed encode leaves nothing half-written.
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';

import { AppError } from '../ipc/app-error.js';
import { ffmpegPaths } from './ffmpeg-path.js';
import { lastLines, spawnTool, ToolFailure } from './process.js';

export interface EncodeOptions {
  out: string;
  width: number;
  height: number;
  /** Frame rate as a rational, e.g. the source's VideoInfo.fpsRational ("30000/1001"). */
  fps: string;
  /** A source whose audio stream (if any) is copied (mp4: AAC/MP3 copied, else AAC; webm: Opus/Vorbis copied, else Opus). */
  audioFrom?: string;
  audioCodec?: string | null;
  signal?: AbortSignal;
}

function codecArgs(container: 'mp4' | 'webm', audioCodec: string | null | undefined): string[] {
  if (container === 'mp4') {
    const audio = audioCodec === 'aac' || audioCodec === 'mp3' ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '160k'];
    return [
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      ...audio,
    ];
  }
  const audio =
    audioCodec === 'opus' || audioCodec === 'vorbis' ? ['-c:a', 'copy'] : ['-c:a', 'libopus', '-b:a', '128k'];
  return [
    '-c:v',
    'libvpx-vp9',
    '-crf',
    '30',
    '-b:v',
    '0',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-pix_fmt',
    'yuv420p',
    ...audio,
  ];
}

/** Writes (H, W, 3) RGB frames to `out` (.mp4 or .webm). Returns the number of frames written. */
export async function encodeVideo(
  frames: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: EncodeOptions,
): Promise<number> {
  const ext = path.extname(opts.out).toLowerCase();
  const container = ext === '.mp4' || ext === '.m4v' ? 'mp4' : ext === '.webm' ? 'webm' : null;
  if (!container)
    throw new AppError('unsupported', `cannot encode to '${ext}': use .mp4 (H.264) or .webm (VP9)`, 'params.out');
  if (opts.width % 2 !== 0 || opts.height % 2 !== 0) {
    throw new AppError('unsupported', `frame size ${opts.width}×${opts.height} must be even for yuv420p`);
  }
  const tmp = path.join(path.dirname(opts.out), `.${path.basename(opts.out)}.${process.pid}.tmp${ext}`);
  const audioIn = opts.audioFrom ? ['-i', opts.audioFrom] : [];
  const maps = opts.audioFrom ? ['-map', '0:v:0', '-map', '1:a:0?'] : ['-map', '0:v:0'];
  const args = [
    '-v',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${opts.width}x${opts.height}`,
    '-framerate',
    opts.fps,
    '-i',
    'pipe:0',
    ...audioIn,
    ...maps,
    ...codecArgs(container, opts.audioFrom ? opts.audioCodec : null),
    '-f',
    container,
    tmp,
  ];
  const { child, done } = spawnTool(ffmpegPaths().ffmpeg, args, opts.signal);
  child.stdout.resume();
  const frameBytes = opts.width * opts.height * 3;
  let written = 0;
  try {
    for await (const f of frames) {
      if (f.length !== frameBytes) {
        throw new AppError(
          'bad_request',
          `frame ${written} has ${f.length} bytes, expected ${frameBytes} (${opts.width}×${opts.height}×3)`,
        );
      }
      if (!child.stdin.write(f)) {
        await new Promise<void>((resolve, reject) => {
          child.stdin.once('drain', resolve);
          child.once('close', () => reject(new AppError('internal', 'ffmpeg stopped while frames were being written')));
        });
      }
      written += 1;
    }
    child.stdin.end();
    await done.catch((err: unknown) => {
      throw err instanceof ToolFailure
        ? new AppError('internal', `ffmpeg could not encode: ${lastLines(err.stderr)}`)
        : err;
    });
    await rename(tmp, opts.out);
    return written;
  } catch (err) {
    child.kill('SIGKILL');
    await done.catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
