// Every CLI subcommand. To add one: write commands/<name>.ts exporting a Command, import it here, add it to the list.
import type { Command } from '../command.js';
import { exportCommand } from './export.js';
import { classifyCommand } from './classify.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';
import { interpolateCommand } from './interpolate.js';
import { modelsCommand } from './models.js';
import { segmentCommand } from './segment.js';
import { trainCommand } from './train.js';

export const commands: readonly Command[] = [
  infoCommand,
  importCommand,
  exportCommand,
  modelsCommand,
  classifyCommand,
  segmentCommand,
  interpolateCommand,
  trainCommand,
];
