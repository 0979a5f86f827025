#!/usr/bin/env node
// Provides a software Vulkan driver (SwiftShader) for the WebGPU backend's tests on machines without a GPU.
//
// SwiftShader comes from Debian's chromium-common package: we `apt-get download` the .deb (no install) and extract
// only libvk_swiftshader.so and vk_swiftshader_icd.json into <repo>/.cache/swiftshader (gitignored). The Vulkan loader
// (Debian libvulkan1) is installed with apt-get when running as root; otherwise we stop with the exact command.
// Debian's lavapipe (mesa-vulkan-drivers) is rejected by Dawn, so it is not an alternative.
//
// Usage:
//   node scripts/swiftshader.mjs           prints the ICD json path on stdout (set VK_ICD_FILENAMES to it)
//   node scripts/swiftshader.mjs --env     prints `export VK_ICD_FILENAMES=...` for `eval "$(...)"`
// The ICD path must be in the environment before the process loads dawn (webgpu), so GPU tests set it before
// importing `webgpu` dynamically (see test/gpu/gpu-test-device.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// SSM_SWIFTSHADER_CACHE overrides the cache folder; SSM_SWIFTSHADER_SOURCE=deb skips a system Chromium's copy.
const cacheDir = process.env.SSM_SWIFTSHADER_CACHE
  ? path.resolve(process.env.SSM_SWIFTSHADER_CACHE)
  : path.join(root, '.cache', 'swiftshader');
const icdPath = path.join(cacheDir, 'vk_swiftshader_icd.json');
const libPath = path.join(cacheDir, 'libvk_swiftshader.so');
const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function fail(message) {
  console.error(`swiftshader: ${message}`);
  process.exit(1);
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function hasVulkanLoader() {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/lib/x86_64-linux-gnu'];
  return dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
}

function ensureVulkanLoader() {
  if (hasVulkanLoader()) return;
  if (!isRoot())
    fail('the Vulkan loader (libvulkan.so.1) is missing. Install it with:\n  sudo apt-get install -y libvulkan1');
  console.error('swiftshader: installing libvulkan1 (apt-get install -y libvulkan1) …');
  spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env: aptEnv });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'libvulkan1'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: aptEnv,
  });
  if (!hasVulkanLoader()) fail('installed libvulkan1 but libvulkan.so.1 is still missing');
}

function extractSwiftShader() {
  // Chromium installed system-wide already ships the two files.
  const system = '/usr/lib/chromium';
  mkdirSync(path.dirname(cacheDir), { recursive: true });
  const tmp = mkdtempSync(path.join(path.dirname(cacheDir), 'swiftshader-dl-'));
  try {
    let srcDir = system;
    const useSystem =
      process.env.SSM_SWIFTSHADER_SOURCE !== 'deb' && existsSync(path.join(system, 'libvk_swiftshader.so'));
    if (!useSystem) {
      const dl = spawnSync('apt-get', ['download', 'chromium-common'], { cwd: tmp, env: aptEnv, encoding: 'utf8' });
      const deb = readdirSync(tmp).find((f) => f.startsWith('chromium-common_') && f.endsWith('.deb'));
      if (dl.status !== 0 || !deb) {
        fail(
          `could not download Debian's chromium-common (${(dl.stderr || '').trim()}). Run:\n` +
            `  (cd /tmp && apt-get download chromium-common && dpkg-deb --fsys-tarfile chromium-common_*.deb | ` +
            `tar -x ./usr/lib/chromium/libvk_swiftshader.so ./usr/lib/chromium/vk_swiftshader_icd.json)\n` +
            `  and copy the two files to ${cacheDir}`,
        );
      }
      execFileSync(
        'sh',
        [
          '-c',
          `dpkg-deb --fsys-tarfile "${deb}" | tar -x ./usr/lib/chromium/libvk_swiftshader.so ./usr/lib/chromium/vk_swiftshader_icd.json`,
        ],
        { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      srcDir = path.join(tmp, 'usr', 'lib', 'chromium');
    }
    mkdirSync(cacheDir, { recursive: true });
    // Several test workers may get here at once: write to private temp names and rename (atomic), library first, so
    // a process that sees the ICD json also sees a complete library.
    const tmpLib = `${libPath}.${process.pid}.tmp`;
    writeFileSync(tmpLib, readFileSync(path.join(srcDir, 'libvk_swiftshader.so')));
    renameSync(tmpLib, libPath);
    // The shipped ICD json names the library relative to itself ("./libvk_swiftshader.so"); write an absolute path.
    const icd = JSON.parse(readFileSync(path.join(srcDir, 'vk_swiftshader_icd.json'), 'utf8'));
    icd.ICD.library_path = libPath;
    const tmpIcd = `${icdPath}.${process.pid}.tmp`;
    writeFileSync(tmpIcd, JSON.stringify(icd, null, 2) + '\n');
    renameSync(tmpIcd, icdPath);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Makes sure the driver is available and returns the ICD json path. */
export function ensureSwiftShader() {
  ensureVulkanLoader();
  if (!existsSync(icdPath) || !existsSync(libPath)) {
    extractSwiftShader();
  }
  return icdPath;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const icd = ensureSwiftShader();
  console.log(process.argv.includes('--env') ? `export VK_ICD_FILENAMES=${icd}` : icd);
}
