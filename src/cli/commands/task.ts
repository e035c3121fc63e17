import type { TaskReply } from '../../app/introspection.js';
import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';
import { untilTime } from '../format.js';
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
  summary: 'pause, resume, trigger a task or change its schedule',
  usage:
    'task <service>[@instance] <task> pause|resume|trigger|interval <seconds>|cron <expression> [--timezone tz]|timezone <tz>',
  help: `Controls one task on each live instance of the service (or the one named) and
prints its new state.

Examples:
  daebus task adaptive_service adaptive_cleanup interval 600
  daebus task data_service@host-1234-ab12cd data_refresh trigger
  daebus task report_service report cron '0 0 7 * * *' --timezone Europe/Berlin`,
  options: { timezone: { type: 'string' } },
  minArgs: 3,
  maxArgs: 4,
  async run(context, [target, name, op, value], values) {
    if (!OPS.includes(op!)) {
      throw new CliError(`unknown operation "${op}": use one of ${OPS.join(', ')}`, 2);
    }
    if (WITH_VALUE.has(op!) && value === undefined) {
      const needs: Record<string, string> = {
        interval: 'a number of seconds, e.g. `interval 600`',
        cron: "an expression, e.g. `cron '0 */5 * * * *'`",
        timezone: 'a time zone, e.g. `timezone Europe/Berlin`',
      };
      throw new CliError(`${op} needs ${needs[op!]}`, 2);
    }
    if (!WITH_VALUE.has(op!) && value !== undefined) {
      throw new CliError(`${op} takes no value, got "${value}"`, 2);
    }
    const payload: Record<string, unknown> = { name, op };
    if (value !== undefined) payload.value = op === 'interval' ? Number(value) : value;
    if (values.timezone !== undefined) payload.timezone = values.timezone;
    const { replies, failures } = await fanOut<TaskReply>(context, target!, 'daebus:task', payload);
    for (const { reply } of replies) {
      if (context.json) {
        context.printJson(reply);
        continue;
      }
      const task = reply.task;
      context.print(
        `${reply.instance}: ${task.name} ${DONE[op!]}: ${describeSchedule(task)}, ${describeState(task)}, next run ${untilTime(task.next_run_at) ?? '-'}`,
      );
    }
    reportFailures(failures);
  },
};
