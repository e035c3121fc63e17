import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Cron } from 'croner';
import { DaebusError } from '../errors/daebus-error.js';
import { createCron } from './cron-schedule.js';

/**
 * When a recurring task runs: every N seconds (a number, or `{ every: N }`),
 * or on a cron expression with seconds (`{ cron: '0 *\/5 * * * *', timezone: 'Europe/Berlin' }`).
 */
export type ScheduleSpec = number | { every: number } | { cron: string; timezone?: string };

/** What happens when a run comes due while earlier runs of the same task are still going. */
export type OverlapPolicy = 'skip' | 'queue' | 'allow';

/** What happens to a run that comes due while the process could not run it. */
export type MisfirePolicy = 'coalesce' | 'skip';

/** Retries of a failed run, before the next scheduled one. */
export interface RetryOptions {
  /** How many times a failed run is tried again. */
  attempts: number;
  /**
   * Seconds before the first retry; each further retry waits twice as long.
   * A retry that would come after the next scheduled run is not made.
   * @default 1
   */
  backoff?: number;
}

/** Options of a recurring task (`app.background`). */
export interface BackgroundOptions {
  /**
   * Run once right at start (or at `startAt`), then on the schedule.
   * @default false (the first run is one interval after start)
   */
  immediate?: boolean;
  /**
   * No run before this moment; an interval grid is anchored here.
   * @default the moment the service starts (or the task is added)
   */
  startAt?: Date | number | string;
  /** No run after this moment; the task is then done. */
  endAt?: Date | number | string;
  /** After this many runs the task is done. */
  maxRuns?: number;
  /**
   * Seconds of random delay, in [0, jitter], added to each run's due time.
   * It never accumulates: each run is due at its grid slot plus its own jitter.
   * Must be shorter than the interval.
   * @default 0
   */
  jitter?: number;
  /**
   * A run due while earlier runs still go: `skip` it, `queue` it (at most
   * one waits), or `allow` it (up to `maxConcurrent` at once).
   * @default 'skip'
   */
  overlap?: OverlapPolicy;
  /**
   * Runs of this task going at once, with `overlap: 'allow'`.
   * @default Infinity
   */
  maxConcurrent?: number;
  /**
   * Seconds a run may take: at the deadline its `signal` aborts and the run
   * counts as failed with code `TIMEOUT` (a worker task is terminated).
   */
  timeout?: number;
  /**
   * Seconds after which a run that has not ended (for instance one that
   * ignores its aborted signal) is reported as stuck, and the overlap rule
   * stops waiting for it. At least `timeout`, when both are given.
   * @default twice `timeout`; never without a timeout
   */
  stuckAfter?: number;
  /**
   * A late run: `coalesce` runs it once, however late; `skip` drops it when
   * it is later than `misfireGrace` seconds.
   * @default 'coalesce'
   */
  misfire?: MisfirePolicy;
  /**
   * With `misfire: 'skip'`, how late a run may start, in seconds.
   * @default 1
   */
  misfireGrace?: number;
  /** Try a failed run again, before the next scheduled run. */
  retry?: RetryOptions;
  /**
   * Each scheduled run happens in exactly one of the processes of this
   * service that share a Redis (a lock keyed by service, task and scheduled
   * time). Interval grids are then anchored to the epoch, so replicas
   * started at different moments agree on them.
   * @default false
   */
  exclusive?: boolean;
  /**
   * Run the task in a worker thread: the URL or path of a module whose
   * default export is the task function. The service's event loop stays
   * free while it computes; a timeout terminates the worker.
   */
  worker?: URL | string;
  /**
   * Runs kept in the task's history (`daebus:task` op `history`).
   * @default 20
   */
  history?: number;
}

/** Options of a one-time task (`app.after`). */
export interface AfterOptions
  extends Pick<BackgroundOptions, 'timeout' | 'stuckAfter' | 'retry' | 'worker' | 'history'> {
  /**
   * The task's name in `daebus:tasks` and logs.
   * @default `once-<n>`
   */
  name?: string;
}

/** Every option resolved: defaults applied, times in epoch milliseconds. */
export interface ResolvedTaskOptions {
  immediate: boolean;
  startAt: number | null;
  endAt: number | null;
  maxRuns: number;
  jitterMs: number;
  overlap: OverlapPolicy;
  maxConcurrent: number;
  timeoutMs: number | null;
  stuckAfterMs: number | null;
  misfire: MisfirePolicy;
  misfireGraceMs: number;
  retryAttempts: number;
  retryBackoffMs: number;
  exclusive: boolean;
  worker: URL | null;
  historySize: number;
}

