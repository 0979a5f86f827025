#!/usr/bin/env node
// `npm start`: builds what is missing or stale, then runs the desktop app (Electron) or, when no Electron binary is
// available or --browser is given, browser mode: a local server on 127.0.0.1 whose URL (with its access token) is
// printed on stdout. `npm start -- --help` lists the options.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (rel) => path.join(root, 'dist', rel);

/** Newest modification time under the given files/folders (0 when none exist). */
function newest(paths) {
  let t = 0;
  const walk = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'node_modules') walk(path.join(p, name));
    } else t = Math.max(t, st.mtimeMs);
  };
  for (const p of paths) walk(path.join(root, p));
  return t;
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Each build step with the file it produces and the sources it comes from. */
const STEPS = [
  {
    name: 'main',
    output: dist('main/server/run.js'),
    sources: ['contract', 'main', 'tsconfig.node.json', 'tsconfig.base.json'],
  },
  {
    name: 'renderer',
    output: dist('renderer/index.html'),
    sources: ['contract', 'renderer', 'tsconfig.renderer.json', 'tsconfig.base.json'],
  },
];

function buildIfStale() {
  const stale = STEPS.filter((s) => mtime(s.output) === 0 || newest(s.sources) > mtime(s.output));
  if (stale.length === 0) return;
  const names = stale.map((s) => s.name);
  console.error(`SSM Studio: building ${names.join(' and ')} (sources changed since the last build)…`);
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), ...names], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status === 0) return;
  const missing = stale.filter((s) => mtime(s.output) === 0);
  if (missing.length > 0) {
    console.error(`SSM Studio: the build failed and there is no earlier build to run. Fix the errors above.`);
    process.exit(1);
  }
  console.error('SSM Studio: the build failed; starting the previous build instead.');
}

/**
 * The Electron executable, or why there is none. Resolved like node_modules/electron/index.js does, but without
 * its fallback of downloading Electron (this app never touches the network).
 */
function findElectron() {
  const require = createRequire(import.meta.url);
  let pkgDir;
  try {
    pkgDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { ok: false, reason: 'the electron package is not installed' };
  }
  const pathFile = path.join(pkgDir, 'path.txt');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  let exe;
  if (override) exe = path.join(override, rel ?? 'electron');
  else if (rel) exe = path.join(pkgDir, 'dist', rel);
  else return { ok: false, reason: `${path.relative(root, pathFile)} is missing (the binary was never downloaded)` };
  try {
    accessSync(exe, constants.X_OK);
  } catch {
    return { ok: false, reason: `${exe} does not exist or is not executable` };
  }
  // An executable that cannot run here (missing system libraries, no display) fails this quick check.
  const probe = spawnSync(exe, ['--version'], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (probe.status !== 0) {
    const detail = (probe.stderr || probe.error?.message || `exit ${probe.status ?? probe.signal}`)
      .trim()
      .split('\n')[0];
    return { ok: false, reason: `${exe} does not run here (${detail})` };
  }
  return { ok: true, exe };
}

async function main() {
  const args = process.argv.slice(2);
  buildIfStale();
  const { parseStartOptions, USAGE } = await import(pathToFileURL(dist('main/start/options.js')).href);
  let options;
  try {
    options = parseStartOptions(args);
  } catch (err) {
    console.error(`SSM Studio: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }

  if (!options.browser) {
    const electron = findElectron();
    if (electron.ok) {
      const child = spawn(
        electron.exe,
        [dist('main/electron/main.js'), `--data-dir=${options.dataDir}`, `--cache-dir=${options.cacheDir}`],
        {
          cwd: root,
          stdio: 'inherit',
        },
      );
      for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
      child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
      return;
    }
    console.log(`Electron binary not available: ${electron.reason}; starting browser mode`);
  }
  const { runBrowserMode } = await import(pathToFileURL(dist('main/server/run.js')).href);
  await runBrowserMode(options);
}

main().catch((err) => {
  console.error('SSM Studio failed to start:', err);
  process.exit(1);
});
