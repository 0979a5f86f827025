// What a CLI subcommand implements. Commands are listed in commands/index.ts; adding one is one import and one entry.
import type { ParseArgsConfig } from 'node:util';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for `ssm-studio --help`. */
  summary: string;
  /** Usage line(s) for `ssm-studio <name> --help`. */
  usage: string;
  /** node:util parseArgs options (`--json` and `--help` are added for every command). */
  options: NonNullable<ParseArgsConfig['options']>;
  /** Returns the exit code. Throwing an AppError prints it (as JSON with --json) and exits 1. */
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}

/** A usage error: exit code 2, message printed with the command's usage. */
export class UsageError extends Error {}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}
