// Where ffmpeg and ffprobe are: env override (SSM_FFMPEG / FFMPEG_PATH, SSM_FFPROBE / FFPROBE_PATH),
// then the binaries bundled by @ffmpeg-installer / @ffprobe-installer, then /usr/bin.
// npm does not always keep the executable bit of a bundled binary (@ffprobe-installer/linux-x64 ships it 0644);
// then a private executable copy is made once in the temp folder rather than changing node_modules.
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function executableCopy(file: string): string | null {
  try {
    const st = statSync(file);
    const dir = path.join(os.tmpdir(), `ssm-studio-bin-${process.getuid?.() ?? 'user'}`);
    const copy = path.join(dir, `${path.basename(file)}-${st.size}-${Math.round(st.mtimeMs)}`);
    if (isExecutable(copy)) return copy;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${copy}.${process.pid}.tmp`;
    copyFileSync(file, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, copy);
    return copy;
  } catch {
    return null;
  }
}

function bundled(pkg: string): string | null {
  try {
    const mod = require(pkg) as { path?: unknown };
    if (typeof mod.path !== 'string' || !existsSync(mod.path)) return null;
    return isExecutable(mod.path) ? mod.path : executableCopy(mod.path);
  } catch {
    return null;
  }
}

function resolveTool(envNames: string[], pkg: string, system: string): string {
  for (const name of envNames) {
    const v = process.env[name];
    if (v) return v;
  }
  return bundled(pkg) ?? system;
}

let cached: { ffmpeg: string; ffprobe: string } | null = null;

export function ffmpegPaths(): { ffmpeg: string; ffprobe: string } {
  cached ??= {
    ffmpeg: resolveTool(['SSM_FFMPEG', 'FFMPEG_PATH'], '@ffmpeg-installer/ffmpeg', '/usr/bin/ffmpeg'),
    ffprobe: resolveTool(['SSM_FFPROBE', 'FFPROBE_PATH'], '@ffprobe-installer/ffprobe', '/usr/bin/ffprobe'),
  };
  return cached;
}
