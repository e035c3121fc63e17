import type { TasksReply } from '../../app/introspection.js';
import type { TaskInfo } from '../../scheduler/task-info.js';
import type { Command } from '../command.js';
import { relativeTime, shortDuration, table } from '../format.js';
import { fanOut, reportFailures } from './fan-out.js';

/** How a task's schedule reads in a table. */
export function describeSchedule(task: TaskInfo): string {
  if (task.cron !== null) return `cron ${task.cron}`;
  if (task.kind === 'once') return `once after ${shortDuration(task.delay ?? 0)}`;
  return `every ${shortDuration(task.interval ?? 0)}`;
}

/** A task's state in one word. */
export function describeState(task: TaskInfo): string {
  if (task.running) return 'running';
  if (task.paused) return 'paused';
  return task.next_run_at === null ? 'idle' : 'scheduled';
}

export const tasksCommand: Command = {
  name: 'tasks',
  summary: "list a service's tasks, with their schedules and statistics",
  usage: 'tasks <service>[@instance]',
  help: `Asks each live instance of the service (or the one named) for its tasks and prints
one row per task: schedule, state, runs, failures, skipped runs, last run, last
duration and next run.`,
  minArgs: 1,
  maxArgs: 1,
  async run(context, [target]) {
    const { replies, failures } = await fanOut<TasksReply>(context, target!, 'daebus:tasks', {});
    if (context.json) {
      for (const { reply } of replies) context.printJson(reply);
    } else if (replies.length > 0) {
      const now = Date.now();
      const rows = replies.flatMap(({ reply }) =>
        reply.tasks.map((task) => [
          reply.instance,
          task.name,
          describeSchedule(task),
          describeState(task),
          task.runs,
          task.failures,
          task.skipped,
          relativeTime(task.last_run_at, now),
          task.last_duration_ms === null ? null : `${task.last_duration_ms}ms`,
          relativeTime(task.next_run_at, now),
        ]),
      );
      context.print(
        rows.length === 0
          ? 'no tasks'
          : table(
              [
                'INSTANCE',
                'TASK',
                'SCHEDULE',
                'STATE',
                'RUNS',
                'FAILURES',
                'SKIPPED',
                'LAST RUN',
                'LAST DURATION',
                'NEXT RUN',
              ],
              rows,
            ),
      );
    }
    reportFailures(failures);
  },
};
