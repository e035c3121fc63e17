import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';
import { parseTarget } from '../instances.js';

/** Parses the JSON argument of `call` and `send`, with an error that says what was wrong. */
export function parseJsonArgument(text: string | undefined, what: string): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${what} is not valid JSON (${(err as Error).message}): ${text}`, 2);
  }
}

export const callCommand: Command = {
  name: 'call',
  summary: 'call an action and print its progress messages and result',
  usage: 'call <service>[@instance] <action> [json] [--timeout s]',
  help: `Sends a request and waits for the final reply. Progress messages are printed as they
come, then the result. Exits 1 when the reply is an error or none comes in time.

Examples:
  daebus call adaptive_service adjust_schedule '{"interval": 1}'
  daebus call monitor_service daebus:ping --json`,
  minArgs: 2,
  maxArgs: 3,
  async run(context, [target, action, json]) {
    const payload = parseJsonArgument(json, 'the payload');
    const { service, instance } = parseTarget(target!);
    const caller = await context.caller(service);
    const result = await caller.request(action!, payload, {
      instance: instance ?? undefined,
      onProgress: (progress) => {
        if (context.json) context.printJson({ progress });
        else context.print(`progress: ${JSON.stringify(progress)}`);
      },
    });
    if (context.json) context.printJson({ result });
    else context.print(JSON.stringify(result, null, 2));
  },
};
