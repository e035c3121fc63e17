import { moveToOwnRegion, ownRegion, type RegionHolder, takeRegion } from './record-slab.js';

/**
 * A task's counters and the history of its last runs, kept as numbers in a
 * region of a shared slab (see `record-slab.ts`) that the task takes on its
 * first run, skip or miss. Recording a run writes a few numbers and allocates
 * nothing, and the task holds no object for it: with thousands of tasks,
 * there is nothing per task for the garbage collector to copy, and tasks
 * that run together write side by side in memory.
 *
 * A region is {@link HEADER_RECORDS} records of counters, then a ring of the
 * last `historySize` runs, {@link FIELDS} numbers per record. Every recorded
 * run goes into the ring, so the run counter also says where the next one
 * goes: run n (from 1) is ring record (n - 1) mod `historySize`.
 */

/** How one run ended. */
export type RunResult = 'success' | 'error' | 'timeout';

/** One finished run, as the history reports it (wire names: snake_case, ISO times). */
export interface RunRecord {
  /** The run's number within its task, from 1. */
  run_id: number;
  /** The slot the run was for (null for a trigger). */
  scheduled_at: string | null;
  started_at: string;
  duration_ms: number;
  outcome: RunResult;
  error: string | null;
  /** 0 for the scheduled run, 1 and up for its retries. */
  attempt: number;
}

/** A task's counters and latest run; times are epoch ms, NaN when unknown. */
export interface RunCounters {
  readonly runs: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  readonly skipped: number;
  readonly missed: number;
  readonly timeouts: number;
  readonly stuck: number;
  /** Exclusive runs another replica took. */
  readonly elsewhere: number;
  readonly lastRunAt: number;
  readonly lastDurationMs: number;
  /** Meaningful once `runs` > 0. */
  readonly totalDurationMs: number;
  /** Meaningful once `runs` > 0. */
  readonly maxDurationMs: number;
  readonly lastError: string | null;
}

/** The error messages of a task's failed runs: the latest, and one per ring record. */
export class FailureLog {
  lastError: string | null = null;
  readonly errors: Array<string | null>;

  constructor(historySize: number) {
    this.errors = new Array<string | null>(historySize).fill(null);
  }
}

/** What holds a task's run records: the task's state. */
export interface RunRecordsHolder extends RegionHolder {
  readonly options: { readonly historySize: number };
  failureLog: FailureLog | null;
  /** The task is gone: its records are (or will be) in an array of their own, not a shared slab. */
  recordsDetached: boolean;
}

/** Numbers per record. */
const FIELDS = 6;

/** Records of counters before the ring. */
const HEADER_RECORDS = 2;

// Record 0: what every run writes.
const RUNS = 0;
const CONSECUTIVE_FAILURES = 1;
const LAST_RUN_AT = 2;
const LAST_DURATION = 3;
const TOTAL_DURATION = 4;
const MAX_DURATION = 5;

/** Record 1: counters of what happens more rarely (offsets within the record). */
const COUNTERS = {
  failures: 0,
  skipped: 1,
  missed: 2,
  timeouts: 3,
  stuck: 4,
  elsewhere: 5,
} as const;

/** A counter that {@link addToCounter} adds to. */
export type Counter = Exclude<keyof typeof COUNTERS, 'failures'>;

// A ring record.
const RUN_ID = 0;
const SCHEDULED_AT = 1;
const STARTED_AT = 2;
const DURATION = 3;
const ATTEMPT = 4;
const RESULT = 5;

const RESULTS: readonly RunResult[] = ['success', 'error', 'timeout'];

/** The counters of a task that never ran. */
const NO_RUNS: RunCounters = Object.freeze({
  runs: 0,
  failures: 0,
  consecutiveFailures: 0,
  skipped: 0,
  missed: 0,
  timeouts: 0,
  stuck: 0,
  elsewhere: 0,
  lastRunAt: Number.NaN,
  lastDurationMs: Number.NaN,
  totalDurationMs: 0,
  maxDurationMs: 0,
  lastError: null,
});

