import { EARLY_WAKE_MS, MAX_SLEEP_MS, type PreciseWake } from './precise-wake.js';

/**
 * The longest the scheduler sleeps before it looks at the wall clock again.
 * Timers count monotonic time, which stands still while a machine is
 * suspended; waking at least this often lets a resumed machine catch up
 * within a second, and makes intervals longer than `setTimeout`'s limit work.
 */
export const MAX_WAIT_MS = 1_000;

/**
 * When the first entry is overdue or due within this long, the scheduler
 * looks again on the event loop's next turn (`setImmediate`, right after it
 * has polled I/O), not on a timer, which comes a millisecond or more later.
 * Small: a next turn that finds the entry not due yet and cannot sleep asks
 * for another one, so this bounds how long the scheduler can spin.
 */
export const NEXT_TURN_MS = 0.25;

/** {@link planWake}'s answer for "on the event loop's next turn". */
export const NEXT_TURN = -1;

/**
 * How the scheduler waits for its first entry, due in `untilDue` ms: on the
 * event loop's next turn ({@link NEXT_TURN}), or on a timer of the returned
 * number of ms.
 *
 * - With real clocks, an entry that is overdue or due within
 *   {@link NEXT_TURN_MS} is looked at on the next turn, and so is one within
 *   {@link MAX_SLEEP_MS} that the next turn can sleep until (`wake` has the
 *   budget): a pass that yielded to I/O goes on a moment later.
 * - Otherwise the timer is set early on purpose, so that the last moment
 *   before the due time is slept precisely (`precise-wake.ts`): a first wake
 *   comes {@link EARLY_WAKE_MS} ahead, and when it came too early to sleep
 *   the rest, a second one aims at {@link MAX_SLEEP_MS} ahead.
 * - Under fake timers (`wake` disabled), the timer is set for the due time:
 *   a next turn would not move the clock.
 */
export function planWake(
  untilDue: number,
  wake: Pick<PreciseWake, 'enabled' | 'canSleep'>,
): number {
  if (!wake.enabled) return Math.min(Math.max(Math.ceil(untilDue), 0), MAX_WAIT_MS);
  if (untilDue <= NEXT_TURN_MS || (untilDue <= MAX_SLEEP_MS && wake.canSleep(untilDue))) {
    return NEXT_TURN;
  }
  const early = untilDue > EARLY_WAKE_MS ? EARLY_WAKE_MS : MAX_SLEEP_MS;
  return Math.min(Math.max(Math.ceil(untilDue - early), 1), MAX_WAIT_MS);
}
