import { hostname } from 'node:os';
import { DaebusError } from '../errors/daebus-error.js';
import { describeValue } from '../protocol/wire-request.js';
import type { BackgroundTask } from '../scheduler/background-task.js';
import type { RunRecord } from '../scheduler/run-records.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { TaskInfo } from '../scheduler/task-info.js';
import { VERSION } from '../version.js';
import type { AnyActionHandler } from './dispatcher.js';

/** What the `daebus:*` actions report about the running service. */
export interface IntrospectionSource {
  readonly service: string;
  readonly instance: string;
  readonly startedAt: Date;
  readonly transport: string;
  readonly scheduler: Scheduler;
}

/** The reply of `daebus:ping`. */
export interface PingReply {
  service: string;
  instance: string;
  pid: number;
  host: string;
  version: string;
  uptime_s: number;
  transport: string;
}

/** The reply of `daebus:tasks`. */
export interface TasksReply {
  service: string;
  instance: string;
  tasks: TaskInfo[];
}

/**
 * The operations `daebus:task` accepts: `pause`, `resume`, `trigger`,
 * `interval` (`value`: seconds), `cron` (`value`: expression, optional
 * `timezone`), `timezone` (`value`: an IANA name or null), `history`.
 */
export type TaskOp = 'pause' | 'resume' | 'trigger' | 'interval' | 'cron' | 'timezone' | 'history';
const TASK_OPS: readonly string[] = [
  'pause',
  'resume',
  'trigger',
  'interval',
  'cron',
  'timezone',
  'history',
];

/** The reply of `daebus:task`. */
export interface TaskReply {
  service: string;
  instance: string;
  op: TaskOp;
  task: TaskInfo;
  /** With op `history`: the latest runs, oldest first. */
  history?: RunRecord[];
}

/** Applies a schedule change from the wire; a bad value becomes BAD_REQUEST with the reason. */
function changeSchedule(
  task: BackgroundTask,
  op: 'interval' | 'cron' | 'timezone',
  value: unknown,
  timezone: unknown,
): void {
  try {
    if (op === 'interval') {
      task.interval = typeof value === 'string' ? Number(value) : (value as number);
    } else if (op === 'cron') {
      task.setCron(value as string, timezone as string | null | undefined);
    } else {
      task.timezone = (value ?? null) as string | null;
    }
  } catch (err) {
    throw new DaebusError('BAD_REQUEST', (err as Error).message, { cause: err });
  }
}

/** The framework's own actions (PROTOCOL.md, "Reserved names"). */
export function reservedActions(source: IntrospectionSource): Map<string, AnyActionHandler> {
  const ping = (): PingReply => ({
    service: source.service,
    instance: source.instance,
    pid: process.pid,
    host: hostname(),
    version: VERSION,
    uptime_s: Math.round((Date.now() - source.startedAt.getTime()) / 100) / 10,
    transport: source.transport,
  });

  const tasks = (): TasksReply => ({
    service: source.service,
    instance: source.instance,
    tasks: source.scheduler.list().map((task) => task.toJSON()),
  });

  const task = (payload: unknown): TaskReply => {
    const { name, op, value, timezone } = (payload ?? {}) as {
      name?: unknown;
      op?: unknown;
      value?: unknown;
      timezone?: unknown;
    };
    if (typeof name !== 'string') {
      throw new DaebusError(
        'BAD_REQUEST',
        `daebus:task needs a task "name", got ${name === undefined ? 'none' : describeValue(name)}`,
      );
    }
    if (typeof op !== 'string' || !TASK_OPS.includes(op)) {
      throw new DaebusError(
        'BAD_REQUEST',
        `daebus:task "op" must be one of ${TASK_OPS.join(', ')}, got ${op === undefined ? 'none' : describeValue(op)}`,
      );
    }
    const target = source.scheduler.get(name);
    if (target === undefined) {
      throw new DaebusError('TASK_NOT_FOUND', `service "${source.service}" has no task "${name}"`);
    }
    switch (op as TaskOp) {
      case 'pause':
        target.pause();
        break;
      case 'resume':
        target.resume();
        break;
      case 'trigger':
        void target.trigger();
        break;
      case 'history':
        return {
          service: source.service,
          instance: source.instance,
          op: 'history',
          task: target.toJSON(),
          history: target.history,
        };
      default:
        changeSchedule(target, op as 'interval' | 'cron' | 'timezone', value, timezone);
    }
    return {
      service: source.service,
      instance: source.instance,
      op: op as TaskOp,
      task: target.toJSON(),
    };
  };

  // Reserved actions reply with the DaebusError's own code (BAD_REQUEST, TASK_NOT_FOUND).
  const withCodes =
    (fn: (payload: unknown) => unknown): AnyActionHandler =>
    (payload, context) => {
      try {
        return fn(payload);
      } catch (err) {
        if (err instanceof DaebusError) return context.response.error(err);
        throw err;
      }
    };

  return new Map<string, AnyActionHandler>([
    ['daebus:ping', withCodes(ping)],
    ['daebus:tasks', withCodes(tasks)],
    ['daebus:task', withCodes(task)],
  ]);
}
