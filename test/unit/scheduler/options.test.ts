/**
 * The options of a recurring task that shape its schedule: `immediate`,
 * `startAt`, `endAt`, `maxRuns` and `jitter`, and how every option is
 * validated at registration.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BackgroundOptions, DaebusError } from '../../../src/index.js';
import { deferred, iso, newApp, runApp, T0, useSchedulerHarness } from './helpers.js';

useSchedulerHarness();
afterEach(() => {
  vi.restoreAllMocks();
});

const noop = (): void => undefined;

/** A task body that records when each run starts, as milliseconds after T0. */
function recorder(): { starts: number[]; fn: () => void } {
  const starts: number[] = [];
  return { starts, fn: () => void starts.push(Date.now() - T0) };
}

describe('immediate', () => {
  it('an interval task runs at start, then on the grid of start', async () => {
    vi.setSystemTime(T0 + 123);
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('now', 10, fn, { immediate: true });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(starts).toEqual([123, 10_123, 20_123]);
    expect(task.history.map((run) => run.scheduled_at)).toEqual([
      iso(T0 + 123),
      iso(T0 + 10_123),
      iso(T0 + 20_123),
    ]);
  });

  it('a cron task runs at start, then at the times of its expression', async () => {
    vi.setSystemTime(Date.parse('2030-01-01T00:02:30.000Z'));
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('now', { cron: '0 */5 * * * *', timezone: 'Europe/Berlin' }, fn, {
      immediate: true,
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(8 * 60_000);
    expect(starts.map((ms) => iso(T0 + ms))).toEqual([
      '2030-01-01T00:02:30.000Z',
      '2030-01-01T00:05:00.000Z',
      '2030-01-01T00:10:00.000Z',
    ]);
  });

  it('with a future startAt, the immediate run is at startAt', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('later', 10, fn, { immediate: true, startAt: T0 + 30_000 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(starts).toEqual([30_000, 40_000, 50_000]);
  });
});

describe('startAt', () => {
  it('in the future: an interval task first runs at startAt, then every interval from there', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('deferred_start', 10, fn, { startAt: new Date(T0 + 45_000) });
    await runApp(app);
    expect(task.nextRunAt).toEqual(new Date(T0 + 45_000));
    await vi.advanceTimersByTimeAsync(44_999);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(20_001);
    expect(starts).toEqual([45_000, 55_000, 65_000]);
  });

  it('takes a Date, epoch milliseconds or an ISO 8601 string', async () => {
    const app = newApp();
    const a = app.background('as_date', 60, noop, { startAt: new Date(T0 + 5_000) });
    const b = app.background('as_ms', 60, noop, { startAt: T0 + 6_000 });
    const c = app.background('as_iso', 60, noop, { startAt: iso(T0 + 7_000) });
    await runApp(app);
    expect([a.nextRunAt, b.nextRunAt, c.nextRunAt]).toEqual([
      new Date(T0 + 5_000),
      new Date(T0 + 6_000),
      new Date(T0 + 7_000),
    ]);
  });

  it('in the past: the grid is anchored there, and the first run is its next slot', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    // Slots at -25 s, -15 s, -5 s, 5 s, 15 s … from T0; none of the past ones runs or counts as missed.
    const task = app.background('anchored', 10, fn, { startAt: T0 - 25_000 });
    await runApp(app);
    expect(task.nextRunAt).toEqual(new Date(T0 + 5_000));
    await vi.advanceTimersByTimeAsync(26_000);
    expect(starts).toEqual([5_000, 15_000, 25_000]);
    expect(task.stats.missed).toBe(0);
  });

  it('in the past with immediate: runs at once for the current slot, then on the anchored grid', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('anchored_now', 10, fn, { startAt: T0 - 25_000, immediate: true });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(16_000);
    expect(starts).toEqual([0, 5_000, 15_000]);
    expect(task.history[0]!.scheduled_at).toBe(iso(T0 - 5_000));
  });

  it('a cron task runs first at its first time on or after startAt', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('cron_after', { cron: '0 */5 * * * *', timezone: 'UTC' }, fn, {
      startAt: T0 + 12 * 60_000,
    });
    app.background('cron_on', { cron: '0 */5 * * * *', timezone: 'UTC' }, noop, {
      startAt: T0 + 15 * 60_000,
    });
    await runApp(app);
    expect(app.backgroundTasks.cron_after!.nextRunAt).toEqual(new Date(T0 + 15 * 60_000));
    expect(app.backgroundTasks.cron_on!.nextRunAt).toEqual(new Date(T0 + 15 * 60_000));
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    expect(starts).toEqual([15 * 60_000, 20 * 60_000]);
  });
});

