import type { Command } from '../command.js';
import { relativeTime, shortDuration, table } from '../format.js';
import { liveInstances } from '../instances.js';

export const servicesCommand: Command = {
  name: 'services',
  summary: 'list the live services and their instances',
  usage: 'services',
  help: `Lists every instance that has sent a heartbeat recently: service, instance, host,
pid, uptime and when it was last heard from.`,
  minArgs: 0,
  maxArgs: 0,
  async run(context) {
    const instances = await liveInstances(context);
    if (context.json) {
      context.printJson({ instances });
      return;
    }
    if (instances.length === 0) {
      context.print(`no live services on ${(await context.transport()).url}`);
      return;
    }
    const now = Date.now();
    context.print(
      table(
        ['SERVICE', 'INSTANCE', 'HOST', 'PID', 'UPTIME', 'VERSION', 'LAST SEEN'],
        instances.map((i) => [
          i.service,
          i.instance,
          i.host,
          i.pid,
          shortDuration((now - Date.parse(i.started_at)) / 1000),
          i.version,
          relativeTime(i.ts, now),
        ]),
      ),
    );
  },
};
