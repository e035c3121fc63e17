/**
 * Sub-millisecond wake-ups for the scheduler.
 *
 * A Node.js timer fires on whole milliseconds of the event loop's clock, and
 * the machine takes a while to wake from a long sleep: a timer set for a due
 * time fires 1 to 3 ms after it. The scheduler therefore sets its timer a few
 * milliseconds early (a second, shorter timer follows when the first came too
 * early) and sleeps the thread for what is left (at most {@link MAX_SLEEP_MS}),
 * which ends within a fraction of a millisecond of the due time.
 *
 * The sleep uses no CPU, but the event loop waits meanwhile, so a budget
 * keeps it to a small share of the time (about 2%): under a schedule dense
 * enough to exhaust it, runs simply start on the timer.
 */

/** How long before a due time the scheduler's timer is set to fire. */
export const EARLY_WAKE_MS = 4;

/** The longest the thread is put to sleep before a due time. */
export const MAX_SLEEP_MS = 2;

/** Share of the time the thread may sleep, and the most sleep saved up. */
const SLEEP_SHARE = 0.02;
const MAX_BUDGET_MS = 20;

/** How many times a sleep may wait again when it ended a little early. */
const MAX_WAITS = 3;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Keeps {@link preciseNow} on the wall clock when the clock is set. */
let correction = 0;

/**
 * The wall-clock time (epoch ms) with sub-millisecond resolution. Never ahead
 * of the wall clock, and within 1 ms of `Date.now()`: a clock that is set
 * (NTP, by hand) is followed.
 */
export function preciseNow(): number {
  const precise = performance.timeOrigin + performance.now() + correction;
  const coarse = Date.now();
  if (precise >= coarse && precise < coarse + 1) return precise;
  correction += coarse - precise;
  return coarse;
}

/** Sleeps the thread until due times, within a budget of the thread's time. */
export class PreciseWake {
  #budgetMs = MAX_BUDGET_MS;
  #refilledAt = performance.now();
  #enabled = true;

  /**
   * False once a sleep has shown that the clock does not move while the
   * thread sleeps: a clock mocked by fake timers, which only timers advance.
   * The scheduler then sets its timers for the due times themselves.
   */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Sleeps until `due` (epoch ms) when it is at most `limitMs` (at most
   * {@link MAX_SLEEP_MS}) away and the budget allows. Returns false, having
   * slept nothing, when the caller should set a timer instead.
   */
  sleepUntil(due: number, limitMs = MAX_SLEEP_MS): boolean {
    let remaining = due - preciseNow();
    if (remaining <= 0) return true;
    if (remaining > Math.min(limitMs, MAX_SLEEP_MS) || !this.#enabled) return false;
    const sleepStarted = performance.now();
    this.#budgetMs = Math.min(
      MAX_BUDGET_MS,
      this.#budgetMs + (sleepStarted - this.#refilledAt) * SLEEP_SHARE,
    );
    this.#refilledAt = sleepStarted;
    if (remaining > this.#budgetMs) return false;
    // A wait can end a little early: wait again for the rest, a few times at most.
    for (let waits = 0; remaining > 0 && waits < MAX_WAITS; waits++) {
      Atomics.wait(sleeper, 0, 0, remaining);
      const left = due - preciseNow();
      if (left >= remaining) {
        this.#enabled = false;
        break;
      }
      remaining = left;
    }
    this.#budgetMs -= performance.now() - sleepStarted;
    return remaining <= 0;
  }
}
