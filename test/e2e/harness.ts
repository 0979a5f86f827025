// Starts SSM Studio the way a user does (node scripts/start.mjs --browser --no-open --port 0) and a Chromium
// driven by playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOTS = path.join(ROOT, 'test-results', 'e2e');
/** Committed screenshots (test/e2e/screenshots/) are rewritten only on request: SSM_UPDATE_SCREENSHOTS=1. */
export const UPDATE_SCREENSHOTS = process.env['SSM_UPDATE_SCREENSHOTS'] === '1';

export interface RunningApp {
  url: string;
  origin: string;
  tmp: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code (null when it had to be killed). */
  stop(): Promise<number | null>;
}

export async function startApp(): Promise<RunningApp> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-e2e-'));
  const child = spawn(
    process.execPath,
    ['scripts/start.mjs', '--browser', '--no-open', '--port', '0', '--cache-dir', path.join(tmp, 'cache')],
    { cwd: ROOT, env: { ...process.env, SSM_DATA_DIR: path.join(tmp, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 150 s:\n${out}`)), 150_000);
    const check = (): void => {
      const m = /^SSM Studio is running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)$/m.exec(out);
      if (m?.[1] === undefined) return;
      clearTimeout(timer);
      resolve(m[1]);
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`start.mjs exited (${code}) before printing a URL:\n${out}`)));
  });
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { url, origin: new URL(url).origin, tmp, child, output: () => out, stop };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['SSM_CHROMIUM'] ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** `count` JPEGs (copies of one 1024×768 noisy image) in a new folder: enough work for a job of a few seconds. */
export async function makeImageFolder(parent: string, count: number): Promise<string> {
  const folder = path.join(parent, 'images');
  await mkdir(folder, { recursive: true });
  const width = 1024;
  const height = 768;
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i += 1) noise[i] = (i * 2654435761) >>> 24;
  const jpeg = await sharp(noise, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      writeFile(path.join(folder, `photo-${String(i).padStart(4, '0')}.jpg`), jpeg),
    ),
  );
  return folder;
}

/** One request over the app's WebSocket (/ws, the page's session), as the renderer's bridge sends it. */
export async function callOverWebSocket<T>(page: Page, method: string, params: Record<string, unknown>): Promise<T> {
  const reply = await page.evaluate(
    async ([m, p]) =>
      new Promise<{ ok: boolean; result?: unknown; error?: { message: string } }>((resolve, reject) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        ws.onerror = () => reject(new Error('websocket error'));
        ws.onopen = () => ws.send(JSON.stringify({ type: 'request', id: 1, method: m, params: p }));
        ws.onmessage = (e: MessageEvent) => {
          const msg = JSON.parse(String(e.data)) as { type: string; id?: number; ok: boolean };
          if (msg.id !== 1) return;
          ws.close();
          resolve(msg);
        };
      }),
    [method, params] as const,
  );
  if (!reply.ok) throw new Error(`${method}: ${reply.error?.message ?? 'failed'}`);
  return reply.result as T;
}
