// Every CLI subcommand. To add one: write commands/<name>.ts exporting a Command, import it here, add it to the list.
import type { Command } from '../command.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';

export const commands: readonly Command[] = [infoCommand, importCommand, exportCommand];