/** The holder's records, taken (and their counters set to zero) on first use. */
function recordsOf(holder: RunRecordsHolder): Float64Array {
  if (holder.runData !== null) return holder.runData;
  const records = HEADER_RECORDS + holder.options.historySize;
  // A task removed before its first run (a one-time task, recorded after its pass) owns its array.
  if (holder.recordsDetached) ownRegion(holder, records, FIELDS);
  else takeRegion(holder, records, FIELDS);
  // A region from the pool holds what its previous holder left.
  const data = holder.runData!;
  const at = holder.runBase;
  data.fill(0, at, at + FIELDS);
  data[at + LAST_RUN_AT] = Number.NaN;
  data[at + LAST_DURATION] = Number.NaN;
  data[at + MAX_DURATION] = Number.NEGATIVE_INFINITY;
  data.fill(0, at + holder.runStride, at + holder.runStride + FIELDS);
  return data;
}

/**
 * Where the numbers of a finished run sit in a buffer, from the run's
 * offset, as {@link noteFinishedRun} reads them; the slot is NaN for a
 * trigger. A buffer and an offset rather than the numbers one by one: times
 * passed to a function that V8 does not inline are boxed, an allocation per
 * run, and a timer pass records thousands.
 */
export const FINISHED_RUN = { runId: 0, slot: 1, attempt: 2, startedAt: 3, durationMs: 4 } as const;

/** Numbers per finished run. */
export const FINISHED_RUN_SIZE = Object.keys(FINISHED_RUN).length;

/** One run's numbers, for {@link noteRun}. */
const oneRun = new Float64Array(FINISHED_RUN_SIZE);

/**
 * Counts a finished run and writes it into the history; `slot` is NaN for
 * a trigger, `error` the message of a failure.
 */
export function noteRun(
  holder: RunRecordsHolder,
  runId: number,
  slot: number,
  attempt: number,
  startedAt: number,
  durationMs: number,
  result: RunResult,
  error: string | null,
): void {
  oneRun[FINISHED_RUN.runId] = runId;
  oneRun[FINISHED_RUN.slot] = slot;
  oneRun[FINISHED_RUN.attempt] = attempt;
  oneRun[FINISHED_RUN.startedAt] = startedAt;
  oneRun[FINISHED_RUN.durationMs] = durationMs;
  noteFinishedRun(holder, oneRun, 0, result, error);
}

/** {@link noteRun} for a run whose numbers are `run[at + FINISHED_RUN.…]`. */
export function noteFinishedRun(
  holder: RunRecordsHolder,
  run: Float64Array,
  runAt: number,
  result: RunResult,
  error: string | null,
): void {
  const startedAt = run[runAt + FINISHED_RUN.startedAt]!;
  const durationMs = run[runAt + FINISHED_RUN.durationMs]!;
  const data = holder.runData ?? recordsOf(holder);
  const at = holder.runBase;
  const stride = holder.runStride;
  const runs = data[at + RUNS]! + 1;
  data[at + RUNS] = runs;
  data[at + LAST_RUN_AT] = startedAt;
  data[at + LAST_DURATION] = durationMs;
  data[at + TOTAL_DURATION]! += durationMs;
  if (durationMs > data[at + MAX_DURATION]!) data[at + MAX_DURATION] = durationMs;
  let log = holder.failureLog;
  if (result === 'success') {
    data[at + CONSECUTIVE_FAILURES] = 0;
  } else {
    data[at + CONSECUTIVE_FAILURES]! += 1;
    data[at + stride + COUNTERS.failures]! += 1;
    log ??= holder.failureLog = new FailureLog(holder.options.historySize);
  }
  if (log !== null) log.lastError = error;
  const size = holder.options.historySize;
  if (size === 0) return;
  const ringIndex = ringIndexOf(runs - 1, size);
  const record = at + (HEADER_RECORDS + ringIndex) * stride;
  data[record + RUN_ID] = run[runAt + FINISHED_RUN.runId]!;
  data[record + SCHEDULED_AT] = run[runAt + FINISHED_RUN.slot]!;
  data[record + STARTED_AT] = startedAt;
  data[record + DURATION] = durationMs;
  data[record + ATTEMPT] = run[runAt + FINISHED_RUN.attempt]!;
  data[record + RESULT] = result === 'success' ? 0 : result === 'error' ? 1 : 2;
  if (log !== null) log.errors[ringIndex] = error;
}

