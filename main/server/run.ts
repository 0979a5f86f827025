// Runs the app in browser mode: services + HTTP/WebSocket server, prints the URL, opens the browser,
// shuts down cleanly (job processes included) on SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';

import { createAppServices } from '../app/services.js';
import type { StartOptions } from '../start/options.js';
import { startBrowserServer, type BrowserServer } from './browser-server.js';

export interface RunningBrowserMode {
  server: BrowserServer;
  stop(): Promise<void>;
}

export async function runBrowserMode(options: StartOptions): Promise<RunningBrowserMode> {
  await mkdir(options.dataDir, { recursive: true });
  await mkdir(options.cacheDir, { recursive: true });
  const services = createAppServices({ mode: 'browser', dataDir: options.dataDir, cacheDir: options.cacheDir });
  const server = await startBrowserServer({ services, cacheDir: options.cacheDir, port: options.port });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await server.close();
      await services.dispose();
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.log(`SSM Studio: ${signal} received, stopping (cancelling running jobs)…`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void stop().then(() => process.exit(0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  console.log(`Data folder: ${options.dataDir}`);
  console.log(`Cache folder: ${options.cacheDir}`);
  console.log(`SSM Studio is running at ${server.url}`);
  console.log('Keep this URL private: it contains the access token. Press Ctrl+C to stop.');
  if (options.open) openInBrowser(server.url);
  return { server, stop };
}

/** Best effort: a missing opener (headless machine) is not an error, the URL is printed anyway. */
function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // ignored: see above
  }
}
