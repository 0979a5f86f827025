import type { ProjectApi } from '../../../contract/project.js';
import type { Handler } from '../../ipc/router.js';
import { exportProject } from '../../project/export.js';
import type { ProjectRegistry } from '../../project/registry.js';

export function projectHandlers(projects: ProjectRegistry): { [M in keyof ProjectApi]: Handler<M> } {
  return {
    'project.open': async ({ dir }) => projects.get(dir).summary(),
    'project.items': async ({ dir, offset, limit }) => projects.get(dir).items(offset, limit),
    'project.labels': async ({ dir, itemId }) => projects.get(dir).labelsOf(itemId),
    'project.setLabel': async ({ dir, itemId, className, frameStart, frameEnd }) => {
      const store = projects.get(dir);
      store.setLabel(itemId, className, frameStart, frameEnd);
      return store.summary();
    },
    'project.undo': async ({ dir }) => {
      const store = projects.get(dir);
      store.undo();
      return store.summary();
    },
    'project.redo': async ({ dir }) => {
      const store = projects.get(dir);
      store.redo();
      return store.summary();
    },
    'project.export': async ({ dir, format, out }) => exportProject(projects.get(dir), format, out),
  };
}