/**
 * Where run `n` (from 0) goes in a ring of `size` records: `n mod size`, as
 * an integer remainder while `n` fits in 32 bits (a remainder of doubles is
 * a call into the C library, once per run), of doubles beyond.
 */
function ringIndexOf(n: number, size: number): number {
  return n <= 0xffff_ffff ? (n >>> 0) % size : n % size;
}

/** Adds `by` to one of the task's counters and returns the new count. */
export function addToCounter(holder: RunRecordsHolder, counter: Counter, by = 1): number {
  const data = recordsOf(holder);
  const at = holder.runBase + holder.runStride + COUNTERS[counter];
  data[at]! += by;
  return data[at]!;
}

/** One of the task's counters, without building all of them (see {@link readCounters}). */
export function readCounter(holder: RunRecordsHolder, counter: keyof typeof COUNTERS): number {
  const data = holder.runData;
  return data === null ? 0 : data[holder.runBase + holder.runStride + COUNTERS[counter]]!;
}

/** The task's counters and latest run. */
export function readCounters(holder: RunRecordsHolder): RunCounters {
  const data = holder.runData;
  if (data === null) return NO_RUNS;
  const at = holder.runBase;
  const counters = at + holder.runStride;
  return {
    runs: data[at + RUNS]!,
    failures: data[counters + COUNTERS.failures]!,
    consecutiveFailures: data[at + CONSECUTIVE_FAILURES]!,
    skipped: data[counters + COUNTERS.skipped]!,
    missed: data[counters + COUNTERS.missed]!,
    timeouts: data[counters + COUNTERS.timeouts]!,
    stuck: data[counters + COUNTERS.stuck]!,
    elsewhere: data[counters + COUNTERS.elsewhere]!,
    lastRunAt: data[at + LAST_RUN_AT]!,
    lastDurationMs: data[at + LAST_DURATION]!,
    totalDurationMs: data[at + TOTAL_DURATION]!,
    maxDurationMs: data[at + MAX_DURATION]!,
    lastError: holder.failureLog?.lastError ?? null,
  };
}

/** The task's last runs, oldest first, in their wire form. */
export function listRuns(holder: RunRecordsHolder): RunRecord[] {
  const data = holder.runData;
  const size = holder.options.historySize;
  if (data === null || size === 0) return [];
  const { runBase: at, runStride: stride } = holder;
  const runs = data[at + RUNS]!;
  const count = Math.min(runs, size);
  const first = runs - count;
  const records: RunRecord[] = [];
  for (let n = first; n < runs; n++) {
    const ringIndex = n % size;
    const record = at + (HEADER_RECORDS + ringIndex) * stride;
    const scheduledAt = data[record + SCHEDULED_AT]!;
    records.push({
      run_id: data[record + RUN_ID]!,
      scheduled_at: Number.isNaN(scheduledAt) ? null : new Date(scheduledAt).toISOString(),
      started_at: new Date(data[record + STARTED_AT]!).toISOString(),
      duration_ms: data[record + DURATION]!,
      outcome: RESULTS[data[record + RESULT]!]!,
      error: holder.failureLog?.errors[ringIndex] ?? null,
      attempt: data[record + ATTEMPT]!,
    });
  }
  return records;
}

/**
 * The task is gone: its records move to an array of their own (they stay
 * readable for as long as anyone holds the task), and the shared region goes
 * back to its pool.
 */
export function detachRuns(holder: RunRecordsHolder): void {
  if (holder.recordsDetached) return;
  holder.recordsDetached = true;
  if (holder.runData !== null) {
    moveToOwnRegion(holder, HEADER_RECORDS + holder.options.historySize, FIELDS);
  }
}