describe('endAt', () => {
  it('runs up to endAt, then the task is done with no next run', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('bounded', 10, fn, { endAt: T0 + 35_000 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(starts).toEqual([10_000, 20_000, 30_000]);
    expect(task.done).toBe(true);
    expect(task.nextRunAt).toBeNull();
    expect(task.toJSON()).toMatchObject({ done: true, next_run_at: null, runs: 3 });
    await vi.advanceTimersByTimeAsync(100_000);
    expect(starts).toHaveLength(3);
  });

  it('a slot exactly at endAt still runs', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('inclusive', 10, fn, { endAt: T0 + 20_000 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toEqual([10_000, 20_000]);
    expect(task.done).toBe(true);
  });

  it('ends a cron task too', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('cron_bounded', { cron: '*/20 * * * * *', timezone: 'UTC' }, fn, {
      endAt: iso(T0 + 50_000),
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(starts).toEqual([20_000, 40_000]);
    expect(task.toJSON()).toMatchObject({ done: true, next_run_at: null });
  });

  it('an endAt already past leaves the task done from the start', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('over', 1, fn, { endAt: T0 - 1 });
    await runApp(app);
    expect(task.done).toBe(true);
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(starts).toEqual([]);
  });

  it('with jitter, no run happens after endAt', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.9);
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('jittered_end', 10, fn, { endAt: T0 + 31_000, jitter: 5 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...starts)).toBeLessThanOrEqual(31_000);
    expect(task.done).toBe(true);
  });
});

