// The `ssm-studio` command line: a small registry of subcommands (see commands/index.ts).
// Errors are printed as `{"error": {"code", "message"}}` with --json (plain text otherwise) and exit with code 1;
// usage errors exit with code 2.
import { parseArgs } from 'node:util';

import { toErrorInfo } from '../ipc/app-error.js';
import { UsageError, type CliIO, type Command } from './command.js';
import { commands } from './commands/index.js';

function help(io: CliIO): void {
  const width = Math.max(...commands.map((c) => c.name.length));
  io.stdout.write(
    `usage: ssm-studio <command> [options]\n\ncommands:\n${commands
      .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
      .join('\n')}\n\nRun 'ssm-studio <command> --help' for a command's options.\n`,
  );
}

export async function main(
  argv: string[],
  io: CliIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help(io);
    return name ? 0 : 2;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`ssm-studio: unknown command '${name}' (known: ${commands.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  const json = rest.includes('--json');
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      io.stdout.write(`usage: ${command.usage}\n${command.summary}\n`);
      return 0;
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, io);
  } catch (err) {
    const usage =
      err instanceof UsageError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    const info = usage ? { code: 'bad_request' as const, message: (err as Error).message } : toErrorInfo(err);
    if (json) io.stdout.write(`${JSON.stringify({ error: info }, null, 2)}\n`);
    else io.stderr.write(`ssm-studio ${name}: ${info.message}${usage ? `\nusage: ${command.usage}` : ''}\n`);
    return usage ? 2 : 1;
  }
}
