import type { PingReply } from '../../app/introspection.js';
import type { Command } from '../command.js';
import { shortDuration, table } from '../format.js';
import { fanOut, reportFailures } from './fan-out.js';

export const pingCommand: Command = {
  name: 'ping',
  summary: 'ping every instance of a service',
  usage: 'ping <service>[@instance]',
  help: `Sends daebus:ping to each live instance (or the one named) and prints the
round-trip time, host, pid, version and uptime.`,
  minArgs: 1,
  maxArgs: 1,
  async run(context, [target]) {
    const { replies, failures } = await fanOut<PingReply>(context, target!, 'daebus:ping', {});
    if (context.json) {
      for (const { reply, ms } of replies)
        context.printJson({ ...reply, rtt_ms: Number(ms.toFixed(2)) });
    } else if (replies.length > 0) {
      context.print(
        table(
          ['INSTANCE', 'HOST', 'PID', 'VERSION', 'UPTIME', 'RTT'],
          replies.map(({ reply, ms }) => [
            reply.instance,
            reply.host,
            reply.pid,
            reply.version,
            shortDuration(reply.uptime_s),
            `${ms.toFixed(1)}ms`,
          ]),
        ),
      );
    }
    reportFailures(failures);
  },
};
