// Runs ffmpeg/ffprobe: bounded stderr capture, killed on abort, errors that keep ffmpeg's own reason.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

import { AppError } from '../ipc/app-error.js';

const STDERR_KEEP = 8192;

export type Tool = ChildProcessByStdio<Writable | null, Readable, Readable>;

export interface Spawned {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** Resolves with ffmpeg's stderr (last few KB) when it exits 0; rejects with the reason otherwise. */
  done: Promise<string>;
}

/** Spawns a tool with all three pipes; stderr is kept (tail) for the error message. */
export function spawnTool(cmd: string, args: string[], signal?: AbortSignal): Spawned {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP);
  });
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', (err) => {
      reject(new AppError('unsupported', `cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new AppError('cancelled', 'cancelled'));
      else if (code === 0) resolve(stderr);
      else reject(new ToolFailure(code, sig, stderr));
    });
  });
  // A consumer that stops reading early closes stdin/stdout; EPIPE is expected then.
  child.stdin.on('error', () => undefined);
  return { child, done };
}

export class ToolFailure extends Error {
  constructor(
    readonly code: number | null,
    readonly signalName: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(`exited with ${signalName ?? `code ${code}`}: ${lastLines(stderr)}`);
  }
}

export function lastLines(text: string, n = 3): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim())
    .filter((l) => l.length > 0)
    .slice(-n)
    .join('; ');
}

/** Runs a tool to completion and returns stdout as text. */
export async function runTool(
  cmd: string,
  args: string[],
  signal?: AbortSignal,
): Promise<{ stdout: string; stderr: string }> {
  const { child, done } = spawnTool(cmd, args, signal);
  child.stdin.end();
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    stdout += s;
  });
  const stderr = await done;
  return { stdout, stderr };
}
