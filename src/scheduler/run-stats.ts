import { RunHistory } from './run-history.js';

/**
 * A task's counters, latest run and history. Created on the task's first run,
 * skip or miss, so that a registered task that has not run yet costs little
 * memory. Times are epoch milliseconds, NaN when unknown; fields keep one
 * number representation from the start, which keeps property access fast.
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
  totalDurationMs = 0;
  maxDurationMs = 0;
  lastRunAt = Number.NaN;
  /** -1 until a run has ended. */
  lastDurationMs = -1;
  lastError: string | null = null;
  readonly history: RunHistory;

  constructor(historySize: number) {
    this.history = new RunHistory(historySize);
  }
}

/** The stats of a task that never ran: all zero, shared. */
export const NO_STATS: Readonly<RunStats> = Object.freeze(new RunStats(0));
