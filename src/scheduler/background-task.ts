import type { Scheduler } from './scheduler.js';
import { type TaskInfo, taskInfo } from './task-info.js';
import type { RunOutcome, TaskKind, TaskState } from './task-state.js';

/** A task's counters and latest run, as numbers and `Date`s. */
export interface TaskStats {
  /** Finished runs, failed ones included. */
  runs: number;
  /** Runs that threw or rejected. */
  failures: number;
  /** Runs that came due while the previous run was still going. */
  skipped: number;
  /** Scheduled times that passed while the process could not run them. */
  missed: number;
  lastRunAt: Date | null;
  lastDurationMs: number | null;
  lastError: string | null;
  nextRunAt: Date | null;
}

/**
 * A scheduled task: recurring (`app.background`) or one-time (`app.after`).
 * Reach it as `app.backgroundTasks[name]`; every change takes effect at once.
 *
 * @example
 * app.backgroundTasks['adaptive_cleanup'].interval = 600; // next run 600 s after the previous one
 */
export class BackgroundTask {
  readonly #state: TaskState;
  readonly #scheduler: Scheduler;

  /** @internal Created by the app; use `app.background` or `app.after`. */
  constructor(state: TaskState, scheduler: Scheduler) {
    this.#state = state;
    this.#scheduler = scheduler;
  }

  /** The task's unique name. */
  get name(): string {
    return this.#state.name;
  }

  /** `interval` or `once`. */
  get kind(): TaskKind {
    return this.#state.kind;
  }

  /**
   * Seconds between runs. Setting it takes effect at once: the next run
   * comes one new interval after the previous scheduled run, or right away
   * when that moment has passed. Throws a `RangeError` for a bad value.
   */
  get interval(): number {
    return this.#state.intervalMs / 1000;
  }

  set interval(seconds: number) {
    this.#scheduler.setInterval(this.#state, seconds);
  }

  /** True while paused. */
  get paused(): boolean {
    return this.#state.paused;
  }

  /** True while a run is going. */
  get running(): boolean {
    return this.#state.running;
  }

  /** When the task runs next, or null when paused, done or not started. */
  get nextRunAt(): Date | null {
    return this.#state.heapIndex >= 0 ? new Date(this.#state.due) : null;
  }

  /** Counters since start and the latest run. */
  get stats(): TaskStats {
    const s = this.#state;
    return {
      runs: s.runs,
      failures: s.failures,
      skipped: s.skipped,
      missed: s.missed,
      lastRunAt: s.lastRunAt === null ? null : new Date(s.lastRunAt),
      lastDurationMs: s.lastDurationMs,
      lastError: s.lastError,
      nextRunAt: this.nextRunAt,
    };
  }

  /** Stops scheduling runs (a run in progress finishes). The grid is kept. */
  pause(): void {
    this.#scheduler.pause(this.#state);
  }

  /** Schedules runs again, on the same grid: the next run is the first grid slot from now. */
  resume(): void {
    this.#scheduler.resume(this.#state);
  }

  /**
   * Runs the task now, outside its schedule and still under the overlap rule.
   * Resolves when the run settles: `succeeded`, `failed`, or `skipped` when a
   * run was already going. Never rejects for the task's own errors.
   */
  trigger(): Promise<RunOutcome> {
    return this.#scheduler.trigger(this.#state);
  }

  /** Removes the task: no further runs (a run in progress finishes). */
  cancel(): void {
    this.#scheduler.remove(this.#state);
  }

  /** The task as `daebus:tasks` reports it. */
  toJSON(): TaskInfo {
    return taskInfo(this.#state);
  }
}