describe('maxRuns', () => {
  it('after that many scheduled runs the task is done', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('thrice', 1, fn, { maxRuns: 3 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(task.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([1_000, 2_000, 3_000]);
    expect(task.done).toBe(true);
    expect(task.toJSON()).toMatchObject({ runs: 3, done: true, next_run_at: null });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toHaveLength(3);
  });

  it('counts failed runs, not skipped ones, and not triggers', async () => {
    const app = newApp();
    const gate = deferred();
    const starts: number[] = [];
    const task = app.background(
      'counted',
      1,
      async () => {
        starts.push(Date.now() - T0);
        if (starts.length === 2) throw new Error('the first scheduled run fails');
        if (starts.length === 3) await gate.promise; // spans the slots at 3 s and 4 s
      },
      { maxRuns: 3 },
    );
    await runApp(app);
    await task.trigger(); // at 0 s: not a scheduled run
    await vi.advanceTimersByTimeAsync(4_000);
    expect(starts).toEqual([0, 1_000, 2_000]);
    expect(task.stats.skipped).toBe(2);
    expect(task.done).toBe(false);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([0, 1_000, 2_000, 5_000]);
    expect(task.done).toBe(true);
    expect(task.stats).toMatchObject({ runs: 4, failures: 1, skipped: 2 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(starts).toHaveLength(4);
  });

  it('ends a cron task after that many runs', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('cron_twice', { cron: '*/10 * * * * *' }, fn, { maxRuns: 2 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toEqual([10_000, 20_000]);
    expect(task.nextRunAt).toBeNull();
  });

  it('a done task stays done when its schedule is changed', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('finished', 10, fn, { maxRuns: 2 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(task.done).toBe(true);
    task.interval = 5;
    expect(task.interval).toBe(5);
    task.cron = '* * * * * *';
    expect(task.cron).toBe('* * * * * *');
    expect(task.done).toBe(true);
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toEqual([10_000, 20_000]);
  });
});

describe('jitter', () => {
  it('delays each run by random × jitter after its slot', async () => {
    const values = [0, 0.5, 0.25, 0.999, 0.1];
    let call = 0;
    vi.spyOn(Math, 'random').mockImplementation(() => values[call++ % values.length]!);
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('jittery', 10, fn, { jitter: 2 });
    await runApp(app);
    expect(task.nextRunAt).toEqual(new Date(T0 + 10_000));
    await vi.advanceTimersByTimeAsync(51_000);
    // Slot k at k × 10 s, plus values[k-1] × 2 s (a timer fires on the first whole millisecond).
    expect(starts).toEqual([10_000, 21_000, 30_500, 41_998, 50_200]);
    expect(task.history.map((run) => run.scheduled_at)).toEqual(
      [10_000, 20_000, 30_000, 40_000, 50_000].map((ms) => iso(T0 + ms)),
    );
    expect(task.stats.missed).toBe(0);
  });

  it('never accumulates into drift: after 1,000 runs at the largest delay, runs are still on the grid', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('steady', 1, fn, { jitter: 0.5 });
    await runApp(app);
    vi.advanceTimersByTime(1_000 * 1_000 + 500);
    expect(starts).toHaveLength(1_000);
    // Each run 499.5 ms after its own slot: ceil(k × 1000 + 499.5).
    expect(starts.every((start, i) => start === (i + 1) * 1_000 + 500)).toBe(true);
    expect(task.stats).toMatchObject({ runs: 1_000, missed: 0, skipped: 0 });
  });

  it('stays within [slot, slot + jitter] for seeded random delays, slot after slot', async () => {
    let state = 7;
    vi.spyOn(Math, 'random').mockImplementation(() => {
      state = (state * 48_271) % 2_147_483_647;
      return state / 2_147_483_647;
    });
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('spread', 2, fn, { jitter: 1.5 });
    await runApp(app);
    vi.advanceTimersByTime(2_000 * 500);
    expect(starts.length).toBeGreaterThanOrEqual(499);
    const offsets = starts.map((start, i) => start - (i + 1) * 2_000);
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(1_500);
    // Random, not constant: the offsets spread over the window.
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(1_000);
  });

  it('applies to cron tasks, each run after its own time', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('cron_jitter', { cron: '0 * * * * *', timezone: 'UTC' }, fn, { jitter: 20 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3 * 60_000 + 10_000);
    expect(starts).toEqual([70_000, 130_000, 190_000]);
  });

  it('zero jitter draws no random numbers', async () => {
    const random = vi.spyOn(Math, 'random');
    const app = newApp();
    app.background('plain', 1, noop, { jitter: 0 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(random).not.toHaveBeenCalled();
  });
});

describe('option validation', () => {
  function refusal(options: unknown): DaebusError {
    const app = newApp();
    try {
      app.background('opt_task', 10, noop, options as BackgroundOptions);
    } catch (err) {
      expect(err).toBeInstanceOf(DaebusError);
      expect(app.backgroundTasks.opt_task).toBeUndefined();
      return err as DaebusError;
    }
    throw new Error(`expected ${JSON.stringify(options)} to be refused`);
  }

  it.each<[string, unknown, string]>([
    ['options', 'fast', 'got "fast"'],
    ['immediate', { immediate: 1 }, 'got 1'],
    ['startAt', { startAt: 'yesterday' }, 'got "yesterday"'],
    ['startAt', { startAt: Number.NaN }, 'got NaN'],
    ['endAt', { endAt: new Date(Number.NaN) }, 'Invalid Date'],
    ['maxRuns', { maxRuns: 0 }, 'got 0'],
    ['maxRuns', { maxRuns: 2.5 }, 'got 2.5'],
    ['jitter', { jitter: -1 }, 'got -1'],
    ['jitter', { jitter: '3' }, 'got "3"'],
    ['overlap', { overlap: 'sometimes' }, 'got "sometimes"'],
    ['maxConcurrent', { overlap: 'allow', maxConcurrent: 0 }, 'got 0'],
    ['timeout', { timeout: 0 }, 'got 0'],
    ['timeout', { timeout: -3 }, 'got -3'],
    ['stuckAfter', { timeout: 1, stuckAfter: 0 }, 'got 0'],
    ['misfire', { misfire: 'later' }, 'got "later"'],
    ['misfireGrace', { misfire: 'skip', misfireGrace: -1 }, 'got -1'],
    ['retry', { retry: 3 }, 'got 3'],
    ['retry.attempts', { retry: { attempts: -1 } }, 'got -1'],
    ['retry.attempts', { retry: { attempts: 1.5 } }, 'got 1.5'],
    ['retry.backoff', { retry: { attempts: 1, backoff: -2 } }, 'got -2'],
    ['history', { history: -1 }, 'got -1'],
    ['history', { history: 2.5 }, 'got 2.5'],
  ])('%s: %j is INVALID_CONFIG showing %s', (option, options, shown) => {
    const err = refusal(options);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(option === 'options' ? 'options' : `"${option}"`);
    expect(err.message).toContain('opt_task');
    expect(err.message).toContain(shown);
  });

  it('refuses endAt before startAt, and maxConcurrent without overlap allow', () => {
    expect(refusal({ startAt: T0 + 10_000, endAt: T0 + 5_000 }).message).toMatch(
      /ends \(endAt\) before it starts \(startAt\)/,
    );
    expect(refusal({ startAt: T0, endAt: T0 }).code).toBe('INVALID_CONFIG');
    expect(refusal({ maxConcurrent: 2 }).message).toContain("overlap: 'allow'");
  });

  it('accepts every option at once, and the defaults', async () => {
    const app = newApp();
    const full = app.background('full', 10, noop, {
      immediate: false,
      startAt: T0,
      endAt: T0 + 3_600_000,
      maxRuns: 5,
      jitter: 0,
      overlap: 'allow',
      maxConcurrent: 2,
      timeout: 4,
      stuckAfter: 6,
      misfire: 'skip',
      misfireGrace: 0,
      retry: { attempts: 2, backoff: 0.5 },
      history: 0,
    });
    const plain = app.background('plain', 10, noop);
    await runApp(app);
    expect(full.toJSON()).toMatchObject({ overlap: 'allow', timeout: 4 });
    expect(plain.toJSON()).toMatchObject({ overlap: 'skip', timeout: null, exclusive: false });
  });
});
