/**
 * Changing a live task's schedule in every form (interval to cron, cron to
 * interval, time zone, expression and zone at once), and pausing and
 * resuming on the same grid, for interval and cron tasks alike. Expected
 * instants are written out by hand.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BackgroundOptions, type BackgroundTask, DaebusError } from '../../../src/index.js';
import type { ScheduleSpec } from '../../../src/scheduler/task-options.js';
import { iso, newApp, runApp, T0, useSchedulerHarness } from './helpers.js';

useSchedulerHarness();
afterEach(() => {
  vi.restoreAllMocks();
});

const noop = (): void => undefined;

/** Runs one task on a started app; returns the task and its run times as milliseconds after T0. */
async function liveTask(
  schedule: ScheduleSpec,
  options: BackgroundOptions = {},
): Promise<{ task: BackgroundTask; starts: number[] }> {
  const app = newApp();
  const starts: number[] = [];
  const task = app.background('live', schedule, () => void starts.push(Date.now() - T0), options);
  await runApp(app);
  return { task, starts };
}

function expectInvalid(fn: () => unknown, messagePart: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DaebusError);
  expect((caught as DaebusError).code).toBe('INVALID_CONFIG');
  expect((caught as Error).message).toContain(messagePart);
}

describe('interval to cron: task.cron = expression', () => {
  it('the task becomes a cron task at once; the next run is the expression’s next time', async () => {
    const { task, starts } = await liveTask(10);
    await vi.advanceTimersByTimeAsync(23_000);
    expect(starts).toEqual([10_000, 20_000]);

    task.cron = '*/15 * * * * *';
    expect(task).toMatchObject({ kind: 'cron', cron: '*/15 * * * * *', interval: null });
    expect(task.timezone).toBeNull();
    expect(task.nextRunAt).toEqual(new Date(T0 + 30_000));
    expect(task.toJSON()).toMatchObject({ kind: 'cron', interval: null, cron: '*/15 * * * * *' });

    await vi.advanceTimersByTimeAsync(37_000); // to 60 s; the old grid (30, 40, 50 s) is gone
    expect(starts).toEqual([10_000, 20_000, 30_000, 45_000, 60_000]);
  });

  it('task.setCron(expression, timezone) changes both in one step, here into the Berlin spring gap', async () => {
    vi.setSystemTime(Date.parse('2026-03-28T12:00:00.000Z'));
    const app = newApp();
    const runs: string[] = [];
    const task = app.background('nightly', 3600, () => void runs.push(iso(Date.now())));
    await runApp(app);
    task.setCron('0 30 2 * * *', 'Europe/Berlin');
    expect(task).toMatchObject({ kind: 'cron', cron: '0 30 2 * * *', timezone: 'Europe/Berlin' });
    // 02:30 does not exist on 29 March in Berlin: 03:00 CEST.
    expect(task.nextRunAt).toEqual(new Date('2026-03-29T01:00:00.000Z'));
    vi.advanceTimersByTime(Date.parse('2026-03-30T01:00:00.000Z') - Date.now());
    expect(runs).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });
});

