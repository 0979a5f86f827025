// The command line of `npm start` (scripts/start.mjs) and of the Electron shell.
import { parseArgs } from 'node:util';

import { resolveDirs, type AppDirs } from './dirs.js';

export interface StartOptions extends AppDirs {
  /** Browser mode even when Electron is available. */
  browser: boolean;
  /** Do not open the URL in the user's browser (browser mode). */
  open: boolean;
  /** Browser-mode port; 0 picks a free one. */
  port: number;
  help: boolean;
}

export const USAGE = `Usage: npm start -- [options]

  --browser           start in browser mode even when Electron is available
  --no-open           do not open the browser (also: SSM_NO_OPEN=1)
  --port <n>          browser-mode port on 127.0.0.1 (default 0: a free port)
  --data-dir <path>   user data folder (also: SSM_DATA_DIR)
  --cache-dir <path>  cache folder (also: SSM_CACHE_DIR)
  -h, --help          show this help`;

/** Parses argv (without node and script); throws an Error with a precise message on bad input. */
export function parseStartOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): StartOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      browser: { type: 'boolean', default: false },
      'no-open': { type: 'boolean', default: false },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  let port = 0;
  if (values.port !== undefined) {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
      throw new Error(`--port must be an integer from 0 to 65535, got '${values.port}'`);
    }
    port = Number(values.port);
  }
  const noOpenEnv = env['SSM_NO_OPEN'];
  const open = !values['no-open'] && !(noOpenEnv !== undefined && noOpenEnv !== '' && noOpenEnv !== '0');
  return {
    browser: values.browser === true,
    open,
    port,
    help: values.help === true,
    ...resolveDirs({ dataDir: values['data-dir'], cacheDir: values['cache-dir'] }, env),
  };
}
