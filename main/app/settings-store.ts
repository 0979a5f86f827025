// User settings in <dataDir>/settings.json, written atomically (temp file, then rename).
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Settings } from '../../contract/index.js';
import { appSchemas } from '../ipc/schemas/app.js';

export const DEFAULT_SETTINGS: Settings = { theme: 'system', threads: 0, memoryLimitMb: 0, backend: 'cpu' };

export class SettingsStore {
  private current: Settings;
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'settings.json');
    this.current = { ...DEFAULT_SETTINGS, ...this.readValid() };
  }

  get(): Settings {
    return { ...this.current };
  }

  async update(patch: Partial<Settings>): Promise<Settings> {
    this.current = { ...this.current, ...patch };
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.current, null, 2));
    await rename(tmp, this.file);
    return this.get();
  }

  /** A missing or broken settings file falls back to defaults (never a crash at start). */
  private readValid(): Partial<Settings> {
    try {
      const parsed = appSchemas['settings.update'].safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      return parsed.success ? parsed.data : {};
    } catch {
      return {};
    }
  }
}
