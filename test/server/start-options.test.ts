// The command line of `npm start` and where the app keeps its files.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { defaultDirs, resolveDirs } from '../../main/start/dirs.js';
import { parseStartOptions } from '../../main/start/options.js';

describe('defaultDirs', () => {
  it('follows XDG on Linux, ignoring relative XDG values', () => {
    expect(defaultDirs({}, 'linux', '/home/ada')).toEqual({
      dataDir: '/home/ada/.local/share/ssm-studio',
      cacheDir: '/home/ada/.cache/ssm-studio',
    });
    expect(defaultDirs({ XDG_DATA_HOME: '/d', XDG_CACHE_HOME: '/c' }, 'linux', '/home/ada')).toEqual({
      dataDir: '/d/ssm-studio',
      cacheDir: '/c/ssm-studio',
    });
    expect(defaultDirs({ XDG_DATA_HOME: 'relative' }, 'linux', '/home/ada').dataDir).toBe(
      '/home/ada/.local/share/ssm-studio',
    );
  });

  it('uses ~/Library on macOS and APPDATA / LOCALAPPDATA on Windows', () => {
    expect(defaultDirs({}, 'darwin', '/Users/ada')).toEqual({
      dataDir: '/Users/ada/Library/Application Support/SSM Studio',
      cacheDir: '/Users/ada/Library/Caches/SSM Studio',
    });
    const win = defaultDirs({ APPDATA: 'C:\\R', LOCALAPPDATA: 'C:\\L' }, 'win32', 'C:\\Users\\ada');
    expect(win.dataDir).toBe(path.join('C:\\R', 'SSM Studio'));
    expect(win.cacheDir).toBe(path.join('C:\\L', 'SSM Studio', 'Cache'));
  });
});

describe('resolveDirs', () => {
  it('prefers flags over SSM_DATA_DIR / SSM_CACHE_DIR over the default', () => {
    const env = { SSM_DATA_DIR: '/env/data', SSM_CACHE_DIR: '/env/cache', HOME: '/home/ada' };
    expect(resolveDirs({}, env)).toEqual({ dataDir: '/env/data', cacheDir: '/env/cache' });
    expect(resolveDirs({ dataDir: '/flag/data' }, env)).toEqual({ dataDir: '/flag/data', cacheDir: '/env/cache' });
  });
});

describe('parseStartOptions', () => {
  it('reads every flag', () => {
    const o = parseStartOptions(['--browser', '--no-open', '--port', '8123', '--data-dir', '/d', '--cache-dir=/c'], {});
    expect(o).toEqual({ browser: true, open: false, port: 8123, help: false, dataDir: '/d', cacheDir: '/c' });
  });

  it('defaults to a free port and opening the browser; SSM_NO_OPEN=1 turns opening off', () => {
    expect(parseStartOptions([], {})).toMatchObject({ browser: false, open: true, port: 0 });
    expect(parseStartOptions([], { SSM_NO_OPEN: '1' }).open).toBe(false);
    expect(parseStartOptions([], { SSM_NO_OPEN: '0' }).open).toBe(true);
  });

  it('rejects bad input precisely', () => {
    expect(() => parseStartOptions(['--port', '70000'], {})).toThrow(
      "--port must be an integer from 0 to 65535, got '70000'",
    );
    expect(() => parseStartOptions(['--port', 'abc'], {})).toThrow('--port must be an integer');
    expect(() => parseStartOptions(['--brwoser'], {})).toThrow("Unknown option '--brwoser'");
  });
});
