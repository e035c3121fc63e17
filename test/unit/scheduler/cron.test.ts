/**
 * Cron schedules with seconds and time zones, against schedules computed by
 * hand (every expected instant below is written out in UTC, never computed
 * with croner), including the daylight-saving rules of cron-schedule.ts:
 * a time in the spring gap runs once at the first valid moment, a time that
 * exists twice in the autumn runs once, and expressions that repeat through
 * the hour keep running at every real interval.
 *
 * Clocks used (2026): Europe/Berlin leaves CET (+1) for CEST (+2) on Sunday
 * 29 March at 01:00Z and comes back on Sunday 25 October at 01:00Z;
 * America/New_York leaves EST (-5) for EDT (-4) on Sunday 8 March at 07:00Z
 * and comes back on Sunday 1 November at 06:00Z. Asia/Kolkata is +5:30 all year.
 */
import { describe, expect, it, vi } from 'vitest';
import { type BackgroundTask, DaebusError } from '../../../src/index.js';
import { createCron, nextCronTime } from '../../../src/scheduler/cron-schedule.js';
import { iso, newApp, runApp, T0, useSchedulerHarness } from './helpers.js';

useSchedulerHarness();

const noop = (): void => undefined;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** The next `n` fire times of `expression` in `timezone` after `from`, through the wrapper the scheduler uses. */
function nextTimes(expression: string, timezone: string | null, from: string, n: number): string[] {
  const cron = createCron('pure', expression, timezone);
  const out: string[] = [];
  let t: number | null = Date.parse(from);
  for (let i = 0; i < n; i++) {
    t = nextCronTime(cron, t);
    if (t === null) break;
    out.push(iso(t));
  }
  return out;
}

/** A cron task on an app whose clock starts at `start`; resolves with the task and its run times (ISO). */
async function cronTask(
  start: string,
  expression: string,
  timezone?: string,
): Promise<{ task: BackgroundTask; runs: string[] }> {
  vi.setSystemTime(Date.parse(start));
  const app = newApp();
  const runs: string[] = [];
  const schedule = timezone === undefined ? { cron: expression } : { cron: expression, timezone };
  const task = app.background('cron_task', schedule, () => void runs.push(iso(Date.now())));
  await runApp(app);
  return { task, runs };
}

/** Lets fake time run (every timer fires on its way) up to the instant `until`. */
function runUntil(until: string): void {
  const ms = Date.parse(until) - Date.now();
  expect(ms).toBeGreaterThanOrEqual(0);
  vi.advanceTimersByTime(ms);
}

