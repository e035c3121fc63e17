import { parseArgs } from 'node:util';
import { maskRedisUrl } from '../transport/redis/redis-url.js';
import { VERSION } from '../version.js';
import { CliContext } from './cli-context.js';
import { CliError } from './cli-error.js';
import type { Command } from './command.js';
import { callCommand } from './commands/call.js';
import { listenCommand } from './commands/listen.js';
import { pingCommand } from './commands/ping.js';
import { sendCommand } from './commands/send.js';
import { servicesCommand } from './commands/services.js';
import { taskCommand } from './commands/task.js';
import { tasksCommand } from './commands/tasks.js';

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  callCommand,
  servicesCommand,
  tasksCommand,
  taskCommand,
  pingCommand,
  listenCommand,
  sendCommand,
];

const SHARED_OPTIONS = {
  redis: { type: 'string' },
  json: { type: 'boolean', default: false },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const SHARED_HELP = `Options:
  --redis URL      Redis to use (default: REDIS_URL, else redis://127.0.0.1:6379)
  --json           machine-readable output, one JSON document per line
  --timeout s      seconds to wait for replies (default 5)
  -h, --help       show help

Environment:
  REDIS_URL        Redis to use when --redis is not given
  REDIS_CA_FILE    PEM file of the authority that signed the server's certificate (rediss://)`;

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `daebus ${VERSION}: see and steer the Daebus services on a Redis

Usage: daebus <command> [arguments] [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

${SHARED_HELP}

Run \`daebus <command> --help\` for a command's arguments and examples.`;
}

function commandHelp(command: Command): string {
  return `Usage: daebus ${command.usage} [options]

${command.help}

${SHARED_HELP}`;
}

/**
 * Runs the command line with `argv` (without `node` and the script) and
 * returns the exit status: 0 on success, 1 when the call failed, 2 for a
 * wrong command line.
 */
export async function main(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    write(`${mainHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`daebus: unknown command "${name}"; run \`daebus --help\` for the list\n`);
    return 2;
  }
  let context: CliContext | null = null;
  try {
    const { values, positionals } = parseCommandLine(command, rest);
    if (values.help === true) {
      write(`${commandHelp(command)}\n`);
      return 0;
    }
    if (positionals.length < command.minArgs || positionals.length > command.maxArgs) {
      throw new CliError(`wrong number of arguments. Usage: daebus ${command.usage}`, 2);
    }
    const timeout = values.timeout === undefined ? 5 : Number(values.timeout);
    if (!(Number.isFinite(timeout) && timeout > 0)) {
      throw new CliError(
        `--timeout must be a positive number of seconds, got "${String(values.timeout)}"`,
        2,
      );
    }
    context = new CliContext({
      redis: values.redis as string | undefined,
      json: values.json === true,
      timeout,
      write,
    });
    await command.run(context, positionals, values);
    return 0;
  } catch (err) {
    const exitCode = err instanceof CliError ? err.exitCode : 1;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`daebus ${name}: ${maskSecrets(message)}\n`);
    return exitCode;
  } finally {
    await context?.close().catch(() => undefined);
  }
}

function parseCommandLine(command: Command, args: string[]) {
  try {
    return parseArgs({
      args,
      options: { ...SHARED_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs explains some mistakes over several lines; the command line prints one.
    const message = (err as Error).message.replace(/\s*\n\s*/g, ' ');
    throw new CliError(`${message}. Usage: daebus ${command.usage}`, 2);
  }
}

/** Masks a password in any Redis URL inside a message. */
function maskSecrets(message: string): string {
  return message.replace(/rediss?:\/\/[^\s"']+/g, (url) => maskRedisUrl(url));
}
