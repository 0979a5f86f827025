// The Electron shell: one sandboxed window on the built renderer, the services behind one allow-listed IPC channel.
// With main/electron/preload/preload.ts, the only code in the repo that imports electron.
import { mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { app, BrowserWindow, ipcMain, session, type IpcMainInvokeEvent } from 'electron';

import type { AppEvent, IpcChannel, ReplyMessage } from '../../contract/index.js';
import { built } from '../app/paths.js';
import { createAppServices, type AppServices } from '../app/services.js';
import { resolveDirs, type AppDirs } from '../start/dirs.js';
import { parseStartOptions } from '../start/options.js';

const CALL: IpcChannel = 'ssm:call';
const EVENT: IpcChannel = 'ssm:event';
const INDEX_HTML = built('renderer/index.html');
const INDEX_URL = pathToFileURL(INDEX_HTML);
const PRELOAD = built('main/electron/preload/preload.js');

let window: BrowserWindow | null = null;
let services: AppServices | null = null;

/**
 * Our folder flags, in --flag=value form (scripts/start.mjs passes them so); Chromium's own switches on the same
 * command line are not ours to validate.
 */
function dirsFromArgv(): AppDirs {
  const ours = process.argv.filter((a) => a.startsWith('--data-dir=') || a.startsWith('--cache-dir='));
  try {
    return parseStartOptions(ours);
  } catch (err) {
    console.error(`SSM Studio: ${err instanceof Error ? err.message : String(err)}; using the default folders`);
    return resolveDirs({});
  }
}

/** Only our window's main frame, showing our own index.html, may call the services. */
function trustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (window === null || frame === null || event.sender !== window.webContents) return false;
  if (frame !== window.webContents.mainFrame) return false;
  try {
    const url = new URL(frame.url);
    return url.protocol === 'file:' && url.pathname === INDEX_URL.pathname;
  } catch {
    return false;
  }
}

function lockDownSession(): void {
  const ses = session.defaultSession;
  // Offline by construction: the renderer may load its own files and nothing from the network.
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_details, cb) =>
    cb({ cancel: true }),
  );
  ses.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
  ses.setPermissionCheckHandler(() => false);
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'SSM Studio',
    show: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  const wc = win.webContents;
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
  wc.on('will-navigate', (e) => e.preventDefault());
  wc.on('will-redirect', (e) => e.preventDefault());
  wc.on('will-attach-webview', (e) => e.preventDefault());
  win.once('ready-to-show', () => win.show());
  void win.loadFile(INDEX_HTML);
  return win;
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.enableSandbox();
  await app.whenReady();

  const dirs = dirsFromArgv();
  mkdirSync(dirs.dataDir, { recursive: true });
  mkdirSync(dirs.cacheDir, { recursive: true });
  const svc = createAppServices({ mode: 'electron', ...dirs });
  services = svc;
  lockDownSession();

  ipcMain.handle(CALL, async (event, raw: unknown): Promise<ReplyMessage> => {
    if (!trustedSender(event)) {
      return { type: 'reply', id: null, ok: false, error: { code: 'unauthorized', message: 'untrusted sender' } };
    }
    return svc.router.dispatch(raw, { transport: 'electron' });
  });
  svc.events.on('event', (ev: AppEvent) => {
    if (window !== null && !window.isDestroyed()) window.webContents.send(EVENT, ev);
  });

  window = createWindow();
  window.on('closed', () => {
    window = null;
  });
  app.on('second-instance', () => {
    if (window === null) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => app.quit());
  process.once('SIGINT', () => app.quit());
  process.once('SIGTERM', () => app.quit());

  let disposed = false;
  app.on('before-quit', (e) => {
    if (disposed || services === null) return;
    // Cancel jobs and wait for their processes before quitting for real.
    e.preventDefault();
    disposed = true;
    void services.dispose().finally(() => app.quit());
  });
}

void main().catch((err: unknown) => {
  console.error('SSM Studio failed to start:', err);
  app.exit(1);
});
