// Where the app keeps user data (settings, projects, models) and its cache (thumbnails, decoded frames).
// Platform conventions: XDG on Linux, ~/Library on macOS, %APPDATA% / %LOCALAPPDATA% on Windows.
import os from 'node:os';
import path from 'node:path';

export interface AppDirs {
  dataDir: string;
  cacheDir: string;
}

export function defaultDirs(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): AppDirs {
  if (platform === 'darwin') {
    return {
      dataDir: path.join(home, 'Library', 'Application Support', 'SSM Studio'),
      cacheDir: path.join(home, 'Library', 'Caches', 'SSM Studio'),
    };
  }
  if (platform === 'win32') {
    const roaming = env['APPDATA'] ?? path.join(home, 'AppData', 'Roaming');
    const local = env['LOCALAPPDATA'] ?? path.join(home, 'AppData', 'Local');
    return { dataDir: path.join(roaming, 'SSM Studio'), cacheDir: path.join(local, 'SSM Studio', 'Cache') };
  }
  const dataHome = absoluteOr(env['XDG_DATA_HOME'], path.join(home, '.local', 'share'));
  const cacheHome = absoluteOr(env['XDG_CACHE_HOME'], path.join(home, '.cache'));
  return { dataDir: path.join(dataHome, 'ssm-studio'), cacheDir: path.join(cacheHome, 'ssm-studio') };
}

/** XDG says relative values are invalid and must be ignored. */
function absoluteOr(value: string | undefined, fallback: string): string {
  return value !== undefined && path.isAbsolute(value) ? value : fallback;
}

/** Command-line flags win over SSM_DATA_DIR / SSM_CACHE_DIR, which win over the platform default. */
export function resolveDirs(
  flags: { dataDir?: string | undefined; cacheDir?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): AppDirs {
  const defaults = defaultDirs(env);
  const pick = (flag: string | undefined, envValue: string | undefined, fallback: string): string =>
    path.resolve(flag ?? (envValue !== undefined && envValue !== '' ? envValue : fallback));
  return {
    dataDir: pick(flags.dataDir, env['SSM_DATA_DIR'], defaults.dataDir),
    cacheDir: pick(flags.cacheDir, env['SSM_CACHE_DIR'], defaults.cacheDir),
  };
}
