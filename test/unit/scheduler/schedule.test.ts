/**
 * The fixed-rate grid through the public API, on fake time: run k at
 * start + k × interval, no drift, fractional and very long intervals.
 */
import { describe, expect, it, vi } from 'vitest';
import { MAX_WAIT_MS } from '../../../src/scheduler/wake-plan.js';
import { HEARTBEAT_S, newApp, runApp, seededRandom, T0, useSchedulerHarness } from './helpers.js';

useSchedulerHarness();

const DAY_MS = 86_400_000;

describe('the fixed-rate grid', () => {
  it('runs the first time one interval after start, then every interval', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('tick', 10, () => {
      starts.push(Date.now());
    });
    expect(task.nextRunAt).toBeNull(); // not started yet
    await runApp(app);
    expect(task.nextRunAt).toEqual(new Date(T0 + 10_000));

    await vi.advanceTimersByTimeAsync(9_999);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([T0 + 10_000]);
    await vi.advanceTimersByTimeAsync(40_000);
    expect(starts).toEqual([1, 2, 3, 4, 5].map((k) => T0 + k * 10_000));
    expect(task.nextRunAt).toEqual(new Date(T0 + 60_000));
    expect(task.stats).toMatchObject({ runs: 5, failures: 0, skipped: 0, missed: 0 });
  });

  it('with { immediate: true } runs at start, then on the same grid', async () => {
    const app = newApp();
    const starts: number[] = [];
    app.background(
      'eager',
      10,
      () => {
        starts.push(Date.now());
      },
      { immediate: true },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([T0]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(starts).toEqual([T0, T0 + 10_000, T0 + 20_000]);
  });

  it('anchors the grid at run(), not at registration', async () => {
    const app = newApp();
    const starts: number[] = [];
    app.background('later', 5, () => {
      starts.push(Date.now());
    });
    await vi.advanceTimersByTimeAsync(12_345);
    expect(starts).toEqual([]); // nothing runs before the service does
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([T0 + 12_345 + 5_000, T0 + 12_345 + 10_000]);
  });

  it('runs every task due in the same millisecond, each on its own grid', async () => {
    const app = newApp();
    const runs = { one: [] as number[], two: [] as number[], three: [] as number[] };
    app.background('one', 1, () => {
      runs.one.push(Date.now());
    });
    app.background('two', 2, () => {
      runs.two.push(Date.now());
    });
    app.background('three', 3, () => {
      runs.three.push(Date.now());
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(runs.one).toEqual([1, 2, 3, 4, 5, 6].map((k) => T0 + k * 1000));
    expect(runs.two).toEqual([1, 2, 3].map((k) => T0 + k * 2000));
    expect(runs.three).toEqual([1, 2].map((k) => T0 + k * 3000));
  });

  it('a run that takes time does not push the next run back', async () => {
    const app = newApp();
    const starts: number[] = [];
    app.background('busy', 1, () => {
      starts.push(Date.now());
      // A synchronous run that holds the event loop for 600 ms.
      vi.setSystemTime(Date.now() + 600);
    });
    await runApp(app);
    for (let i = 0; i < 10; i++) vi.advanceTimersToNextTimer();
    expect(starts.length).toBeGreaterThanOrEqual(5);
    expect(starts).toEqual(starts.map((_, i) => T0 + (i + 1) * 1000));
  });

  it('does not drift after 10,000 runs that take time and timers that fire late', async () => {
    const app = newApp();
    const random = seededRandom(99);
    const starts: number[] = [];
    const task = app.background('steady', 1, () => {
      starts.push(Date.now());
      vi.setSystemTime(Date.now() + Math.floor(random() * 300)); // the run takes 0–299 ms
    });
    await runApp(app);
    while (starts.length < 10_000) {
      // The event loop is blocked for 0–299 ms before the next timer fires.
      vi.setSystemTime(Date.now() + Math.floor(random() * 300));
      vi.advanceTimersToNextTimer();
    }
    const lateness = starts.map((start, i) => start - (T0 + (i + 1) * 1000));
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    // Lateness is one wake-up's worth at most; it never accumulates.
    expect(Math.max(...lateness)).toBeLessThan(300);
    expect(task.stats).toMatchObject({ runs: 10_000, missed: 0, skipped: 0 });
    expect(task.nextRunAt).toEqual(new Date(T0 + 10_001 * 1000));
  });

  it('keeps async runs that take most of the interval on the grid', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('async', 1, async () => {
      starts.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 700));
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000 * 1_000);
    expect(starts).toHaveLength(1_000);
    expect(starts).toEqual(starts.map((_, i) => T0 + (i + 1) * 1000));
    expect(task.stats).toMatchObject({ runs: 999, skipped: 0, lastDurationMs: 700 });
    expect(task.running).toBe(true); // run 1,000 started at T0+1000 s and is still going
  });
});

describe('fractional and long intervals', () => {
  it('runs a 0.25 s task four times a second, exactly on its grid, for 10,000 runs', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('quarter', 0.25, () => {
      starts.push(Date.now());
    });
    expect(task.interval).toBe(0.25);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([T0 + 250, T0 + 500, T0 + 750, T0 + 1000]);
    vi.advanceTimersByTime(2_499_000);
    expect(starts).toHaveLength(10_000);
    expect(starts.every((start, i) => start === T0 + (i + 1) * 250)).toBe(true);
    expect(task.nextRunAt).toEqual(new Date(T0 + 2_500_250));
  });

  it('runs a one-third-second task at the first millisecond on or after each slot', async () => {
    const app = newApp();
    const starts: number[] = [];
    app.background('third', 1 / 3, () => {
      starts.push(Date.now());
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(starts).toEqual(
      Array.from({ length: 9 }, (_, i) => Math.ceil(T0 + ((i + 1) * 1000) / 3)),
    );
  });

  it('fires an interval longer than setTimeout allows (30 days) at the right moment', async () => {
    const app = newApp();
    const starts: number[] = [];
    const delays: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
      fn: () => void,
      ms?: number,
    ) => {
      delays.push(ms ?? 0);
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout);
    const task = app.background('monthly', 30 * 86_400, () => {
      starts.push(Date.now());
    });
    await runApp(app);
    // 2,592,000,000 ms overflows setTimeout (it would fire after 1 ms); nothing may run yet.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(starts).toEqual([]);
    expect(task.nextRunAt).toEqual(new Date(T0 + 30 * DAY_MS));

    // Skip most of the month on the wall clock (timers do not see it), up to 1.5 s before.
    vi.setSystemTime(T0 + 30 * DAY_MS - 1_500);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([T0 + 30 * DAY_MS]);
    expect(task.stats.missed).toBe(0);
    expect(task.nextRunAt).toEqual(new Date(T0 + 60 * DAY_MS));
    spy.mockRestore();
    // Every wait the scheduler armed was capped; the heartbeat's is the only longer one.
    expect(delays.filter((ms) => ms > MAX_WAIT_MS && ms !== HEARTBEAT_S * 1000)).toEqual([]);
    expect(delays.some((ms) => ms === MAX_WAIT_MS)).toBe(true);
  });
});
