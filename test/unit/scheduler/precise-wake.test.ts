/**
 * The scheduler's precise wake-ups: a sub-millisecond wall clock, and a sleep
 * that never ends before its due time, refuses what is too far off, keeps to
 * its budget, and steps aside under fake timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_SLEEP_MS, PreciseWake, preciseNow } from '../../../src/scheduler/precise-wake.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('preciseNow', () => {
  it('stays within the millisecond Date.now() gives', () => {
    for (let i = 0; i < 1000; i++) {
      const before = Date.now();
      const precise = preciseNow();
      const after = Date.now();
      expect(precise).toBeGreaterThanOrEqual(before);
      expect(precise).toBeLessThan(after + 1);
    }
  });

  it('never goes backwards and settles when the wall clock and the precise clock disagree by a fraction', () => {
    // A wall clock 0.4 ms behind the one preciseNow() starts from (a time origin a little off).
    const spy = vi
      .spyOn(Date, 'now')
      .mockImplementation(() => Math.floor(performance.timeOrigin + performance.now() - 0.4));
    try {
      let previous = Number.NEGATIVE_INFINITY;
      let backwards = 0;
      let whole = 0;
      const until = performance.now() + 30;
      let calls = 0;
      while (performance.now() < until) {
        const before = Date.now();
        const now = preciseNow();
        const after = Date.now();
        if (now < previous) backwards++;
        if (now < before || now >= after + 1) backwards += 1000;
        if (calls > 1000 && Number.isInteger(now)) whole++;
        previous = now;
        calls++;
      }
      expect(backwards).toBe(0);
      // Settled: it keeps its sub-millisecond resolution rather than falling back to Date.now().
      expect(whole).toBeLessThan(calls / 100);
    } finally {
      spy.mockRestore();
    }
  });

  it('follows a wall clock that is set', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2031, 5, 1));
    const now = preciseNow();
    expect(now).toBeGreaterThanOrEqual(Date.UTC(2031, 5, 1));
    expect(now).toBeLessThan(Date.UTC(2031, 5, 1) + 1);
    vi.useRealTimers();
    expect(Math.abs(preciseNow() - Date.now())).toBeLessThan(1);
  });
});

describe('PreciseWake', () => {
  it('returns at once for a due time that has passed', () => {
    expect(new PreciseWake().sleepUntil(Date.now() - 5)).toBe(true);
  });

  it('refuses to sleep for more than MAX_SLEEP_MS', () => {
    const wake = new PreciseWake();
    const before = performance.now();
    expect(wake.sleepUntil(preciseNow() + MAX_SLEEP_MS + 5)).toBe(false);
    expect(performance.now() - before).toBeLessThan(MAX_SLEEP_MS);
  });

  it('never wakes before the due time', () => {
    let slept = 0;
    for (let i = 0; i < 5; i++) {
      // A fresh one each time: on a loaded machine one sleep can overrun by more than the whole
      // budget, and the next would rightly be refused.
      const wake = new PreciseWake();
      const due = preciseNow() + 1.5;
      if (!wake.sleepUntil(due)) continue;
      slept++;
      expect(preciseNow()).toBeGreaterThanOrEqual(due);
    }
    expect(slept).toBe(5);
  });

  it('keeps to its budget: back-to-back sleeps are refused once it is spent', () => {
    const wake = new PreciseWake();
    const answers: boolean[] = [];
    for (let i = 0; i < 40; i++) answers.push(wake.sleepUntil(preciseNow() + 1.9));
    expect(answers[0]).toBe(true);
    expect(answers).toContain(false);
    expect(wake.enabled).toBe(true);
  });

  it('steps aside for good under fake timers, whose clock does not move while it sleeps', () => {
    vi.useFakeTimers();
    const wake = new PreciseWake();
    expect(wake.sleepUntil(Date.now() + 1)).toBe(false);
    expect(wake.enabled).toBe(false);
    expect(wake.sleepUntil(Date.now() + 1)).toBe(false);
  });
});
