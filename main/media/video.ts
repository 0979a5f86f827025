// Video through ffmpeg/ffprobe: metadata, frame-accurate decode of a frame or a range (streamed through a pipe with
// backpressure, so memory stays at about one frame plus the pipe buffer), clip tensors, thumbnails and filmstrips.
import path from 'node:path';

import sharp, { type OverlayOptions } from 'sharp';

import { AppError } from '../ipc/app-error.js';
import { ffmpegPaths } from './ffmpeg-path.js';
import { checkPixels } from './limits.js';
import { lastLines, runTool, spawnTool, ToolFailure } from './process.js';

export interface VideoInfo {
  format: string;
  codec: string;
  /** Displayed size: frames are decoded with the rotation applied, so this is what decodeFrame returns. */
  width: number;
  height: number;
  /** Frames per second as a rational ("30000/1001") and as a number. */
  fpsRational: string;
  fps: number;
  frames: number;
  durationSeconds: number;
  /** Clockwise rotation from the container metadata, in degrees. */
  rotation: number;
  hasAudio: boolean;
  audioCodec: string | null;
  /** The first frame's timestamp in seconds (often 0). */
  startTime: number;
  /**
   * Variable frame rate: the frames do not sit at regular 1/fps steps (e.g. an AVI with dropped frames). Random access
   * then decodes from the start and counts frames (exact, slower) instead of seeking by time.
   */
  variableFrameRate: boolean;
}

export interface Frame {
  index: number;
  width: number;
  height: number;
  /** RGB, 8 bits per sample, rows top to bottom: (H, W, 3). */
  data: Uint8Array;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  duration?: string;
  start_time?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string; start_time?: string };
}

function parseRational(r: string | undefined): number {
  if (!r) return 0;
  const [n, d] = r.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return 0;
  if (d === undefined) return n;
  return d > 0 ? n / d : 0;
}

function formatName(ffFormat: string, file: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (ffFormat.includes('mp4') || ffFormat.includes('mov')) return ext === 'mov' ? 'mov' : 'mp4';
  if (ffFormat.includes('matroska') || ffFormat.includes('webm')) return ext === 'webm' ? 'webm' : 'mkv';
  if (ffFormat.includes('avi')) return 'avi';
  return ffFormat.split(',')[0] ?? ffFormat;
}

function probeError(err: unknown, file: string): AppError {
  if (err instanceof AppError) return err;
  const what = path.extname(file).slice(1).toUpperCase() || 'video';
  const reason =
    err instanceof ToolFailure ? lastLines(err.stderr.replaceAll(file, path.basename(file)), 2) : String(err);
  if (/moov atom not found|invalid data|end of file|truncat|partial file/i.test(reason)) {
    return new AppError('corrupt_input', `truncated or corrupt ${what}: ${reason}`);
  }
  return new AppError('corrupt_input', `unreadable ${what}: ${reason || 'ffprobe found no streams'}`);
}

