/**
 * Sub-millisecond wake-ups for the scheduler.
 *
 * A Node.js timer fires on whole milliseconds of the event loop's clock, and
 * the machine takes a while to wake from a long sleep: a timer set for a due
 * time a second away fires 1 to 3 ms after it (a short one, up to a
 * millisecond before to a few tenths after). The scheduler therefore sets its
 * timer a few milliseconds early (a second, shorter timer follows when the
 * first came too early) and sleeps the thread for what is left (at most
 * {@link MAX_SLEEP_MS}), which ends within a fraction of a millisecond of the
 * due time.
 *
 * The sleep costs no more CPU than the timer's own wake-up would, but the
 * event loop waits meanwhile, so a budget keeps it to a small share of the
 * time (about 2%): under a schedule dense enough to exhaust it, runs simply
 * start on a timer set for their due time.
 */

/** How long before a due time the scheduler's timer is set to fire. */
export const EARLY_WAKE_MS = 4;

/** The longest the thread is put to sleep before a due time. */
export const MAX_SLEEP_MS = 2;

/** Share of the time the thread may sleep, and the most sleep saved up. */
const SLEEP_SHARE = 0.02;
const MAX_BUDGET_MS = 20;

/** Where {@link PreciseWake}'s clock keeps the budget and the time of its last refill. */
const BUDGET = 0;
const REFILLED_AT = 1;

/**
 * How long the wall clock may keep its millisecond while the thread sleeps
 * before it is taken for a mocked one (a real one, even slewed by NTP, moves
 * on within a millisecond).
 */
const MOCKED_WALL_CLOCK_MS = 1.1;

/** How many times a sleep may wait again when it ended a little early. */
const MAX_WAITS = 3;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Keeps {@link preciseNow} on the wall clock: the time origin may be off by a fraction, and the clock may be set. */
let correction = 0;

/** How far inside its millisecond the clock is put back when it runs a fraction ahead of `Date.now()`. */
const INSIDE_MS = 0.001;

/** What {@link preciseNow} said last. */
let lastReading = 0;

/**
 * The wall-clock time (epoch ms) with sub-millisecond resolution: always
 * within the millisecond `Date.now()` gives, so a clock that is set (NTP, by
 * hand) is followed. When it is a fraction off, it moves the correction only
 * as far as needed to get back into that millisecond, so it settles on the
 * wall clock and keeps its resolution; it goes back only when the wall clock
 * itself is set back, and then to the start of the wall clock's millisecond.
 *
 * The precise clock is read between two readings of the wall clock, and the
 * correction only moves it into the span those two allow. A thread that is
 * preempted between two readings widens the span instead of skewing the
 * correction: with a single wall-clock reading, a preemption put the clock
 * up to a millisecond ahead of the wall clock, and the readings after it were
 * held back until the wall clock caught up.
 */
export function preciseNow(): number {
  const before = Date.now();
  let now = performance.timeOrigin + performance.now() + correction;
  const after = Date.now();
  if (now < before) {
    correction += before - now;
    now = before;
  } else if (now >= after + 1) {
    // A fraction ahead: back just inside the millisecond, where it settles. A whole millisecond
    // or more ahead (the wall clock was set back, or is a fake one): back to the millisecond's
    // start, not its end, which could be up to a millisecond ahead of the time itself and start
    // a run before its slot.
    const inside = now >= after + 2 ? after : after + 1 - INSIDE_MS;
    correction -= now - inside;
    now = inside;
  }
  // Not behind an earlier reading (a correction back into the millisecond can be a hair below
  // it), unless the wall clock itself was set back past it.
  if (now < lastReading && lastReading < after + 1) now = lastReading;
  lastReading = now;
  return now;
}

/**
 * Whether the clocks did not move as real ones do over a sleep that began at
 * `wallAtStart` (`Date.now()`) and `sleepStarted` (`performance.now()`):
 * both stood still (fake timers that mock both), or more than a millisecond
 * passed without the wall clock's millisecond changing (fake timers that
 * mock only `Date`).
 */
function clocksAreMocked(wallAtStart: number, sleepStarted: number): boolean {
  if (Date.now() !== wallAtStart) return false;
  const slept = performance.now() - sleepStarted;
  return slept === 0 || slept > MOCKED_WALL_CLOCK_MS;
}

/** Sleeps the thread until due times, within a budget of the thread's time. */
export class PreciseWake {
  /**
   * The sleep budget (ms) and when it was last refilled (`performance.now()`),
   * in a typed array: they take fractions on every wake, and a field that
   * started as a small integer would change representation at the first
   * one, throwing away the code compiled for the scheduler's wake-ups.
   */
  readonly #clock = Float64Array.of(MAX_BUDGET_MS, performance.now());
  #enabled = true;

  /**
   * False once a sleep has shown that the clock does not move while the
   * thread sleeps: a clock mocked by fake timers, which only timers advance.
   * The scheduler then sets its timers for the due times themselves.
   *
   * A real clock can stand still too, for less than a millisecond: while
   * {@link preciseNow} is held back to the millisecond of a wall clock that
   * has fallen behind it. A sleep that ends in such a moment only returns
   * false.
   */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Sleeps until `due` (epoch ms) when it is at most `limitMs` (at most
   * {@link MAX_SLEEP_MS}) away and the budget allows. Returns false when the
   * caller should set a timer instead: having slept nothing, or having found
   * that the clock stood still (see {@link enabled}).
   */
  sleepUntil(due: number, limitMs = MAX_SLEEP_MS): boolean {
    let remaining = due - preciseNow();
    if (remaining <= 0) return true;
    if (remaining > limitMs || !this.canSleep(remaining)) return false;
    const wallAtStart = Date.now();
    const sleepStarted = performance.now();
    // A wait can end a little early: wait again for the rest, a few times at most.
    for (let waits = 0; remaining > 0 && waits < MAX_WAITS; waits++) {
      Atomics.wait(sleeper, 0, 0, remaining);
      const left = due - preciseNow();
      if (left >= remaining) {
        // The clock stood still while the thread slept.
        if (clocksAreMocked(wallAtStart, sleepStarted)) this.#enabled = false;
        break;
      }
      remaining = left;
    }
    this.#clock[BUDGET]! -= performance.now() - sleepStarted;
    return remaining <= 0;
  }

  /**
   * Whether a sleep of `ms` would be allowed now, or `inMs` from now (the
   * budget refills meanwhile, if nothing spends it): enabled, and within the
   * budget.
   */
  canSleep(ms: number, inMs = 0): boolean {
    if (!this.#enabled || ms > MAX_SLEEP_MS) return false;
    const budget = this.#refill(performance.now());
    return ms <= Math.min(MAX_BUDGET_MS, budget + Math.max(inMs, 0) * SLEEP_SHARE);
  }

  /** Adds the budget earned since the last refill (at `now`, `performance.now()`); returns the budget. */
  #refill(now: number): number {
    const clock = this.#clock;
    clock[BUDGET] = Math.min(
      MAX_BUDGET_MS,
      clock[BUDGET]! + (now - clock[REFILLED_AT]!) * SLEEP_SHARE,
    );
    clock[REFILLED_AT] = now;
    return clock[BUDGET]!;
  }
}
