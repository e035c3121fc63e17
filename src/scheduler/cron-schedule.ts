import { createRequire } from 'node:module';
import type { Cron } from 'croner';
import { DaebusError, errorMessage } from '../errors/daebus-error.js';

/**
 * Cron schedules, computed by croner: expressions with seconds (six fields;
 * five-field expressions run at second 0) in a time zone (the machine's own
 * when none is given).
 *
 * Daylight-saving time follows the usual cron rules: a time that does not
 * exist (in the spring gap) runs once at the first valid moment after it; a
 * fixed time that exists twice (in the autumn overlap) runs once, at its
 * first occurrence; expressions that repeat through the hour (`*\/5 * * * *`,
 * `0 * * * *`) keep running at every real interval through the repeated hour.
 */

/**
 * croner's class, loaded (its CommonJS build, synchronously) when the first
 * cron schedule is made: a service without one does not load it at start.
 */
let cronClass: typeof Cron | undefined;

function loadCron(): typeof Cron {
  cronClass ??= (createRequire(import.meta.url)('croner') as typeof import('croner')).Cron;
  return cronClass;
}

/** Builds a croner job used only to compute times (it never starts a timer). */
export function createCron(task: string, expression: unknown, timezone: string | null): Cron {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `cron expression of task "${task}" must be a non-empty string such as "0 */5 * * * *", got ${JSON.stringify(expression) ?? 'undefined'}`,
    );
  }
  if (timezone !== null) checkTimezone(task, timezone);
  const CronClass = loadCron();
  let cron: Cron;
  try {
    cron = new CronClass(expression, { paused: true, timezone: timezone ?? undefined });
  } catch (err) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `cron expression "${expression}" of task "${task}" is not valid: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  if (cron.nextRun() === null) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `cron expression "${expression}" of task "${task}" never fires (no date matches its day and month fields from now on); check them`,
    );
  }
  return cron;
}

function checkTimezone(task: string, timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new DaebusError(
      'INVALID_CONFIG',
      `timezone "${timezone}" of task "${task}" is not a time zone this Node.js knows (use an IANA name such as "Europe/Berlin")`,
    );
  }
}

/** The first time the expression fires strictly after `after` (epoch ms), or null when it never will. */
export function nextCronTime(cron: Cron, after: number): number | null {
  // croner works in whole seconds and returns times strictly after the one given.
  const next = cron.nextRun(new Date(after));
  return next === null ? null : next.getTime();
}

/** The most missed slots counted after a late wake-up, so that a long sleep of a per-second task stays cheap. */
export const MAX_COUNTED_SLOTS = 100_000;
