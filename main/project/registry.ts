// The projects open in the main process, one store (one SQLite connection) per project folder.
import path from 'node:path';

import { ProjectStore } from './store.js';

export class ProjectRegistry {
  private readonly open = new Map<string, ProjectStore>();

  get(dir: string): ProjectStore {
    const key = path.resolve(dir);
    let store = this.open.get(key);
    if (!store) {
      store = ProjectStore.open(key);
      this.open.set(key, store);
    }
    return store;
  }

  closeAll(): void {
    for (const s of this.open.values()) s.close();
    this.open.clear();
  }
}
