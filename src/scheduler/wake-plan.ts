import { EARLY_WAKE_MS, MAX_SLEEP_MS, type PreciseWake } from './precise-wake.js';

/**
 * The longest the scheduler sleeps before it looks at the wall clock again.
 * Timers count monotonic time, which stands still while a machine is
 * suspended; waking at least this often lets a resumed machine catch up
 * within a second, and makes intervals longer than `setTimeout`'s limit work.
 */
export const MAX_WAIT_MS = 1_000;

/** {@link planWake}'s answer for "on the event loop's next turn". */
export const NEXT_TURN = -1;

/**
 * How the scheduler waits for its first entry, due in `untilDue` ms: on the
 * event loop's next turn ({@link NEXT_TURN}), or on a timer of the returned
 * number of ms.
 *
 * - With real clocks, an entry that is overdue is looked at on the event
 *   loop's next turn (`setImmediate`, right after it has polled I/O), not on
 *   a timer, which comes a millisecond or more later; and so is one within
 *   {@link MAX_SLEEP_MS} that the next turn can sleep until (`wake` has the
 *   budget). A pass that yielded to I/O goes on a moment later. An entry not
 *   due yet that cannot be slept to waits on a timer: a next turn would find
 *   it not due yet and ask for another, spinning.
 * - Otherwise the timer is set early on purpose, so that the last moment
 *   before the due time is slept precisely (`precise-wake.ts`): a first wake
 *   comes {@link EARLY_WAKE_MS} ahead, and when it came too early to sleep
 *   the rest, a second one aims at {@link MAX_SLEEP_MS} ahead. Without the
 *   budget for that sleep, the timer is set for the due time itself: a timer
 *   that came early could only set another one. The budget that counts is
 *   the one the timer will find: it refills while the timer waits, so a
 *   burst of runs that spent it still leaves an early timer for runs due a
 *   second later.
 * - Under fake timers (`wake` disabled), the timer is set for the due time:
 *   a next turn would not move the clock.
 */
export function planWake(
  untilDue: number,
  wake: Pick<PreciseWake, 'enabled' | 'canSleep'>,
): number {
  if (!wake.enabled) return Math.min(Math.max(Math.ceil(untilDue), 0), MAX_WAIT_MS);
  if (untilDue <= 0 || (untilDue <= MAX_SLEEP_MS && wake.canSleep(untilDue))) {
    return NEXT_TURN;
  }
  // Waking early is for sleeping the rest: without the budget for that sleep, a timer that came
  // early would only set another one (two wake-ups for one due time). The sleep comes when the
  // timer fires, with the budget earned until then: a budget spent on the runs due now is back
  // by the time of runs due a second later.
  const early = untilDue > EARLY_WAKE_MS ? EARLY_WAKE_MS : MAX_SLEEP_MS;
  const earlyWait = Math.ceil(untilDue - early);
  const wait = wake.canSleep(MAX_SLEEP_MS, earlyWait) ? earlyWait : Math.ceil(untilDue);
  return Math.min(Math.max(wait, 1), MAX_WAIT_MS);
}
