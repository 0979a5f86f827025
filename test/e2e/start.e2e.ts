// `npm start` without --browser on a machine without a runnable Electron binary: it says why and falls back to
// browser mode; --help and bad flags behave.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from './harness.js';

describe('npm start', () => {
  it('falls back to browser mode with a reason when Electron cannot run, and refuses requests without the token', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-start-'));
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-open', '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, SSM_DATA_DIR: path.join(tmp, 'd'), SSM_CACHE_DIR: path.join(tmp, 'c') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await expect.poll(() => out, { timeout: 150_000, interval: 200 }).toMatch(/SSM Studio is running at/);
      const electronLine = /^Electron binary not available: (.+); starting browser mode$/m.exec(out);
      const url = /^SSM Studio is running at (\S+)$/m.exec(out)?.[1] ?? '';
      // Where an Electron binary does run, start.mjs launches it instead and this test does not apply.
      expect(electronLine?.[1], out).toBeTruthy();
      const origin = new URL(url).origin;
      expect((await fetch(`${origin}/`)).status).toBe(403);
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('<title>SSM Studio</title>');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('prints usage on --help and exits 2 with a precise message on a bad flag', () => {
    const help = spawnSync(process.execPath, ['scripts/start.mjs', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--browser');
    const bad = spawnSync(process.execPath, ['scripts/start.mjs', '--port', 'x'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--port must be an integer from 0 to 65535, got 'x'");
  });
});
