import type { Cron } from 'croner';
import type { Logger } from 'pino';
import type { TaskContext } from '../context/store.js';
import type { BackgroundTask } from './background-task.js';
import { RunHistory } from './run-history.js';
import type { ResolvedTaskOptions } from './task-options.js';
import type { QueueEntry } from './timer-queue.js';

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

/** The body of a background or one-time task; it may be async. */
export type TaskFunction = (run: TaskRun) => unknown;

/**
 * How a run ended: `succeeded`, `failed` (threw, rejected or timed out),
 * `skipped` (earlier runs were still going), `queued` (it waits for the
 * running one), or `elsewhere` (an exclusive run another replica took).
 */
export type RunOutcome = 'succeeded' | 'failed' | 'skipped' | 'queued' | 'elsewhere';

/**
 * All of one task's state, in one object: its schedule, its place in the
 * timer queue, its policies and its statistics. Owned by the scheduler;
 * users see it through {@link BackgroundTask}.
 */
export class TaskState implements QueueEntry {
  // Timer-queue bookkeeping (see QueueEntry); owned by the queue.
  due = 0;
  seq = 0;
  heapIndex = -1;

  kind: TaskKind;
  /** Interval tasks: run k is due at `anchor + k × intervalMs`; `index` is the pending k. One-time tasks: the delay. */
  intervalMs: number;
  anchor = 0;
  index = 0;
  /** Cron tasks: the expression, its time zone and croner's calculator. */
  cron: Cron | null = null;
  cronExpression: string | null = null;
  timezone: string | null = null;
  /** The nominal time of the pending slot (without jitter). */
  slot = 0;
  /** When the pending slot is due: `slot` plus this slot's jitter. */
  slotDue = 0;

  /** When the task was last started (service start, or added while running). */
  activatedAt = 0;
  /** The slot that fired last, or null: where a live schedule change counts from. */
  lastSlot: number | null = null;

  /** True while the owning scheduler is started and the task is registered. */
  active = false;
  paused = false;
  /** No more scheduled runs: a one-time task that fired, or `endAt` / `maxRuns` reached. */
  done = false;

  /** Runs going that the overlap rule waits for (a stuck run no longer counts). */
  activeRuns = 0;
  /** With `overlap: 'queue'`: the slot waiting for the running run, if any. */
  queued: { slot: number | null; attempt: number } | null = null;
  /** Runs started, retries and triggers included: the last run id. */
  started = 0;
  /** Scheduled runs started, for `maxRuns`. */
  scheduledStarts = 0;

  runs = 0;
  failures = 0;
  consecutiveFailures = 0;
  skipped = 0;
  missed = 0;
  timeouts = 0;
  stuck = 0;
  /** Exclusive runs another replica took. */
  elsewhere = 0;
  totalDurationMs = 0;
  maxDurationMs = 0;
  lastRunAt: number | null = null;
  lastDurationMs: number | null = null;
  lastError: string | null = null;
  readonly history: RunHistory;

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
    this.kind = kind;
    this.intervalMs = intervalMs;
    this.history = new RunHistory(options.historySize);
  }

  /** True while a run is going. */
  get running(): boolean {
    return this.activeRuns > 0;
  }
}
