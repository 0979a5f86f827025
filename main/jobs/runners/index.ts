// The runner of every job kind. A kind without a runner is a compile error.
import type { Runners } from '../runner.js';
import { importRunner } from './import.js';
import { thumbnails } from './thumbnails.js';

export const runners: Runners = {
  thumbnails,
  import: importRunner,
};