/** The defaults of {@link BackgroundOptions}. */
export const TASK_DEFAULTS: ResolvedTaskOptions = Object.freeze({
  immediate: false,
  startAt: null,
  endAt: null,
  maxRuns: Number.POSITIVE_INFINITY,
  jitterMs: 0,
  overlap: 'skip',
  maxConcurrent: Number.POSITIVE_INFINITY,
  timeoutMs: null,
  stuckAfterMs: null,
  misfire: 'coalesce',
  misfireGraceMs: 1000,
  retryAttempts: 0,
  retryBackoffMs: 1000,
  exclusive: false,
  worker: null,
  historySize: 20,
});

/** The shortest interval accepted, in seconds (the resolution of Node's timers). */
export const MIN_INTERVAL_SECONDS = 0.001;

/** A value as an error message shows it. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (value instanceof Date) return value.toString();
  return typeof value;
}

/**
 * Jitter delays each run by up to `jitterMs`; as long as the interval, it
 * could push a run past the next one. Throws INVALID_CONFIG when it would.
 */
export function checkJitter(name: string, jitterMs: number, intervalMs: number): void {
  if (jitterMs > 0 && jitterMs >= intervalMs) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `option "jitter" of task "${name}" (${jitterMs / 1000} s) must be shorter than its interval (${intervalMs / 1000} s): a run could be delayed past the next one`,
    );
  }
}

/**
 * Checks an interval in seconds and returns it in milliseconds. Throws a
 * `RangeError` that shows the value when it is not a finite number of at
 * least one millisecond.
 */
export function intervalToMs(seconds: unknown, what = 'interval'): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < MIN_INTERVAL_SECONDS) {
    throw new RangeError(
      `${what} must be a positive number of seconds (at least ${MIN_INTERVAL_SECONDS}), got ${describe(seconds)}`,
    );
  }
  return seconds * 1000;
}

/** Checks a delay in seconds (zero allowed) and returns it in milliseconds. */
export function delayToMs(seconds: unknown): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(
      `delay must be zero or a positive number of seconds, got ${describe(seconds)}`,
    );
  }
  return seconds * 1000;
}

/** Checks that a task body is a function. */
export function checkTaskFunction(name: string, fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `task "${name}" needs a function to run, got ${describe(fn)}`,
    );
  }
}

/** A cron schedule, checked: the expression, its time zone and croner's calculator. */
export interface ResolvedCron {
  expression: string;
  timezone: string | null;
  cron: Cron;
}

/**
 * Checks a {@link ScheduleSpec}: an interval comes back as its number of
 * milliseconds (no object made for the usual schedule, which thousands of
 * tasks may be registered with), a cron schedule as a {@link ResolvedCron}.
 */
export function resolveSchedule(name: string, spec: unknown): number | ResolvedCron {
  if (spec === null || typeof spec !== 'object') return intervalToMs(spec);
  const { every, cron, timezone } = spec as { every?: unknown; cron?: unknown; timezone?: unknown };
  if (every !== undefined && cron !== undefined) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `task "${name}" has both "every" and "cron"; give one of them`,
    );
  }
  if (every !== undefined) return intervalToMs(every);
  if (cron === undefined) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `the schedule of task "${name}" must be a number of seconds, { every: seconds } or { cron, timezone? }`,
    );
  }
  if (timezone !== undefined && typeof timezone !== 'string') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `timezone of task "${name}" must be a string such as "Europe/Berlin", got ${describe(timezone)}`,
    );
  }
  return {
    expression: cron as string,
    timezone: timezone ?? null,
    cron: createCron(name, cron, timezone ?? null),
  };
}

function fail(name: string, option: string, expected: string, value: unknown): never {
  throw new DaebusError(
    'INVALID_CONFIG',
    `option "${option}" of task "${name}" must be ${expected}, got ${describe(value)}`,
  );
}

function seconds(name: string, option: string, value: unknown, allowZero: boolean): number {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0);
  if (!ok)
    fail(
      name,
      option,
      allowZero ? 'zero or a positive number of seconds' : 'a positive number of seconds',
      value,
    );
  return (value as number) * 1000;
}

function moment(name: string, option: string, value: unknown): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms))
    fail(name, option, 'a Date, epoch milliseconds or an ISO 8601 string', value);
  return ms;
}

