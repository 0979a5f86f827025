// The runner of every job kind. A kind without a runner is a compile error.
import type { Runners } from '../runner.js';
import { importRunner } from './import.js';
import { inferRunner } from './infer.js';
import { thumbnails } from './thumbnails.js';
import { trainRunner } from './train.js';

export const runners: Runners = {
  thumbnails,
  import: importRunner,
  train: trainRunner,
  infer: inferRunner,
};
