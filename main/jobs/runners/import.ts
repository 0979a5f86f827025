// The `import` job: opens the project in this job process and imports the given paths (see project/import.ts).
import { importPaths } from '../../project/import.js';
import { ProjectStore } from '../../project/store.js';
import type { JobRunner } from '../runner.js';

export const importRunner: JobRunner<'import'> = async ({ project, paths }, ctx) => {
  const store = ProjectStore.open(project);
  try {
    return await importPaths(store, paths, ctx);
  } finally {
    store.close();
  }
};
