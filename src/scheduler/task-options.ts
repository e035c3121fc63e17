import { DaebusError } from '../errors/daebus-error.js';

/** Options of a recurring task (`app.background`). */
export interface BackgroundOptions {
  /**
   * Run once right at start, then on the grid.
   * @default false (the first run is one interval after start)
   */
  immediate?: boolean;
}

/** Options of a one-time task (`app.after`). */
export interface AfterOptions {
  /**
   * The task's name in `daebus:tasks` and logs.
   * @default `once-<n>`
   */
  name?: string;
}

/** The shortest interval accepted, in seconds (the resolution of Node's timers). */
export const MIN_INTERVAL_SECONDS = 0.001;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  return typeof value;
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

/** Checks a recurring task's options object. */
export function resolveBackgroundOptions(
  name: string,
  options: unknown,
): Required<BackgroundOptions> {
  if (options === undefined) return { immediate: false };
  if (options === null || typeof options !== 'object') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `options of task "${name}" must be an object, got ${describe(options)}`,
    );
  }
  const { immediate = false } = options as BackgroundOptions;
  if (typeof immediate !== 'boolean') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `option "immediate" of task "${name}" must be true or false, got ${describe(immediate)}`,
    );
  }
  return { immediate };
}
