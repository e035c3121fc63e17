/**
 * The scheduler's precise wake-ups: a sub-millisecond wall clock, and a sleep
 * that never ends before its due time, refuses what is too far off, keeps to
 * its budget, and steps aside under fake timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_SLEEP_MS, PreciseWake, preciseNow } from '../../../src/scheduler/precise-wake.js';

afterEach(() => {
  vi.useRealTimers();
  // A test that sets or mocks the clocks can leave preciseNow() up to a millisecond off the real
  // wall clock, which it follows again only as readings cross millisecond boundaries: read across
  // a few, so the next test starts from a settled clock.
  const settled = performance.now() + 5;
  while (performance.now() < settled) preciseNow();
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

  it('keeps to the wall clock after the thread is preempted between its readings', () => {
    // Both clocks as the thread sees them; `lost` is time that passed while it was preempted.
    const realPerformanceNow = performance.now.bind(performance);
    let lost = 0;
    let preemptAfterRead = -1;
    const truth = () => performance.timeOrigin + realPerformanceNow() + lost;
    const perfSpy = vi.spyOn(performance, 'now').mockImplementation(() => {
      const reading = realPerformanceNow() + lost;
      // Preempted for 5 ms right after this reading of the precise clock.
      if (preemptAfterRead-- === 0) lost += 5;
      return reading;
    });
    const dateSpy = vi.spyOn(Date, 'now').mockImplementation(() => Math.floor(truth()));
    try {
      // Settled on these clocks first: it settles at the millisecond boundaries it reads across,
      // and a thread that a loaded machine keeps waiting misses some of them, so it reads until a
      // thousand readings in a row are within 0.01 ms of the true time (for at most 2 s).
      const giveUpAt = truth() + 2_000;
      let settledReadings = 0;
      while (settledReadings < 1_000 && truth() < giveUpAt) {
        const before = truth();
        const now = preciseNow();
        const after = truth();
        settledReadings = now >= before - 0.01 && now <= after + 0.01 ? settledReadings + 1 : 0;
      }
      expect(settledReadings, 'the clock to settle before the preemption').toBe(1_000);
      preemptAfterRead = 0;
      preciseNow();
      let worst = 0;
      for (let i = 0; i < 1000; i++) {
        const before = truth();
        const now = preciseNow();
        const after = truth();
        worst = Math.max(worst, before - now, now - after);
      }
      // Not pushed ahead by the time lost, to be pulled back by the readings after it.
      expect(worst).toBeLessThan(0.05);
    } finally {
      perfSpy.mockRestore();
      dateSpy.mockRestore();
    }
  });

  it('goes back to the start of the millisecond when the wall clock is set back by more than one, never ahead of it', () => {
    const clocks = controlledClocks();
    try {
      clocks.setBack(5);
      // At the start of the wall clock's millisecond (the true time is 0.2 ms into it), not its end.
      expect(preciseNow()).toBe(1_800_000_000_000);
      clocks.time += 0.5;
      expect(preciseNow()).toBeCloseTo(1_800_000_000_000.5, 6);
    } finally {
      clocks.restore();
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
    const wait = vi.spyOn(Atomics, 'wait');
    try {
      expect(wake.sleepUntil(preciseNow() + MAX_SLEEP_MS + 5)).toBe(false);
      expect(wait).not.toHaveBeenCalled();
      expect(wake.sleepUntil(preciseNow() + 1)).toBe(true);
      expect(wait).toHaveBeenCalled();
    } finally {
      wait.mockRestore();
    }
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

  it('steps aside for good under fake timers that mock only Date', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const wake = new PreciseWake();
    expect(wake.sleepUntil(preciseNow() + 1.9)).toBe(false);
    expect(wake.enabled).toBe(false);
  });

  it('stays on when a real clock stands still for a moment, held back to a wall clock that fell behind it', () => {
    const clocks = controlledClocks();
    try {
      // The wall clock is 1.5 ms ahead, then set back: the precise clock, less than a whole
      // millisecond ahead of it then, now waits for it at the end of its millisecond.
      clocks.setBack(1.5);
      const held = preciseNow();
      const wake = new PreciseWake();
      // Half a millisecond later the wall clock is still in the same millisecond: no progress.
      expect(wake.sleepUntil(held + 0.5)).toBe(false);
      expect(wake.enabled).toBe(true);
      // Once the wall clock moves on, sleeps end on time again.
      const due = preciseNow() + 1.5;
      expect(wake.sleepUntil(due)).toBe(true);
      expect(preciseNow()).toBeGreaterThanOrEqual(due);
    } finally {
      clocks.restore();
    }
  });
});

/**
 * Clocks under a test's control: `time` is the true time (epoch ms), which
 * `performance.now()` follows and a sleep (`Atomics.wait`) moves on, and the
 * wall clock (`Date.now()`) reads it `wallAhead` ms ahead. `restore` puts
 * the real clocks back.
 */
function controlledClocks(): {
  time: number;
  wallAhead: number;
  setBack: (ms: number) => void;
  restore: () => void;
} {
  const clocks = {
    time: 1_800_000_000_000.2,
    wallAhead: 0,
    /** The wall clock runs `ms` ahead for one reading of preciseNow, then is set back to the true time. */
    setBack: (ms: number) => {
      clocks.wallAhead = ms;
      preciseNow();
      clocks.wallAhead = 0;
    },
    restore: () => undefined,
  };
  const spies = [
    vi.spyOn(Date, 'now').mockImplementation(() => Math.floor(clocks.time + clocks.wallAhead)),
    vi.spyOn(performance, 'now').mockImplementation(() => clocks.time - performance.timeOrigin),
    vi.spyOn(Atomics, 'wait').mockImplementation((_array, _index, _value, timeout) => {
      clocks.time += timeout ?? 0;
      return 'timed-out';
    }),
  ];
  clocks.restore = () => {
    for (const spy of spies) spy.mockRestore();
  };
  return clocks;
}
