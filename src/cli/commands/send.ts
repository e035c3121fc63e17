import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';
import { parseJsonArgument } from './call.js';

export const sendCommand: Command = {
  name: 'send',
  summary: 'publish a JSON object on a channel',
  usage: 'send <channel> <json>',
  help: `Publishes one broadcast and prints how many subscribers received it.

Example:
  daebus send data_events '{"type": "data_refreshed"}'`,
  minArgs: 2,
  maxArgs: 2,
  async run(context, [channel, json]) {
    const payload = parseJsonArgument(json, 'the message');
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new CliError('the message must be a JSON object, e.g. \'{"type": "ping"}\'', 2);
    }
    const receivers = await (await context.transport()).publish(channel!, JSON.stringify(payload));
    if (context.json) context.printJson({ channel, receivers });
    else
      context.print(`sent to ${receivers} subscriber${receivers === 1 ? '' : 's'} of "${channel}"`);
  },
};