describe('cron to interval: task.interval = seconds', () => {
  it('next run = the last cron run + the interval, when that is still ahead', async () => {
    const { task, starts } = await liveTask({ cron: '0 * * * * *', timezone: 'Europe/Berlin' });
    await vi.advanceTimersByTimeAsync(75_000);
    expect(starts).toEqual([60_000]);

    task.interval = 20;
    expect(task).toMatchObject({ kind: 'interval', interval: 20, cron: null, timezone: null });
    expect(task.nextRunAt).toEqual(new Date(T0 + 80_000));
    expect(task.toJSON()).toMatchObject({ kind: 'interval', interval: 20, cron: null });
    await vi.advanceTimersByTimeAsync(45_000); // to 120 s; no run at the old cron time 120 s
    expect(starts).toEqual([60_000, 80_000, 100_000, 120_000]);
    expect(task.history.at(-1)!.scheduled_at).toBe(iso(T0 + 120_000));
  });

  it('runs at once when the last cron run + the interval has passed', async () => {
    const { task, starts } = await liveTask({ cron: '0 * * * * *', timezone: 'UTC' });
    await vi.advanceTimersByTimeAsync(75_000);
    task.interval = 10;
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([60_000, 75_000]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([60_000, 75_000, 85_000]);
  });

  it('before any run, counts from start', async () => {
    const { task, starts } = await liveTask({ cron: '0 0 * * * *', timezone: 'UTC' });
    await vi.advanceTimersByTimeAsync(4_000);
    task.interval = 5;
    expect(task.nextRunAt).toEqual(new Date(T0 + 5_000));
    await vi.advanceTimersByTimeAsync(6_000);
    expect(starts).toEqual([5_000, 10_000]);
  });
});

describe('time zone changes', () => {
  it('task.timezone = zone keeps the expression and moves the next run', async () => {
    const { task, starts } = await liveTask({ cron: '0 0 9 * * *', timezone: 'Europe/Berlin' });
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T08:00:00.000Z'));
    task.timezone = 'America/New_York';
    expect(task).toMatchObject({ cron: '0 0 9 * * *', timezone: 'America/New_York' });
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T14:00:00.000Z'));
    task.timezone = 'Asia/Kolkata';
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T03:30:00.000Z'));
    expect(task.toJSON()).toMatchObject({
      timezone: 'Asia/Kolkata',
      next_run_at: '2030-01-01T03:30:00.000Z',
    });
    vi.advanceTimersByTime(4 * 3_600_000);
    expect(starts.map((ms) => iso(T0 + ms))).toEqual(['2030-01-01T03:30:00.000Z']);
  });

  it('task.cron = expression keeps the time zone; setCron without a zone keeps it too; null clears it', async () => {
    const { task } = await liveTask({ cron: '0 0 9 * * *', timezone: 'Asia/Kolkata' });
    task.cron = '0 0 10 * * *';
    expect(task.timezone).toBe('Asia/Kolkata');
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T04:30:00.000Z'));
    task.setCron('0 15 10 * * *');
    expect(task.timezone).toBe('Asia/Kolkata');
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T04:45:00.000Z'));
    task.setCron('0 0 12 * * *', 'UTC');
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T12:00:00.000Z'));
    task.timezone = null;
    expect(task.timezone).toBeNull();
    expect(task.toJSON().timezone).toBeNull();
  });

  it('an interval task has no time zone to set', async () => {
    const { task } = await liveTask(10);
    expectInvalid(() => {
      task.timezone = 'Europe/Berlin';
    }, 'not a cron task');
    expect(task).toMatchObject({ kind: 'interval', interval: 10, timezone: null });
    expect(task.nextRunAt).toEqual(new Date(T0 + 10_000));
  });
});

describe('a refused change leaves the schedule as it was', () => {
  it('a bad expression', async () => {
    const { task, starts } = await liveTask(10);
    expectInvalid(() => {
      task.cron = 'every day at noon';
    }, '"every day at noon"');
    expectInvalid(() => task.setCron('0 0 0 * * 9', 'UTC'), '"0 0 0 * * 9"');
    expect(task).toMatchObject({ kind: 'interval', interval: 10, cron: null });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(starts).toEqual([10_000, 20_000]);
  });

  it('a bad time zone', async () => {
    const { task } = await liveTask({ cron: '0 0 9 * * *', timezone: 'Europe/Berlin' });
    expectInvalid(() => {
      task.timezone = 'Europe/Atlantis';
    }, '"Europe/Atlantis"');
    expectInvalid(() => task.setCron('0 0 10 * * *', 'Nowhere'), '"Nowhere"');
    expect(task).toMatchObject({ cron: '0 0 9 * * *', timezone: 'Europe/Berlin' });
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T08:00:00.000Z'));
  });

  it('a bad interval on a cron task', async () => {
    const { task } = await liveTask({ cron: '0 0 9 * * *', timezone: 'Europe/Berlin' });
    expect(() => {
      task.interval = -1;
    }).toThrow(RangeError);
    expect(task).toMatchObject({ kind: 'cron', cron: '0 0 9 * * *', interval: null });
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T08:00:00.000Z'));
  });

  it('a one-time task takes no cron schedule', async () => {
    const app = newApp();
    const once = app.after(30, noop, { name: 'once_only' });
    await runApp(app);
    expectInvalid(() => once.setCron('* * * * * *'), 'one-time');
    expectInvalid(() => {
      once.cron = '* * * * * *';
    }, 'one-time');
    expect(once.kind).toBe('once');
    expect(once.nextRunAt).toEqual(new Date(T0 + 30_000));
  });
});

describe('changes while paused, before start, and before startAt', () => {
  it('a change while paused applies from resume, and the task stays paused until then', async () => {
    const { task, starts } = await liveTask(10);
    await vi.advanceTimersByTimeAsync(10_000);
    task.pause();
    task.cron = '*/4 * * * * *';
    expect(task.paused).toBe(true);
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(starts).toEqual([10_000]);
    task.resume(); // at 30 s
    expect(task.nextRunAt).toEqual(new Date(T0 + 32_000));
    await vi.advanceTimersByTimeAsync(6_000);
    expect(starts).toEqual([10_000, 32_000, 36_000]);
  });

  it('a change before run() is the schedule the task starts with', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('early', 10, () => void starts.push(Date.now() - T0));
    task.setCron('*/3 * * * * *', 'UTC');
    expect(task.nextRunAt).toBeNull();
    await runApp(app);
    expect(task.nextRunAt).toEqual(new Date(T0 + 3_000));
    await vi.advanceTimersByTimeAsync(9_000);
    expect(starts).toEqual([3_000, 6_000, 9_000]);
  });

  it('a change before startAt keeps the first run at or after startAt', async () => {
    const { task, starts } = await liveTask(10, { startAt: T0 + 60_000 });
    await vi.advanceTimersByTimeAsync(5_000);
    task.interval = 20;
    expect(task.nextRunAt).toEqual(new Date(T0 + 60_000));
    await vi.advanceTimersByTimeAsync(55_000);
    expect(starts).toEqual([60_000]);
    task.cron = '*/15 * * * * *';
    expect(task.nextRunAt).toEqual(new Date(T0 + 75_000));

    const other = await liveTask(10, { startAt: T0 + 7 * 60_000 + 30_000 });
    other.task.setCron('0 * * * * *', 'UTC');
    expect(other.task.nextRunAt).toEqual(new Date(T0 + 8 * 60_000));
    await vi.advanceTimersByTimeAsync(T0 + 8 * 60_000 - Date.now());
    expect(other.starts).toEqual([8 * 60_000]);
  });
});

