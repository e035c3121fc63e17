import type { Cron } from 'croner';
import type { Logger } from 'pino';
import type { TaskContext } from '../context/store.js';
import type { BackgroundTask } from './background-task.js';
import type { FailureLog, RunRecordsHolder } from './run-records.js';
import {
  ANCHOR,
  INDEX,
  INTERVAL,
  LAST_SLOT,
  SLOT,
  SLOT_DUE,
  type TimesHolder,
  takeTimes,
} from './schedule-times.js';
import type { ResolvedTaskOptions } from './task-options.js';
import type { QueueEntry } from './timer-queue.js';

/** Where a state's times are before it takes its row: nowhere (see TaskState's constructor). */
const NO_TIMES = new Float64Array(0);

/** `interval`: a fixed-rate grid; `cron`: a cron expression; `once`: a one-time task. */
export type TaskKind = 'interval' | 'cron' | 'once';

/** What a task function receives on each run. */
export interface TaskRun {
  /**
   * Aborts when the run reaches its timeout or the service starts to close;
   * long runs should stop early when it does.
   */
  readonly signal: AbortSignal;
  /** The task itself: its name, schedule and statistics. */
  readonly task: BackgroundTask;
  /** The service's logger, bound to this task (its lines carry `task`). */
  readonly logger: Logger;
  /** The run's number within its task, from 1. */
  readonly runId: number;
  /** The slot this run is for (epoch ms), or null for a trigger. */
  readonly scheduledAt: number | null;
  /** 0 for the scheduled run, 1 and up for its retries. */
  readonly attempt: number;
}

/**
 * What the default export of a worker task's module receives: a run like a
 * task's own, except that the task is only named (the task object stays in
 * the service's thread) and the logger is the worker's own.
 *
 * @example
 * export default async function crunch({ signal, logger }: WorkerTaskRun) { ... }
 */
export type WorkerTaskRun = Omit<TaskRun, 'task'> & { readonly task: { readonly name: string } };

/** The body of a background or one-time task; it may be async. */
export type TaskFunction = (run: TaskRun) => unknown;

/**
 * How a run ended: `succeeded`, `failed` (threw, rejected or timed out),
 * `skipped` (earlier runs were still going), `queued` (it waits for the
 * running one), or `elsewhere` (an exclusive run another replica took).
 */
export type RunOutcome = 'succeeded' | 'failed' | 'skipped' | 'queued' | 'elsewhere';

/** A cron schedule: the expression, its time zone and croner's calculator. */
export interface CronSchedule {
  readonly cron: Cron;
  readonly expression: string;
  readonly timezone: string | null;
}

/**
 * All of one task's state: its schedule, its place in the timer queue and its
 * policies; its times live in a row of a shared slab (see
 * `schedule-times.ts`), its counters and history in a slab region it takes on
 * its first run (see `run-records.ts`). Owned by the scheduler; users see it
 * through {@link BackgroundTask}.
 */
export class TaskState implements QueueEntry, RunRecordsHolder, TimesHolder {
  // Timer-queue bookkeeping (see QueueEntry); owned by the queue. A queued task waits for `slotDue`.
  seq = 0;
  heapIndex = -1;

  /** The row of times (see schedule-times.ts) and where it starts. */
  times = NO_TIMES;
  timesBase = 0;

  kind: TaskKind;
  cron: CronSchedule | null = null;

  /** True while the owning scheduler is started and the task is registered. */
  active = false;
  paused = false;
  /** No more scheduled runs: a one-time task that fired, or `endAt` / `maxRuns` reached. */
  done = false;

  /** Runs going that the overlap rule waits for (a stuck run no longer counts). */
  activeRuns = 0;
  /** With `overlap: 'queue'`: the slot waiting for the running run (NaN for a trigger), if any. */
  queued: { slot: number; attempt: number } | null = null;
  /** Runs started, retries and triggers included: the last run id. */
  started = 0;
  /** Scheduled runs started, for `maxRuns`. */
  scheduledStarts = 0;
  /** Retries waiting in the timer queue: a one-time task stays registered until they have run. */
  pendingRetries = 0;
  // Counters, latest run and history (see RunRecordsHolder); no region until the first run, skip or miss.
  runData: Float64Array | null = null;
  runBase = 0;
  runStride = 0;
  failureLog: FailureLog | null = null;
  recordsDetached = false;

  /** The user's view of this task; set when the scheduler registers it. */
  handle!: BackgroundTask;
  /** Built on the first run after each start, then reused. */
  context: TaskContext | null = null;
  logger: Logger | null = null;

  constructor(
    readonly name: string,
    kind: TaskKind,
    intervalMs: number,
    readonly fn: TaskFunction,
    readonly options: ResolvedTaskOptions,
  ) {
    takeTimes(this);
    this.kind = kind;
    // The row itself, not the accessors: thousands of tasks may be registered in a row, each
    // accessor a call in code V8 has not compiled yet.
    this.times[this.timesBase + INTERVAL] = intervalMs;
    this.times[this.timesBase + INDEX] = 0;
  }

  /** Interval tasks: run k is due at `anchor + k × intervalMs`. One-time tasks: the delay. */
  get intervalMs(): number {
    return this.times[this.timesBase + INTERVAL]!;
  }
  set intervalMs(value: number) {
    this.times[this.timesBase + INTERVAL] = value;
  }

  /** Interval tasks: where the grid starts (epoch ms). */
  get anchor(): number {
    return this.times[this.timesBase + ANCHOR]!;
  }
  set anchor(value: number) {
    this.times[this.timesBase + ANCHOR] = value;
  }

  /** Interval tasks: the k of the pending slot. */
  get index(): number {
    return this.times[this.timesBase + INDEX]!;
  }
  set index(value: number) {
    this.times[this.timesBase + INDEX] = value;
  }

  /** The nominal time of the pending slot (without jitter). */
  get slot(): number {
    return this.times[this.timesBase + SLOT]!;
  }
  set slot(value: number) {
    this.times[this.timesBase + SLOT] = value;
  }

  /** When the pending slot is due: `slot` plus this slot's jitter. */
  get slotDue(): number {
    return this.times[this.timesBase + SLOT_DUE]!;
  }
  set slotDue(value: number) {
    this.times[this.timesBase + SLOT_DUE] = value;
  }

  /**
   * The slot that fired last, or the time the task was started (service
   * start, or added while running) before any run: where a live interval
   * change counts from.
   */
  get lastSlot(): number {
    return this.times[this.timesBase + LAST_SLOT]!;
  }
  set lastSlot(value: number) {
    this.times[this.timesBase + LAST_SLOT] = value;
  }

  /** True while a run is going. */
  get running(): boolean {
    return this.activeRuns > 0;
  }
}
