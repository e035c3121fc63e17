import type { TaskReply, TasksReply } from '../../app/introspection.js';
import type { TaskInfo } from '../../scheduler/task-info.js';
import type { CliContext } from '../cli-context.js';
import type { Command } from '../command.js';
import { relativeTime, shortDuration, table, untilTime } from '../format.js';
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

async function printHistory(context: CliContext, target: string, name: string): Promise<void> {
  const { replies, failures } = await fanOut<TaskReply>(context, target, 'daebus:task', {
    name,
    op: 'history',
  });
  for (const { reply } of replies) {
    if (context.json) {
      context.printJson(reply);
      continue;
    }
    const { task, history = [] } = reply;
    context.print(
      `${reply.instance} ${task.name}: ${describeSchedule(task)}, ${describeState(task)}; ${task.runs} runs, ${task.failures} failures, next run ${untilTime(task.next_run_at) ?? '-'}`,
    );
    context.print(
      history.length === 0
        ? 'no runs yet'
        : table(
            ['RUN', 'SCHEDULED', 'STARTED', 'DURATION', 'OUTCOME', 'ATTEMPT', 'ERROR'],
            history.map((run) => [
              run.run_id,
              run.scheduled_at,
              run.started_at,
              `${run.duration_ms}ms`,
              run.outcome,
              run.attempt,
              run.error,
            ]),
          ),
    );
  }
  reportFailures(failures);
}

export const tasksCommand: Command = {
  name: 'tasks',
  summary: "list a service's tasks, with their schedules and statistics",
  usage: 'tasks <service>[@instance] [task]',
  help: `Asks each live instance of the service (or the one named) for its tasks and prints
one row per task: schedule, state, runs, failures, skipped runs, last run, last
duration and next run. With a task name, prints that task's latest runs instead:
when each was scheduled and started, how long it took, and how it ended.

Examples:
  daebus tasks adaptive_service
  daebus tasks adaptive_service adaptive_cleanup`,
  minArgs: 1,
  maxArgs: 2,
  async run(context, [target, name]) {
    if (name !== undefined) return printHistory(context, target!, name);
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
          untilTime(task.next_run_at, now),
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