function count(name: string, option: string, value: unknown, allowZero = false): number {
  const ok =
    value === Number.POSITIVE_INFINITY ||
    (Number.isInteger(value) && (value as number) >= (allowZero ? 0 : 1));
  if (!ok)
    fail(name, option, allowZero ? 'zero or a positive integer' : 'a positive integer', value);
  return value as number;
}

/** Validates a task's options once, with messages that show the bad value, and applies the defaults. */
export function resolveTaskOptions(name: string, options: unknown): ResolvedTaskOptions {
  if (options === undefined) return TASK_DEFAULTS;
  if (options === null || typeof options !== 'object') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `options of task "${name}" must be an object, got ${describe(options)}`,
    );
  }
  const o = options as BackgroundOptions;
  const resolved: ResolvedTaskOptions = { ...TASK_DEFAULTS };
  if (o.immediate !== undefined) {
    if (typeof o.immediate !== 'boolean') fail(name, 'immediate', 'true or false', o.immediate);
    resolved.immediate = o.immediate;
  }
  if (o.startAt !== undefined) resolved.startAt = moment(name, 'startAt', o.startAt);
  if (o.endAt !== undefined) resolved.endAt = moment(name, 'endAt', o.endAt);
  if (resolved.startAt !== null && resolved.endAt !== null && resolved.endAt <= resolved.startAt) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `task "${name}" ends (endAt) before it starts (startAt)`,
    );
  }
  if (o.maxRuns !== undefined) resolved.maxRuns = count(name, 'maxRuns', o.maxRuns);
  if (o.jitter !== undefined) resolved.jitterMs = seconds(name, 'jitter', o.jitter, true);
  if (o.overlap !== undefined) {
    if (!['skip', 'queue', 'allow'].includes(o.overlap))
      fail(name, 'overlap', '"skip", "queue" or "allow"', o.overlap);
    resolved.overlap = o.overlap;
  }
  if (o.maxConcurrent !== undefined) {
    resolved.maxConcurrent = count(name, 'maxConcurrent', o.maxConcurrent);
    if (resolved.overlap !== 'allow') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `option "maxConcurrent" of task "${name}" needs overlap: 'allow'`,
      );
    }
  }
  if (o.timeout !== undefined) resolved.timeoutMs = seconds(name, 'timeout', o.timeout, false);
  if (o.stuckAfter !== undefined)
    resolved.stuckAfterMs = seconds(name, 'stuckAfter', o.stuckAfter, false);
  else if (resolved.timeoutMs !== null) resolved.stuckAfterMs = 2 * resolved.timeoutMs;
  if (
    resolved.timeoutMs !== null &&
    resolved.stuckAfterMs !== null &&
    resolved.stuckAfterMs < resolved.timeoutMs
  ) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `option "stuckAfter" of task "${name}" (${o.stuckAfter} s) is shorter than its timeout (${o.timeout} s): a run counts as stuck only once its timeout has passed; give stuckAfter at least the timeout`,
    );
  }
  if (o.misfire !== undefined) {
    if (!['coalesce', 'skip'].includes(o.misfire))
      fail(name, 'misfire', '"coalesce" or "skip"', o.misfire);
    resolved.misfire = o.misfire;
  }
  if (o.misfireGrace !== undefined)
    resolved.misfireGraceMs = seconds(name, 'misfireGrace', o.misfireGrace, true);
  if (o.retry !== undefined) {
    if (o.retry === null || typeof o.retry !== 'object')
      fail(name, 'retry', 'an object { attempts, backoff? }', o.retry);
    resolved.retryAttempts = count(name, 'retry.attempts', o.retry.attempts, true);
    if (o.retry.backoff !== undefined)
      resolved.retryBackoffMs = seconds(name, 'retry.backoff', o.retry.backoff, true);
  }
  if (o.exclusive !== undefined) {
    if (typeof o.exclusive !== 'boolean') fail(name, 'exclusive', 'true or false', o.exclusive);
    resolved.exclusive = o.exclusive;
  }
  if (o.worker !== undefined) resolved.worker = workerUrl(name, o.worker);
  if (o.history !== undefined) resolved.historySize = count(name, 'history', o.history, true);
  return resolved;
}

function workerUrl(name: string, worker: unknown): URL {
  if (worker instanceof URL) return worker;
  if (typeof worker === 'string' && worker !== '') {
    return worker.startsWith('file:') ? new URL(worker) : pathToFileURL(resolvePath(worker));
  }
  return fail(
    name,
    'worker',
    'a URL or path of a module (e.g. new URL("./task.js", import.meta.url))',
    worker,
  );
}