/** Reads metadata; counts packets (demux only, no decode) so the frame count is exact and truncation shows. */
export async function probeVideo(file: string, signal?: AbortSignal): Promise<VideoInfo> {
  let out: ProbeOutput;
  try {
    const { stdout } = await runTool(
      ffmpegPaths().ffprobe,
      ['-v', 'error', '-count_packets', '-print_format', 'json', '-show_format', '-show_streams', file],
      signal,
    );
    out = JSON.parse(stdout) as ProbeOutput;
  } catch (err) {
    throw probeError(err, file);
  }
  const streams = out.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video');
  if (!v) {
    const what = path.extname(file).slice(1).toUpperCase() || 'video';
    if (streams.some((s) => s.codec_type === 'audio')) {
      throw new AppError('unsupported', `${what} holds only audio, no video stream`);
    }
    throw new AppError(
      'corrupt_input',
      `truncated or corrupt ${what}: no readable video stream (the index may be cut off)`,
    );
  }
  const audio = streams.find((s) => s.codec_type === 'audio');
  const rawW = v.width ?? 0;
  const rawH = v.height ?? 0;
  checkPixels(rawW, rawH, 'video stream');
  const tagRotate = v.tags?.rotate !== undefined ? Number(v.tags.rotate) : null;
  const sideRotate = v.side_data_list?.find((s) => typeof s.rotation === 'number')?.rotation;
  // ffprobe's display matrix rotation is counter-clockwise; the legacy "rotate" tag is clockwise.
  const rotation = ((((tagRotate ?? (sideRotate !== undefined ? -sideRotate : 0)) % 360) + 360) % 360) as number;
  const swap = rotation === 90 || rotation === 270;
  const fpsRational =
    v.avg_frame_rate && parseRational(v.avg_frame_rate) > 0 ? v.avg_frame_rate : (v.r_frame_rate ?? '0/1');
  const fps = parseRational(fpsRational);
  const packets = Number(v.nb_read_packets ?? 0);
  const declared = Number(v.nb_frames ?? 0);
  if (packets === 0)
    throw new AppError(
      'corrupt_input',
      `truncated or corrupt video: no frames can be read from ${path.basename(file)}`,
    );
  const format = formatName(out.format?.format_name ?? '', file);
  // MP4/MOV sample tables list every frame, so fewer packets than listed means the data was cut off.
  // (An AVI index also lists dropped frames as empty chunks: there fewer packets means variable frame rate.)
  if ((format === 'mp4' || format === 'mov') && declared > 0 && packets < declared) {
    throw new AppError(
      'corrupt_input',
      `truncated video: the header lists ${declared} frames but only ${packets} are present`,
    );
  }
  const duration = Number(v.duration ?? out.format?.duration ?? 0) || (fps > 0 ? packets / fps : 0);
  const variableFrameRate = fps > 0 && duration > 0 && Math.abs(duration * fps - packets) > 1.5;
  return {
    format,
    codec: v.codec_name ?? 'unknown',
    width: swap ? rawH : rawW,
    height: swap ? rawW : rawH,
    fpsRational,
    fps,
    frames: packets,
    durationSeconds: duration,
    rotation,
    hasAudio: audio !== undefined,
    audioCodec: audio?.codec_name ?? null,
    startTime: Number(v.start_time ?? out.format?.start_time ?? 0) || 0,
    variableFrameRate,
  };
}

export interface ReadFramesOptions {
  /** First frame index (default 0). */
  start?: number;
  /** How many frames (default: to the end). */
  count?: number;
  /** Output size (default: the video's displayed size). */
  width?: number;
  height?: number;
  signal?: AbortSignal;
}

function seekArgs(info: VideoInfo, start: number): string[] {
  if (start <= 0 || info.fps <= 0 || info.variableFrameRate) return [];
  // Input seeking is frame-accurate when transcoding: ffmpeg decodes from the keyframe before and drops frames
  // before the target. Aim half a frame early so rounding of the timestamp never skips the wanted frame.
  const t = Math.max(0, (start - 0.5) / info.fps);
  return ['-ss', t.toFixed(6)];
}

/**
 * Streams RGB frames. ffmpeg writes raw frames into a pipe; this generator reads exactly one frame's bytes at a
 * time and does not read on while the consumer is busy, so ffmpeg blocks on a full pipe (backpressure).
 */
