// Makes sure a Debian package is installed: installs it with apt-get when running as root,
// otherwise stops with the exact command to run. Never silently skips.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let updated = false;

/** @param {string} pkg Debian package name. @param {string} probe a file the package provides. */
export function ensureDebianPackage(pkg, probe) {
  if (existsSync(probe)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(`missing Debian package '${pkg}' (no ${probe}). Install it with:\n  sudo apt-get install -y ${pkg}`);
    process.exit(1);
  }
  console.error(`installing Debian package '${pkg}' (apt-get install -y ${pkg}) …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    updated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'inherit', env });
  if (!existsSync(probe)) {
    console.error(`installed '${pkg}' but ${probe} is still missing`);
    process.exit(1);
  }
}
