import type { TaskReply } from '../../app/introspection.js';
import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';
import { relativeTime } from '../format.js';
import { fanOut, reportFailures } from './fan-out.js';
import { describeSchedule, describeState } from './tasks.js';

/** Each operation, and how its result reads. */
const DONE: Record<string, string> = {
  pause: 'paused',
  resume: 'resumed',
  trigger: 'triggered',
  interval: 'rescheduled',
  cron: 'rescheduled',
  timezone: 'moved to another time zone',
};
/** The operations that take a value. */
const WITH_VALUE = new Set(['interval', 'cron', 'timezone']);
const OPS = Object.keys(DONE);

export const taskCommand: Command = {
  name: 'task',
  summary: 'pause, resume, trigger a task or change its interval',
  usage: 'task <service>[@instance] <task> pause|resume|trigger|interval <seconds>',
  help: `Controls one task on each live instance of the service (or the one named) and
prints its new state.

Examples:
  daebus task adaptive_service adaptive_cleanup interval 600
  daebus task data_service@host-1234-ab12cd data_refresh trigger`,
  minArgs: 3,
  maxArgs: 4,
  async run(context, [target, name, op, value]) {
    if (!OPS.includes(op!))
      throw new CliError(`unknown operation "${op}": use one of ${OPS.join(', ')}`, 2);
    if (op === 'interval' && value === undefined)
      throw new CliError('interval needs a number of seconds, e.g. `interval 600`', 2);
    if (op !== 'interval' && value !== undefined)
      throw new CliError(`${op} takes no value, got "${value}"`, 2);
    const payload = op === 'interval' ? { name, op, value: Number(value) } : { name, op };
    const { replies, failures } = await fanOut<TaskReply>(context, target!, 'daebus:task', payload);
    for (const { reply } of replies) {
      if (context.json) {
        context.printJson(reply);
        continue;
      }
      const task = reply.task;
      context.print(
        `${reply.instance}: ${task.name} ${DONE[op!]}: ${describeSchedule(task)}, ${describeState(task)}, next run ${relativeTime(task.next_run_at) ?? '-'}`,
      );
    }
    reportFailures(failures);
  },
};
