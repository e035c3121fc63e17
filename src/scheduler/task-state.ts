import type { Logger } from 'pino';
import type { TaskContext } from '../context/store.js';
import type { QueueEntry } from './timer-queue.js';

/** `interval`: a recurring task on a fixed-rate grid; `once`: a one-time task. */
export type TaskKind = 'interval' | 'once';

/** What a task function receives on each run. */
export interface TaskRun {
  /** Aborts when the service starts to close; long runs should stop early when it does. */
  signal: AbortSignal;
  /** The task itself: its name, schedule and statistics. */
  task: import('./background-task.js').BackgroundTask;
  /** The service's logger, bound to this task (its lines carry `task`). */
  logger: Logger;
}

/** The body of a background or one-time task; it may be async. */
export type TaskFunction = (run: TaskRun) => unknown;

/** How a run ended. */
export type RunOutcome = 'succeeded' | 'failed' | 'skipped';

/**
 * All of one task's state, in one object: its schedule, its place in the
 * timer queue and its statistics. Owned by the scheduler; users see it
 * through {@link import('./background-task.js').BackgroundTask}.
 */
export class TaskState implements QueueEntry {
  // Timer-queue bookkeeping (see QueueEntry).
  due = 0;
  seq = 0;
  heapIndex = -1;

  /** Run `index` is due at `anchor + index × intervalMs` (for `once`: index 1 is the only run). */
  anchor = 0;
  index = 0;
  intervalMs: number;

  /** True while the scheduler that owns the task is started (and the task not cancelled). */
  active = false;
  paused = false;
  /** True from the start of a run until it settles; a run that comes due meanwhile is skipped. */
  running = false;

  runs = 0;
  failures = 0;
  skipped = 0;
  missed = 0;
  lastRunAt: number | null = null;
  lastDurationMs: number | null = null;
  lastError: string | null = null;

  /** The user's view of this task; set when the scheduler registers it. */
  handle!: import('./background-task.js').BackgroundTask;

  /** Built on the first run after each start, then reused: nothing is allocated per run. */
  context: TaskContext | null = null;
  runArgs: TaskRun | null = null;

  constructor(
    readonly name: string,
    readonly kind: TaskKind,
    intervalMs: number,
    readonly immediate: boolean,
    readonly fn: TaskFunction,
  ) {
    this.intervalMs = intervalMs;
  }
}
