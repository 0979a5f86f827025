// Browser mode's server, in process, with the real services (a real thumbnails job runs in a forked job process
// from dist/, so `node scripts/build.mjs main` must have run). The renderer is a small fixture folder so these tests
// do not depend on the vite build.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';

import type { JobInfo, ReplyMessage, ServerMessage } from '../../contract/index.js';
import { createAppServices, type AppServices } from '../../main/app/services.js';
import { MAX_MESSAGE_BYTES, startBrowserServer, type BrowserServer } from '../../main/server/browser-server.js';
import { openSocket, rawGet, SocketLog } from './helpers.js';

let tmp: string;
let services: AppServices;
let server: BrowserServer;
let cookie: string;
const sockets: WebSocket[] = [];

const INDEX = `<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src 'self'" />
<title>fixture</title><script type="module" src="./assets/app.js"></script></head><body></body></html>`;

async function socket(headers?: Record<string, string>): Promise<SocketLog> {
  const ws = await openSocket(`ws://127.0.0.1:${server.port}/ws`, headers ?? { Origin: server.origin, Cookie: cookie });
  sockets.push(ws);
  return new SocketLog(ws);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-server-test-'));
  const rendererDir = path.join(tmp, 'renderer');
  await mkdir(path.join(rendererDir, 'assets'), { recursive: true });
  await writeFile(path.join(rendererDir, 'index.html'), INDEX);
  await writeFile(path.join(rendererDir, 'assets', 'app.js'), 'console.log("fixture");\n');
  await writeFile(path.join(tmp, 'secret.txt'), 'TOP SECRET');
  await symlink(path.join(tmp, 'secret.txt'), path.join(rendererDir, 'assets', 'link.txt'));
  const dataDir = path.join(tmp, 'data');
  const cacheDir = path.join(tmp, 'cache');
  await mkdir(path.join(cacheDir, 'thumbnails'), { recursive: true });
  await writeFile(path.join(cacheDir, 'thumbnails', `${'a'.repeat(40)}.webp`), 'RIFF-fake-webp');
  services = createAppServices({ mode: 'browser', dataDir, cacheDir });
  server = await startBrowserServer({ services, cacheDir, port: 0, rendererDir });
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await server?.close();
  await services?.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('HTTP access', () => {
  it('refuses a request without the token: 403, no content, security headers', async () => {
    const res = await rawGet(server.port, '/');
    expect(res.status).toBe(403);
    expect(res.body.length).toBe(0);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['set-cookie']).toBeUndefined();
    for (const p of ['/assets/app.js', '/index.html', `/thumb/${'a'.repeat(40)}`, '/ws']) {
      expect((await rawGet(server.port, p)).status, p).toBe(403);
    }
  });

  it('refuses a wrong token, a cookie from another port and a foreign Host header', async () => {
    expect((await rawGet(server.port, '/?token=wrong')).status).toBe(403);
    expect((await rawGet(server.port, `/?token=${server.token}x`)).status).toBe(403);
    const other = `ssm_session_${server.port + 1}=${server.token}`;
    expect((await rawGet(server.port, '/', { Cookie: other })).status).toBe(403);
    // DNS rebinding: the right token, but the page came from another host name.
    const rebound = await rawGet(server.port, `/?token=${server.token}`, { Host: `evil.example:${server.port}` });
    expect(rebound.status).toBe(403);
  });

  it('serves index.html with the token, sets an HttpOnly SameSite=Strict cookie, and the cookie loads assets', async () => {
    const res = await rawGet(server.port, `/?token=${server.token}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^ssm_session_${server.port}=[A-Za-z0-9_-]{43};`));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    cookie = setCookie.split(';')[0] as string;
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(csp).toContain("frame-ancestors 'none'");
    // The meta tag carries the same policy (minus frame-ancestors, which a meta tag cannot hold).
    const html = res.body.toString('utf8');
    expect(html).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(html).not.toContain("connect-src 'self'\"");

    const asset = await rawGet(server.port, '/assets/app.js', { Cookie: cookie });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.body.toString()).toContain('fixture');
    const again = await rawGet(server.port, '/', { Cookie: cookie });
    expect(again.status).toBe(200);
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('accepts only GET and HEAD', async () => {
    expect((await rawGet(server.port, '/', { Cookie: cookie }, 'POST')).status).toBe(405);
    const head = await rawGet(server.port, '/', { Cookie: cookie }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('never serves a file outside the renderer folder', async () => {
    const attempts = [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/assets/link.txt', // a symlink inside the folder that points outside
      '/%00index.html',
      '/thumb/..%2f..%2fsecret.txt',
      `/thumb/${'a'.repeat(40)}/../../secret.txt`,
    ];
    for (const p of attempts) {
      const res = await rawGet(server.port, p, { Cookie: cookie });
      expect(res.status, p).toBe(404);
      expect(res.body.toString(), p).not.toContain('TOP SECRET');
    }
  });

  it('serves thumbnails from the cache by id only', async () => {
    const ok = await rawGet(server.port, `/thumb/${'a'.repeat(40)}`, { Cookie: cookie });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('image/webp');
    expect((await rawGet(server.port, `/thumb/${'b'.repeat(40)}`, { Cookie: cookie })).status).toBe(404);
    expect((await rawGet(server.port, '/thumb/not-an-id', { Cookie: cookie })).status).toBe(404);
  });
});

describe('network', () => {
  it('listens on 127.0.0.1 only and records it in the offline audit', async () => {
    const records = await services.router.invoke('app.network', {}, { transport: 'test' });
    const listen = records.find((r) => r.kind === 'listen');
    expect(listen).toMatchObject({ address: '127.0.0.1', port: server.port, loopback: true });
    expect(records.filter((r) => r.kind === 'accept').length).toBeGreaterThan(0);
    expect(records.every((r) => r.loopback)).toBe(true);

    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
    if (external !== undefined) {
      const reached = await new Promise<boolean>((resolve) => {
        const s = connect({ host: external.address, port: server.port });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      expect(reached, `reachable on ${external.address}`).toBe(false);
    }
  });
});

describe('WebSocket', () => {
  it('refuses a connection without the token or cookie', async () => {
    await expect(openSocket(`ws://127.0.0.1:${server.port}/ws`, { Origin: server.origin })).rejects.toThrow('HTTP 403');
  });

  it('refuses a foreign or missing Origin even with a valid cookie or token', async () => {
    const url = `ws://127.0.0.1:${server.port}/ws`;
    await expect(openSocket(url, { Origin: 'http://evil.example', Cookie: cookie })).rejects.toThrow('HTTP 403');
    await expect(openSocket(url, { Origin: `http://127.0.0.1:${server.port + 1}`, Cookie: cookie })).rejects.toThrow(
      'HTTP 403',
    );
    await expect(openSocket(url, { Cookie: cookie })).rejects.toThrow('HTTP 403');
    await expect(openSocket(`${url}?token=${server.token}`, { Origin: 'null' })).rejects.toThrow('HTTP 403');
    await expect(
      openSocket(`ws://127.0.0.1:${server.port}/other`, { Origin: server.origin, Cookie: cookie }),
    ).rejects.toThrow('HTTP 403');
  });

  it('accepts the token in the URL with the right Origin', async () => {
    const ws = await openSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { Origin: server.origin });
    sockets.push(ws);
    expect(server.clientCount()).toBeGreaterThan(0);
  });

  it('answers malformed messages with clear errors and keeps working', async () => {
    const log = await socket();
    const notJson = await log.send('{not json', null);
    expect(notJson).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(notJson.ok === false && notJson.error.message).toContain('not valid JSON');

    const binary = await log.send(Buffer.from([1, 2, 3]), null);
    expect(binary.ok === false && binary.error.message).toContain('binary frames are not accepted');

    const wrongShape = await log.send(JSON.stringify({ type: 'request', id: 7, method: 'app.info' }), 7);
    expect(wrongShape).toMatchObject({ ok: false, error: { code: 'bad_request', path: 'message.params' } });

    const extra = await log.send(JSON.stringify({ type: 'request', id: 8, method: 'app.info', params: {}, x: 1 }), 8);
    expect(extra).toMatchObject({ ok: false, error: { code: 'bad_request' } });

    const unknown = await log.send(JSON.stringify({ type: 'request', id: 9, method: 'app.explode', params: {} }), 9);
    expect(unknown).toMatchObject({
      ok: false,
      error: { code: 'unknown_method', message: "unknown method 'app.explode'" },
    });

    const badParams = await log.send(
      JSON.stringify({
        type: 'request',
        id: 10,
        method: 'jobs.start',
        params: { kind: 'thumbnails', params: { folder: 'relative/dir', size: 128 } },
      }),
      10,
    );
    expect(badParams).toMatchObject({ ok: false, error: { code: 'bad_request', path: 'params.params.folder' } });

    const badSetting = await log.send(
      JSON.stringify({ type: 'request', id: 11, method: 'settings.update', params: { theme: 'purple' } }),
      11,
    );
    expect(badSetting).toMatchObject({ ok: false, error: { code: 'bad_request', path: 'params.theme' } });
    expect(services.settings.get().theme).toBe('system');

    const info = await log.send(JSON.stringify({ type: 'request', id: 12, method: 'app.info', params: {} }), 12);
    expect(info).toMatchObject({ ok: true, result: { name: 'SSM Studio', mode: 'browser' } });
    expect(await services.jobs.list()).toEqual([]);
  });

  it('closes a connection that sends more than the size limit; others keep working', async () => {
    const big = await socket();
    const closed = new Promise<number>((resolve) => big.ws.once('close', (code) => resolve(code)));
    big.ws.send('x'.repeat(MAX_MESSAGE_BYTES + 1));
    expect(await closed).toBe(1009);
    const log = await socket();
    const reply = await log.send(JSON.stringify({ type: 'request', id: 1, method: 'settings.get', params: {} }), 1);
    expect(reply.ok).toBe(true);
  });

  it('broadcasts settings changes to every client', async () => {
    const a = await socket();
    const b = await socket();
    const reply = await a.send(
      JSON.stringify({ type: 'request', id: 1, method: 'settings.update', params: { theme: 'dark' } }),
      1,
    );
    expect(reply).toMatchObject({ ok: true, result: { theme: 'dark' } });
    const seen = await b.waitFor((m) => m.type === 'event' && m.event.type === 'settings');
    expect(seen).toMatchObject({ event: { settings: { theme: 'dark' } } });
  });

  it('runs a thumbnails job: progress events, then done', async () => {
    const folder = path.join(tmp, 'images');
    await mkdir(path.join(folder, 'nested'), { recursive: true });
    const count = 40;
    for (let i = 0; i < count; i += 1) {
      const dir = i % 4 === 0 ? path.join(folder, 'nested') : folder;
      await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: (i * 6) % 256, g: 80, b: 160 } } })
        .png()
        .toFile(path.join(dir, `img-${String(i).padStart(3, '0')}.png`));
    }
    const log = await socket();
    const start = {
      type: 'request',
      id: 100,
      method: 'jobs.start',
      params: { kind: 'thumbnails', params: { folder, size: 64 } },
    };
    const reply: ReplyMessage = await log.send(JSON.stringify(start), 100);
    expect(reply.ok).toBe(true);
    const jobId = (reply.ok ? reply.result : null) as { jobId: string };
    const isJob = (state: JobInfo['state']) => (m: ServerMessage) =>
      m.type === 'event' && m.event.type === 'job' && m.event.job.id === jobId.jobId && m.event.job.state === state;
    const done = await log.waitFor(isJob('done'), 60_000);
    const job = done.type === 'event' && done.event.type === 'job' ? done.event.job : null;
    expect(job?.progress).toMatchObject({ done: count, total: count });
    expect(job?.result).toMatchObject({ images: count, written: count, failed: [] });

    const progress = log
      .events()
      .flatMap((e) => (e.event.type === 'job' && e.event.job.id === jobId.jobId ? [e.event.job] : []))
      .filter((j) => j.state === 'running' && j.progress.total === count);
    expect(progress.length).toBeGreaterThan(0);
    const dones = progress.map((j) => j.progress.done);
    expect([...dones].sort((x, y) => x - y)).toEqual(dones);
    const listed = await log.send(JSON.stringify({ type: 'request', id: 101, method: 'jobs.list', params: {} }), 101);
    expect(listed.ok && (listed.result as JobInfo[]).some((j) => j.id === jobId.jobId && j.state === 'done')).toBe(
      true,
    );
  });
});
