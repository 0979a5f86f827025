// electron-builder.yml must be a valid configuration. Packaging needs the internet; validation does not.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../../main/app/paths.js';

const require = createRequire(import.meta.url);
const builderRequire = createRequire(require.resolve('app-builder-lib'));
const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
  validateConfiguration(config: unknown, logger: unknown): Promise<void>;
};
const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
const yaml = builderRequire('js-yaml') as { load(text: string): Record<string, unknown> };

function loadConfig(): Record<string, unknown> {
  return yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8'));
}

describe('electron-builder.yml', () => {
  it('is a valid electron-builder configuration', async () => {
    await expect(validateConfiguration(loadConfig(), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('the validator rejects an invalid configuration (so the check above can fail)', async () => {
    const bad = { ...loadConfig(), linux: { target: 42 }, notAnOption: true };
    await expect(validateConfiguration(bad, new DebugLogger(false))).rejects.toThrow(/Invalid configuration/);
  });

  it('ships the built app, the engine and the default models', () => {
    const files = loadConfig().files as string[];
    expect(files).toEqual(expect.arrayContaining(['dist/**', 'native/build/Release/ssm_engine.node', 'models/**']));
  });
});
