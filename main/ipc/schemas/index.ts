// Every method's params schema. The type makes a method without a schema a compile error.
import type { Api } from '../../../contract/index.js';
import { appSchemas } from './app.js';
import { jobsSchemas } from './jobs.js';
import { mediaSchemas } from './media.js';
import { modelsSchemas } from './models.js';
import { projectSchemas } from './project.js';
import { resultsSchemas } from './results.js';
import type { ParamSchemas } from './types.js';

export const paramSchemas: ParamSchemas<Api> = {
  ...appSchemas,
  ...jobsSchemas,
  ...mediaSchemas,
  ...modelsSchemas,
  ...projectSchemas,
  ...resultsSchemas,
};