describe('pause and resume keep the grid', () => {
  it('interval: no catch-up, no missed count, the next run on the old grid', async () => {
    const { task, starts } = await liveTask(10);
    await vi.advanceTimersByTimeAsync(12_000);
    task.pause();
    await vi.advanceTimersByTimeAsync(25_000); // to 37 s
    task.resume();
    expect(task.nextRunAt).toEqual(new Date(T0 + 40_000));
    await vi.advanceTimersByTimeAsync(13_000);
    expect(starts).toEqual([10_000, 40_000, 50_000]);
    expect(task.stats.missed).toBe(0);
  });

  it('cron: resumed after its slots, the next run is the expression’s next time', async () => {
    const { task, starts } = await liveTask({ cron: '*/10 * * * * *', timezone: 'Europe/Berlin' });
    await vi.advanceTimersByTimeAsync(12_000);
    task.pause();
    expect(task.toJSON()).toMatchObject({ paused: true, next_run_at: null });
    await vi.advanceTimersByTimeAsync(25_000); // 20 s and 30 s pass while paused
    expect(starts).toEqual([10_000]);
    task.resume();
    expect(task.nextRunAt).toEqual(new Date(T0 + 40_000));
    await vi.advanceTimersByTimeAsync(13_000);
    expect(starts).toEqual([10_000, 40_000, 50_000]);
    expect(task.stats).toMatchObject({ missed: 0, runs: 3 });
  });

  it('cron: resumed before its pending slot, that slot still runs', async () => {
    const { task, starts } = await liveTask({ cron: '*/10 * * * * *', timezone: 'UTC' });
    await vi.advanceTimersByTimeAsync(12_000);
    task.pause();
    await vi.advanceTimersByTimeAsync(3_000);
    task.resume(); // at 15 s
    expect(task.nextRunAt).toEqual(new Date(T0 + 20_000));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(starts).toEqual([10_000, 20_000]);
  });

  it('with jitter, a resumed task stays on its slots', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { task, starts } = await liveTask(10, { jitter: 4 });
    await vi.advanceTimersByTimeAsync(12_000);
    task.pause();
    await vi.advanceTimersByTimeAsync(20_000);
    task.resume(); // at 32 s: next slot 40 s, due 41 s
    expect(task.nextRunAt).toEqual(new Date(T0 + 41_000));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(starts).toEqual([11_000, 41_000, 51_000]);
  });
});
