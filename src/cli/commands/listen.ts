import type { Command } from '../command.js';

export const listenCommand: Command = {
  name: 'listen',
  summary: 'print every message on one or more channels until Ctrl-C',
  usage: 'listen <channel>...',
  help: `Subscribes to the channels and prints each message with its channel and time.

Examples:
  daebus listen data_events monitoring
  daebus listen daebus:heartbeat --json`,
  minArgs: 1,
  maxArgs: Number.POSITIVE_INFINITY,
  async run(context, channels) {
    const transport = await context.transport();
    const print = (message: string, channel: string) => {
      const time = new Date().toISOString();
      let parsed: unknown = message;
      try {
        parsed = JSON.parse(message);
      } catch {
        // print it as it came
      }
      if (context.json) context.printJson({ time, channel, message: parsed });
      else
        context.print(
          `${time} ${channel} ${typeof parsed === 'string' ? parsed : JSON.stringify(parsed)}`,
        );
    };
    for (const channel of channels) await transport.subscribe(channel, print);
    if (!context.json)
      process.stderr.write(`listening on ${channels.join(', ')} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
