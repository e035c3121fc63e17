import { listRuns, type RunRecord, readCounters } from './run-records.js';
import type { Scheduler } from './scheduler.js';
import { type TaskInfo, taskInfo } from './task-info.js';
import type { RunOutcome, TaskKind, TaskState } from './task-state.js';

/** A task's counters and latest run, as numbers and `Date`s. */
export interface TaskStats {
  /** Finished runs, failed ones included. */
  runs: number;
  /** Runs that threw, rejected or timed out. */
  failures: number;
  /** Failures since the last success. */
  consecutiveFailures: number;
  /** Runs that came due while earlier runs were still going. */
  skipped: number;
  /** Scheduled times that passed while the process could not run them. */
  missed: number;
  /** Runs that reached their timeout. */
  timeouts: number;
  /** Runs that outlived `stuckAfter`. */
  stuck: number;
  /** Exclusive runs another replica took. */
  elsewhere: number;
  lastRunAt: Date | null;
  lastDurationMs: number | null;
  avgDurationMs: number | null;
  maxDurationMs: number | null;
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

  /** @internal Created by the scheduler; use `app.background` or `app.after`. */
  constructor(state: TaskState, scheduler: Scheduler) {
    this.#state = state;
    this.#scheduler = scheduler;
  }

  /** The task's unique name. */
  get name(): string {
    return this.#state.name;
  }

  /** `interval`, `cron` or `once`. */
  get kind(): TaskKind {
    return this.#state.kind;
  }

  /**
   * Seconds between runs (the delay, for a one-time task; null for a cron
   * task). Setting it takes effect at once: the next run comes one new
   * interval after the previous scheduled run, or right away when that moment
   * has passed. A cron task set an interval becomes an interval task. Throws a
   * `RangeError` for a bad value.
   */
  get interval(): number | null {
    return this.#state.kind === 'cron' ? null : this.#state.intervalMs / 1000;
  }

  set interval(seconds: number) {
    this.#scheduler.setInterval(this.#state, seconds);
  }

  /**
   * The cron expression (null unless a cron task). Setting it makes the task
   * a cron task at once, keeping its time zone; the next run is the
   * expression's first time from now.
   */
  get cron(): string | null {
    return this.#state.cron?.expression ?? null;
  }

  set cron(expression: string) {
    this.#scheduler.setCron(this.#state, expression, this.#state.cron?.timezone ?? null);
  }

  /**
   * Makes the task a cron task with `expression` in `timezone` (the current
   * one when not given), in one step; the next run is the expression's first
   * time from now.
   */
  setCron(expression: string, timezone?: string | null): void {
    this.#scheduler.setCron(
      this.#state,
      expression,
      timezone === undefined ? (this.#state.cron?.timezone ?? null) : timezone,
    );
  }

  /** The time zone of a cron task (null: the machine's). Setting it takes effect at once. */
  get timezone(): string | null {
    return this.#state.cron?.timezone ?? null;
  }

  set timezone(timezone: string | null) {
    this.#scheduler.setTimezone(this.#state, timezone);
  }

  /** True while paused. */
  get paused(): boolean {
    return this.#state.paused;
  }

  /** True while a run is going. */
  get running(): boolean {
    return this.#state.running;
  }

  /** True when no further scheduled run will come (one-time task fired, `endAt` or `maxRuns` reached). */
  get done(): boolean {
    return this.#state.done;
  }

  /** When the task runs next, or null when paused, done or not started. */
  get nextRunAt(): Date | null {
    return this.#state.heapIndex >= 0 ? new Date(this.#state.slotDue) : null;
  }

  /** Counters since start and the latest run. */
  get stats(): TaskStats {
    this.#scheduler.recordEnded();
    const s = readCounters(this.#state);
    return {
      runs: s.runs,
      failures: s.failures,
      consecutiveFailures: s.consecutiveFailures,
      skipped: s.skipped,
      missed: s.missed,
      timeouts: s.timeouts,
      stuck: s.stuck,
      elsewhere: s.elsewhere,
      lastRunAt: Number.isNaN(s.lastRunAt) ? null : new Date(s.lastRunAt),
      lastDurationMs: Number.isNaN(s.lastDurationMs) ? null : s.lastDurationMs,
      avgDurationMs: s.runs === 0 ? null : s.totalDurationMs / s.runs,
      maxDurationMs: s.runs === 0 ? null : s.maxDurationMs,
      lastError: s.lastError,
      nextRunAt: this.nextRunAt,
    };
  }

  /** The latest runs, oldest first (as many as the `history` option keeps). */
  get history(): RunRecord[] {
    this.#scheduler.recordEnded();
    return listRuns(this.#state);
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
   * Runs the task now, outside its schedule and under its overlap rule.
   * Resolves when the run settles (`succeeded` or `failed`), or at once with
   * `skipped` or `queued`. Never rejects for the task's own errors.
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
    this.#scheduler.recordEnded();
    return taskInfo(this.#state);
  }
}
