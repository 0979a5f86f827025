// The `import` job: opens the project in this job process and imports the given paths (see project/import.ts).
import type { JsonValue } from '../../../contract/index.js';
import { importPaths } from '../../project/import.js';
import { ProjectStore } from '../../project/store.js';
import type { JobRunner } from '../runner.js';

export const importRunner: JobRunner<'import'> = async ({ project, paths }, ctx) => {
  const store = ProjectStore.open(project);
  try {
    const result = await importPaths(store, paths, ctx);
    return result as unknown as JsonValue;
  } finally {
    store.close();
  }
};
