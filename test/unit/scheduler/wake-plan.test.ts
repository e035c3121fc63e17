/**
 * How the scheduler waits for its first entry: on the event loop's next turn
 * when it is due in a moment and can be slept to, on an early timer
 * otherwise, and on a timer for the due time itself under fake timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EARLY_WAKE_MS,
  MAX_SLEEP_MS,
  PreciseWake,
  preciseNow,
} from '../../../src/scheduler/precise-wake.js';
import { MAX_WAIT_MS, NEXT_TURN, planWake } from '../../../src/scheduler/wake-plan.js';

/** A wake-up whose answers the test sets: a budget of `budgetMs` now, and `refillPerMs` more for each ms from now. */
function wake(enabled: boolean, budgetMs: number, refillPerMs = 0) {
  return {
    enabled,
    canSleep: (ms: number, inMs = 0) => enabled && ms <= budgetMs + inMs * refillPerMs,
  };
}

describe('planWake', () => {
  it('looks again on the next turn when the first entry is overdue', () => {
    for (const untilDue of [-50, -0.1, 0]) {
      expect(planWake(untilDue, wake(true, 0))).toBe(NEXT_TURN);
    }
  });

  it('looks again on the next turn for an entry within a sleep, when the budget allows it', () => {
    expect(planWake(1.5, wake(true, 20))).toBe(NEXT_TURN);
    expect(planWake(MAX_SLEEP_MS, wake(true, 20))).toBe(NEXT_TURN);
  });

  it('sets a timer rather than spin on next turns when it cannot sleep until the entry is due', () => {
    expect(planWake(1.5, wake(true, 1))).toBe(2);
    expect(planWake(0.01, wake(true, 0))).toBe(1);
  });

  it('sets the timer early, to sleep the last moment precisely', () => {
    expect(planWake(MAX_SLEEP_MS + 0.5, wake(true, 20))).toBe(1);
    expect(planWake(EARLY_WAKE_MS + 0.5, wake(true, 20))).toBe(1);
    expect(planWake(100, wake(true, 20))).toBe(100 - EARLY_WAKE_MS);
    expect(planWake(100.2, wake(true, 20))).toBe(100 - EARLY_WAKE_MS + 1);
  });

  it('sets the timer for the due time itself when the budget would not allow the sleep', () => {
    expect(planWake(5.5, wake(true, 1))).toBe(6);
    expect(planWake(100, wake(true, 0))).toBe(100);
  });

  it('sets the timer early when the budget is spent now but back by the time the timer fires', () => {
    // 2% refill: the 2 ms a sleep needs come back within 100 ms.
    const spent = wake(true, 0, 0.02);
    expect(planWake(1000, spent)).toBe(1000 - EARLY_WAKE_MS);
    expect(planWake(150, spent)).toBe(150 - EARLY_WAKE_MS);
    expect(planWake(50, spent)).toBe(50);
  });

  it('waits at most MAX_WAIT_MS, to look at the wall clock again', () => {
    expect(planWake(3_600_000, wake(true, 20))).toBe(MAX_WAIT_MS);
    expect(planWake(3_600_000, wake(false, 0))).toBe(MAX_WAIT_MS);
  });

  it('under fake timers, sets the timer for the due time itself, never a next turn', () => {
    expect(planWake(-5, wake(false, 0))).toBe(0);
    expect(planWake(0, wake(false, 0))).toBe(0);
    expect(planWake(0.2, wake(false, 0))).toBe(1);
    expect(planWake(1.5, wake(false, 0))).toBe(2);
    expect(planWake(100, wake(false, 0))).toBe(100);
  });
});

describe('PreciseWake.canSleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows what MAX_SLEEP_MS and the budget allow', () => {
    const real = new PreciseWake();
    expect(real.canSleep(1.9)).toBe(true);
    expect(real.canSleep(MAX_SLEEP_MS + 0.1)).toBe(false);
    // Back-to-back sleeps spend the budget until one is refused; then so is a sleep as long.
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) refused = !real.sleepUntil(preciseNow() + 1.9);
    expect(refused).toBe(true);
    expect(real.canSleep(1.9)).toBe(false);
    // Spend what is left (up to 1.9 ms) with shorter sleeps, so that 10 ms of refill (0.2 ms)
    // cannot make up a 1.9 ms sleep whatever the leftover was.
    for (let i = 0; i < 40 && real.canSleep(0.5); i++) real.sleepUntil(preciseNow() + 0.5);
    expect(real.canSleep(0.5)).toBe(false);
    // The budget refills with time (2% of it): in a second it allows the sleep again, not in 10 ms.
    expect(real.canSleep(1.9, 1_000)).toBe(true);
    expect(real.canSleep(1.9, 10)).toBe(false);
    expect(real.canSleep(MAX_SLEEP_MS + 0.1, 1_000)).toBe(false);
  });

  it('allows nothing once fake timers have turned precise wake-ups off', () => {
    vi.useFakeTimers();
    const faked = new PreciseWake();
    faked.sleepUntil(Date.now() + 1);
    expect(faked.canSleep(0.1)).toBe(false);
  });
});