export async function* readFrames(file: string, info: VideoInfo, opts: ReadFramesOptions = {}): AsyncGenerator<Frame> {
  const start = opts.start ?? 0;
  if (!Number.isInteger(start) || start < 0 || start >= info.frames) {
    throw new AppError(
      'not_found',
      `frame ${start} is out of range (the video has ${info.frames} frames)`,
      'params.frame',
    );
  }
  const count = Math.min(opts.count ?? info.frames - start, info.frames - start);
  const width = opts.width ?? info.width;
  const height = opts.height ?? info.height;
  checkPixels(width, height, 'requested frame size');
  const frameBytes = width * height * 3;
  const filters: string[] = [];
  // Variable frame rate: no seeking by time; decode from the start and keep frames from index `start` on.
  if (info.variableFrameRate && start > 0) filters.push(`select=gte(n\\,${start})`);
  if (width !== info.width || height !== info.height) filters.push(`scale=${width}:${height}:flags=area`);
  const scale = filters.length > 0 ? ['-vf', filters.join(',')] : [];
  const args = [
    '-v',
    'error',
    '-nostdin',
    ...seekArgs(info, start),
    '-i',
    file,
    '-map',
    '0:v:0',
    '-vsync',
    '0',
    '-frames:v',
    String(count),
    ...scale,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  const { child, done } = spawnTool(ffmpegPaths().ffmpeg, args, opts.signal);
  child.stdin.end();
  done.catch(() => undefined);
  // Each pipe chunk is copied once, straight into the frame being filled.
  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  let index = start;
  let finished = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(chunk.length - offset, frameBytes - filled);
        frame.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          yield { index, width, height, data: frame };
          frame = new Uint8Array(frameBytes);
          filled = 0;
          index += 1;
        }
      }
    }
    try {
      await done;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw probeError(err, file);
    }
    finished = true;
    if (index - start < count) {
      throw new AppError(
        'corrupt_input',
        `truncated video: decoded ${index - start} of ${count} frames from frame ${start}`,
      );
    }
  } finally {
    if (!finished && child.exitCode === null) child.kill('SIGKILL');
  }
}

/** One frame by index or by time in seconds, RGB at the displayed size (or the size asked for). */
export async function decodeFrame(
  file: string,
  info: VideoInfo,
  at: { frame: number } | { time: number },
  size?: { width: number; height: number },
): Promise<Frame> {
  const frame =
    'frame' in at ? at.frame : Math.min(info.frames - 1, Math.max(0, Math.floor(at.time * info.fps + 1e-6)));
  for await (const f of readFrames(file, info, { start: frame, count: 1, ...size })) return f;
  throw new AppError('corrupt_input', `frame ${frame} could not be decoded`);
}

export interface Clip {
  /** (T, H, W, 3) uint8, frames in order. */
  data: Uint8Array;
  shape: [number, number, number, number];
}

/** A range of frames as one clip tensor at the chosen size. */
export async function decodeClip(
  file: string,
  info: VideoInfo,
  opts: { start: number; count: number; width: number; height: number; signal?: AbortSignal },
): Promise<Clip> {
  const count = Math.min(opts.count, info.frames - opts.start);
  const frameBytes = opts.width * opts.height * 3;
  const data = new Uint8Array(count * frameBytes);
  let t = 0;
  for await (const f of readFrames(file, info, opts)) {
    data.set(f.data, t * frameBytes);
    t += 1;
  }
  return { data, shape: [count, opts.height, opts.width, 3] };
}

/** A filmstrip: `count` evenly spaced frames side by side, each `height` px tall, as PNG. */
export async function filmstrip(file: string, info: VideoInfo, count: number, height: number): Promise<Buffer> {
  const n = Math.max(1, Math.min(count, info.frames));
  const width = Math.max(2, Math.round((info.width * height) / info.height / 2) * 2);
  const tiles: OverlayOptions[] = [];
  for (let i = 0; i < n; i += 1) {
    const index = Math.floor(((i + 0.5) * info.frames) / n);
    const f = await decodeFrame(file, info, { frame: index }, { width, height });
    tiles.push({ input: Buffer.from(f.data), raw: { width, height, channels: 3 }, left: i * width, top: 0 });
  }
  return sharp({ create: { width: width * n, height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite(tiles)
    .png()
    .toBuffer();
}

/** A thumbnail (the frame at 10% of the video) fitting in size×size, as PNG. */
export async function videoThumbnail(file: string, info: VideoInfo, size: number): Promise<Buffer> {
  const f = await decodeFrame(file, info, { frame: Math.floor(info.frames / 10) });
  return sharp(Buffer.from(f.data), { raw: { width: f.width, height: f.height, channels: 3 } })
    .resize(size, size, { fit: 'inside' })
    .png()
    .toBuffer();
}