describe('next fire times (the wrapper over croner)', () => {
  it.each<[string, string, string, string[]]>([
    [
      '0 */5 * * * *',
      'Europe/Berlin',
      '2030-01-01T00:00:00.000Z',
      ['2030-01-01T00:05:00.000Z', '2030-01-01T00:10:00.000Z', '2030-01-01T00:15:00.000Z'],
    ],
    [
      // Weekdays at 09:00 Berlin (CET): 08:00Z; 1 Jan 2030 is a Tuesday, so Mon 7 Jan follows Fri 4 Jan.
      '0 0 9 * * 1-5',
      'Europe/Berlin',
      '2030-01-01T00:00:00.000Z',
      [
        '2030-01-01T08:00:00.000Z',
        '2030-01-02T08:00:00.000Z',
        '2030-01-03T08:00:00.000Z',
        '2030-01-04T08:00:00.000Z',
        '2030-01-07T08:00:00.000Z',
      ],
    ],
    [
      // On the hour in a +5:30 zone: half past in UTC.
      '0 0 * * * *',
      'Asia/Kolkata',
      '2030-01-01T00:00:00.000Z',
      ['2030-01-01T00:30:00.000Z', '2030-01-01T01:30:00.000Z', '2030-01-01T02:30:00.000Z'],
    ],
    [
      '30 15 10 * * *',
      'Asia/Kolkata',
      '2030-01-01T00:00:00.000Z',
      ['2030-01-01T04:45:30.000Z', '2030-01-02T04:45:30.000Z'],
    ],
    [
      // 09:00 in New York in January (EST, -5) and in July (EDT, -4).
      '0 0 9 1 * *',
      'America/New_York',
      '2030-01-01T00:00:00.000Z',
      ['2030-01-01T14:00:00.000Z', '2030-02-01T14:00:00.000Z'],
    ],
    [
      '0 0 9 1 7 *',
      'America/New_York',
      '2030-01-01T00:00:00.000Z',
      ['2030-07-01T13:00:00.000Z', '2031-07-01T13:00:00.000Z'],
    ],
    [
      // Seconds field: two fires a minute.
      '15,45 * * * * *',
      'UTC',
      '2030-01-01T00:00:00.000Z',
      ['2030-01-01T00:00:15.000Z', '2030-01-01T00:00:45.000Z', '2030-01-01T00:01:15.000Z'],
    ],
    [
      // Five fields: second 0.
      '*/10 * * * *',
      'UTC',
      '2030-01-01T00:00:00.000Z',
      ['2030-01-01T00:10:00.000Z', '2030-01-01T00:20:00.000Z'],
    ],
  ])('%s in %s from %s', (expression, timezone, from, expected) => {
    expect(nextTimes(expression, timezone, from, expected.length)).toEqual(expected);
  });

  it('is strictly after the time given, also mid-second', () => {
    const cron = createCron('pure', '0 */5 * * * *', 'Europe/Berlin');
    const slot = Date.parse('2030-01-01T00:05:00.000Z');
    expect(nextCronTime(cron, slot - 1)).toBe(slot);
    expect(nextCronTime(cron, slot)).toBe(slot + 5 * MINUTE);
    expect(nextCronTime(cron, slot + 400)).toBe(slot + 5 * MINUTE);
  });

  it('spring gap: 02:30 Berlin does not exist on 29 March; it runs once, at 03:00 CEST', () => {
    expect(nextTimes('0 30 2 * * *', 'Europe/Berlin', '2026-03-27T12:00:00.000Z', 4)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first valid moment after 02:30
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('autumn overlap: 02:30 Berlin exists twice on 25 October; it runs once, at the first', () => {
    expect(nextTimes('0 30 2 * * *', 'Europe/Berlin', '2026-10-23T12:00:00.000Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST; not again at 01:30Z (02:30 CET)
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('hourly and half-hourly expressions run at every real interval through both changes', () => {
    expect(nextTimes('0 0 * * * *', 'Europe/Berlin', '2026-10-24T22:30:00.000Z', 6)).toEqual([
      '2026-10-24T23:00:00.000Z', // 01:00 CEST
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET (the repeated hour)
      '2026-10-25T02:00:00.000Z', // 03:00 CET
      '2026-10-25T03:00:00.000Z',
      '2026-10-25T04:00:00.000Z',
    ]);
    expect(nextTimes('0 */30 * * * *', 'Europe/Berlin', '2026-10-24T23:45:00.000Z', 5)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    expect(nextTimes('0 0 * * * *', 'Europe/Berlin', '2026-03-28T23:30:00.000Z', 4)).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST (02:00 does not exist)
      '2026-03-29T02:00:00.000Z', // 04:00 CEST
      '2026-03-29T03:00:00.000Z',
    ]);
  });

  it('America/New_York: the spring gap and the autumn overlap', () => {
    expect(nextTimes('0 30 2 * * *', 'America/New_York', '2026-03-06T12:00:00.000Z', 3)).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT: 02:30 does not exist
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
    expect(nextTimes('0 30 1 * * *', 'America/New_York', '2026-10-30T12:00:00.000Z', 3)).toEqual([
      '2026-10-31T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; not again at 06:30Z (01:30 EST)
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
    expect(nextTimes('0 0 * * * *', 'America/New_York', '2026-11-01T03:30:00.000Z', 4)).toEqual([
      '2026-11-01T04:00:00.000Z', // 00:00 EDT
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST (the repeated hour)
      '2026-11-01T07:00:00.000Z', // 02:00 EST
    ]);
  });
});

describe('a cron task on the running scheduler', () => {
  it("'0 */5 * * * *' in Europe/Berlin runs every five minutes, on the minute", async () => {
    const { task, runs } = await cronTask(
      '2030-01-01T00:02:30.000Z',
      '0 */5 * * * *',
      'Europe/Berlin',
    );
    expect(task).toMatchObject({ kind: 'cron', interval: null, cron: '0 */5 * * * *' });
    expect(task.timezone).toBe('Europe/Berlin');
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T00:05:00.000Z'));
    runUntil('2030-01-01T00:04:59.999Z');
    expect(runs).toEqual([]);
    runUntil('2030-01-01T00:20:00.000Z');
    expect(runs).toEqual([
      '2030-01-01T00:05:00.000Z',
      '2030-01-01T00:10:00.000Z',
      '2030-01-01T00:15:00.000Z',
      '2030-01-01T00:20:00.000Z',
    ]);
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T00:25:00.000Z'));
    expect(task.stats).toMatchObject({ runs: 4, missed: 0, skipped: 0 });
  });

  it('the time zone moves the runs: on the hour in Kolkata is half past in UTC', async () => {
    const { runs } = await cronTask('2030-01-01T00:00:00.000Z', '0 0 * * * *', 'Asia/Kolkata');
    runUntil('2030-01-01T03:00:00.000Z');
    expect(runs).toEqual([
      '2030-01-01T00:30:00.000Z',
      '2030-01-01T01:30:00.000Z',
      '2030-01-01T02:30:00.000Z',
    ]);
  });

  it('a seconds field fires within the minute, exactly', async () => {
    const { runs } = await cronTask('2030-01-01T00:00:00.000Z', '10,40 * * * * *', 'UTC');
    runUntil('2030-01-01T00:01:30.000Z');
    expect(runs).toEqual([
      '2030-01-01T00:00:10.000Z',
      '2030-01-01T00:00:40.000Z',
      '2030-01-01T00:01:10.000Z',
    ]);
  });

  it('daily 02:30 Berlin across the spring gap: once on 29 March, at 03:00 CEST (01:00Z)', async () => {
    const { task, runs } = await cronTask(
      '2026-03-27T23:00:00.000Z',
      '0 30 2 * * *',
      'Europe/Berlin',
    );
    expect(task.nextRunAt).toEqual(new Date('2026-03-28T01:30:00.000Z'));
    runUntil('2026-03-30T01:00:00.000Z');
    expect(runs).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(task.stats).toMatchObject({ runs: 3, missed: 0 });
    expect(task.nextRunAt).toEqual(new Date('2026-03-31T00:30:00.000Z'));
  });

  it('daily 02:30 Berlin across the autumn overlap: once on 25 October, at 00:30Z', async () => {
    const { task, runs } = await cronTask(
      '2026-10-23T23:00:00.000Z',
      '0 30 2 * * *',
      'Europe/Berlin',
    );
    runUntil('2026-10-26T02:00:00.000Z');
    expect(runs).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(task.stats).toMatchObject({ runs: 3, missed: 0 });
  });

  it('hourly in Berlin across the autumn overlap: one run each real hour, the repeated one too', async () => {
    const { task, runs } = await cronTask(
      '2026-10-24T21:30:00.000Z',
      '0 0 * * * *',
      'Europe/Berlin',
    );
    runUntil('2026-10-25T04:30:00.000Z');
    expect(runs).toEqual([
      '2026-10-24T22:00:00.000Z', // 00:00 CEST
      '2026-10-24T23:00:00.000Z', // 01:00 CEST
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
      '2026-10-25T03:00:00.000Z',
      '2026-10-25T04:00:00.000Z',
    ]);
    expect(task.stats.missed).toBe(0);
  });

  it('hourly in Berlin across the spring gap: one run each real hour', async () => {
    const { runs } = await cronTask('2026-03-28T22:30:00.000Z', '0 0 * * * *', 'Europe/Berlin');
    runUntil('2026-03-29T03:30:00.000Z');
    expect(runs).toEqual([
      '2026-03-28T23:00:00.000Z', // 00:00 CET
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T02:00:00.000Z',
      '2026-03-29T03:00:00.000Z',
    ]);
  });

  it('daily 02:30 New York across the spring gap, daily 01:30 across the autumn overlap', async () => {
    const spring = await cronTask('2026-03-07T06:00:00.000Z', '0 30 2 * * *', 'America/New_York');
    runUntil('2026-03-09T07:00:00.000Z');
    expect(spring.runs).toEqual([
      '2026-03-07T07:30:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
    spring.task.cancel();

    vi.setSystemTime(Date.parse('2026-10-31T05:00:00.000Z'));
    const app = newApp();
    const autumn: string[] = [];
    app.background('autumn', { cron: '0 30 1 * * *', timezone: 'America/New_York' }, () => {
      autumn.push(iso(Date.now()));
    });
    await runApp(app);
    runUntil('2026-11-02T07:00:00.000Z');
    expect(autumn).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('after a suspend across several slots, runs once late, counts the rest missed and keeps its times', async () => {
    const { task, runs } = await cronTask('2030-01-01T00:00:00.000Z', '0 */5 * * * *', 'UTC');
    runUntil('2030-01-01T00:05:00.000Z');
    // Asleep from 00:05 until 00:21:30 (timers stand still): slots 00:10 … 00:20 pass.
    vi.setSystemTime(Date.parse('2030-01-01T00:21:30.000Z'));
    vi.advanceTimersByTime(1_000);
    expect(runs).toEqual(['2030-01-01T00:05:00.000Z', '2030-01-01T00:21:31.000Z']);
    // 00:10 ran late; 00:15 and 00:20 were missed.
    expect(task.stats).toMatchObject({ runs: 2, missed: 2 });
    expect(task.nextRunAt).toEqual(new Date('2030-01-01T00:25:00.000Z'));
    runUntil('2030-01-01T00:25:00.000Z');
    expect(runs.at(-1)).toBe('2030-01-01T00:25:00.000Z');
  });

  it('a five-field expression runs at second 0; no timezone means the machine zone', async () => {
    const { task, runs } = await cronTask('2030-01-01T00:00:00.000Z', '*/15 * * * *');
    expect(task.timezone).toBeNull();
    expect(task.toJSON()).toMatchObject({ kind: 'cron', cron: '*/15 * * * *', timezone: null });
    runUntil('2030-01-01T00:30:00.000Z');
    // Minute-aligned runs every 15 minutes hold in every zone with a whole-quarter-hour offset.
    expect(runs).toHaveLength(2);
    for (const run of runs) expect(Date.parse(run) % (15 * MINUTE)).toBe(0);
  });

  it('a cron task past its endAt is done, with no next run', async () => {
    vi.setSystemTime(Date.parse('2030-01-01T00:00:00.000Z'));
    const app = newApp();
    const runs: string[] = [];
    const task = app.background(
      'ending',
      { cron: '0 0 12 * * *', timezone: 'UTC' },
      () => void runs.push(iso(Date.now())),
      { endAt: '2030-01-02T13:00:00.000Z' },
    );
    await runApp(app);
    vi.advanceTimersByTime(3 * DAY);
    expect(runs).toEqual(['2030-01-01T12:00:00.000Z', '2030-01-02T12:00:00.000Z']);
    expect(task.done).toBe(true);
    expect(task.nextRunAt).toBeNull();
    expect(task.toJSON().next_run_at).toBeNull();
  });

  it('an expression that never fires is refused before anything is scheduled', () => {
    const app = newApp();
    expect(() => app.background('feb30', { cron: '0 0 0 30 2 *', timezone: 'UTC' }, noop)).toThrow(
      /never fires/,
    );
    expect(app.backgroundTasks.feb30).toBeUndefined();
  });
});

describe('invalid cron schedules are refused at registration', () => {
  function refusal(schedule: unknown): DaebusError {
    const app = newApp();
    try {
      app.background('bad_cron', schedule as { cron: string }, noop);
    } catch (err) {
      expect(err).toBeInstanceOf(DaebusError);
      expect(app.backgroundTasks.bad_cron).toBeUndefined();
      return err as DaebusError;
    }
    throw new Error(`expected ${JSON.stringify(schedule)} to be refused`);
  }

  it.each<[unknown, string]>([
    [{ cron: '61 * * * * *' }, '"61 * * * * *"'],
    [{ cron: '0 0 25 * * *' }, '"0 0 25 * * *"'],
    [{ cron: '0 0 0 * * 8' }, '"0 0 0 * * 8"'],
    [{ cron: '*/0 * * * * *' }, '"*/0 * * * * *"'],
    [{ cron: 'every minute' }, '"every minute"'],
    [{ cron: '* * *' }, '"* * *"'],
    [{ cron: '' }, '""'],
    [{ cron: '   ' }, '"   "'],
    [{ cron: 42 }, '42'],
    [{ cron: null }, 'null'],
  ])('cron %j: INVALID_CONFIG that shows %s', (schedule, shown) => {
    const err = refusal(schedule);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(shown);
    expect(err.message).toContain('bad_cron');
  });

  it.each<[unknown, string]>([
    ['Mars/Olympus_Mons', '"Mars/Olympus_Mons"'],
    ['Europe/Berln', '"Europe/Berln"'],
    ['', 'timezone'],
    [5, 'got 5'],
    [false, 'got false'],
  ])('timezone %j: INVALID_CONFIG', (timezone, shown) => {
    const err = refusal({ cron: '0 * * * * *', timezone });
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(shown);
  });

  it('both every and cron, or neither, is refused', () => {
    const both = refusal({ every: 5, cron: '* * * * * *' });
    expect(both.code).toBe('INVALID_CONFIG');
    expect(both.message).toMatch(/both "every" and "cron"/);
    const neither = refusal({ timezone: 'Europe/Berlin' });
    expect(neither.code).toBe('INVALID_CONFIG');
    expect(neither.message).toContain('{ cron, timezone? }');
  });

  it('a refused registration leaves the running scheduler untouched', async () => {
    const app = newApp();
    const runs: number[] = [];
    app.background('good', { cron: '*/2 * * * * *', timezone: 'UTC' }, () => {
      runs.push(Date.now());
    });
    await runApp(app);
    expect(() => app.background('bad', { cron: '* * * * * * * *' }, noop)).toThrow(DaebusError);
    vi.advanceTimersByTime(4_000);
    expect(runs).toEqual([T0 + 2_000, T0 + 4_000]);
    expect(Object.keys(app.backgroundTasks)).toEqual(['good']);
  });

  it('accepts { every } as an interval schedule', async () => {
    const app = newApp();
    const task = app.background('every', { every: 1.5 }, noop);
    expect(task).toMatchObject({ kind: 'interval', interval: 1.5, cron: null, timezone: null });
    await runApp(app);
    expect(task.nextRunAt).toEqual(new Date(T0 + 1_500));
  });
});
