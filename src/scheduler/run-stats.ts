import { RunHistory, type RunResult } from './run-history.js';

/**
 * A task's counters, latest run and history. Created on the task's first run,
 * skip or miss, so that a registered task that has not run yet costs little
 * memory. Times are epoch milliseconds, NaN when unknown.
 *
 * Fields that will hold fractions start as non-integers (NaN, or -0 for a
 * sum), so that each keeps one number representation from the start: V8
 * stores a field that starts as a small integer differently, and when it
 * first takes a fraction, every object of the class changes shape and the
 * code compiled for it is thrown away (with thousands of tasks, in the middle
 * of their first runs). The counters only ever hold integers.
 */
export class RunStats {
  runs = 0;
  failures = 0;
  consecutiveFailures = 0;
  skipped = 0;
  missed = 0;
  timeouts = 0;
  stuck = 0;
  /** Exclusive runs another replica took. */
  elsewhere = 0;
  /** -0 before the first run: any duration added gives a plain number. */
  totalDurationMs = -0;
  /** -0 before the first run; read only once a run has ended. */
  maxDurationMs = -0;
  lastRunAt = Number.NaN;
  /** NaN until a run has ended. */
  lastDurationMs = Number.NaN;
  lastError: string | null = null;
  readonly history: RunHistory;

  constructor(historySize: number) {
    this.history = new RunHistory(historySize);
  }

  /** Counts a finished run and writes it into the history; `error` is the message of a failure. */
  noteRun(
    runId: number,
    slot: number | null,
    attempt: number,
    startedAt: number,
    durationMs: number,
    result: RunResult,
    error: string | null,
  ): void {
    this.runs++;
    this.lastRunAt = startedAt;
    this.lastDurationMs = durationMs;
    this.totalDurationMs += durationMs;
    // At least as long: a first run of 0 ms replaces the -0.
    if (durationMs >= this.maxDurationMs) this.maxDurationMs = durationMs;
    if (result === 'success') {
      this.consecutiveFailures = 0;
      this.lastError = null;
    } else {
      this.failures++;
      this.consecutiveFailures++;
      this.lastError = error;
    }
    this.history.add(runId, slot, startedAt, durationMs, result, error, attempt);
  }
}

/** The stats of a task that never ran: all zero, shared. */
export const NO_STATS: Readonly<RunStats> = Object.freeze(new RunStats(0));
