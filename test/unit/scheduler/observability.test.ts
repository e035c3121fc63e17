/**
 * What a task tells about its runs: the bounded run history, the task events
 * on the app (each with its fields), and the new fields of the wire form.
 */
import { describe, expect, it, vi } from 'vitest';
import type { TaskInfo, TaskRun } from '../../../src/index.js';
import type { TaskEvent } from '../../../src/scheduler/task-events.js';
import { RUN_FIELDS } from '../../harness/wire-fields.js';
import {
  collectEvents,
  deferred,
  ERROR,
  iso,
  logLines,
  newApp,
  requestOverMemory,
  runApp,
  sleep,
  T0,
  useSchedulerHarness,
} from './helpers.js';

useSchedulerHarness();

describe('run history', () => {
  it('keeps the last 20 runs by default, oldest first', async () => {
    const app = newApp();
    const task = app.background('busy', 1, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(25_000);
    const history = task.history;
    expect(history).toHaveLength(20);
    expect(history.map((r) => r.run_id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
    expect(history[0]!.scheduled_at).toBe(iso(T0 + 6_000));
    expect(history[19]!.scheduled_at).toBe(iso(T0 + 25_000));
    expect(task.stats.runs).toBe(25);
  });

  it('stays readable after the task is cancelled, while its storage serves a new task', async () => {
    const app = newApp();
    const gone = app.background('gone', 1, () => undefined, { history: 3 });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(4_000);
    const before = gone.history;
    expect(before.map((r) => r.run_id)).toEqual([2, 3, 4]);
    gone.cancel();
    // A task of the same history size registered now may take the storage the cancelled one gave back.
    const next = app.background('next', 1, () => undefined, { history: 3 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(next.history.map((r) => r.run_id)).toEqual([3, 4, 5]);
    expect(gone.history).toEqual(before);
  });

  it('is bounded by the history option; 0 keeps none', async () => {
    const app = newApp();
    const three = app.background('three', 1, () => undefined, { history: 3 });
    const none = app.background('none', 1, () => undefined, { history: 0 });
    await runApp(app);
    expect(three.history).toEqual([]);
    await vi.advanceTimersByTimeAsync(7_000);
    expect(three.history.map((r) => r.run_id)).toEqual([5, 6, 7]);
    expect(none.history).toEqual([]);
    expect(none.stats.runs).toBe(7);
  });

  it('records start, duration, outcome, error and attempt of each run, in wire form', async () => {
    const app = newApp();
    let n = 0;
    const task = app.background(
      'recorded',
      10,
      async () => {
        n++;
        await sleep(n * 100);
        if (n === 2) throw new Error('second run broke');
        if (n === 3) throw 'a bare string';
      },
      { retry: { attempts: 1, backoff: 2 } },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(25_000);
    const triggered = task.trigger();
    await vi.advanceTimersByTimeAsync(400);
    expect(await triggered).toBe('succeeded');
    const history = task.history;
    for (const record of history) {
      expect(Object.keys(record).sort()).toEqual([...RUN_FIELDS].sort());
    }
    expect(history).toEqual([
      {
        run_id: 1,
        scheduled_at: iso(T0 + 10_000),
        started_at: iso(T0 + 10_000),
        duration_ms: 100,
        outcome: 'success',
        error: null,
        attempt: 0,
      },
      {
        run_id: 2,
        scheduled_at: iso(T0 + 20_000),
        started_at: iso(T0 + 20_000),
        duration_ms: 200,
        outcome: 'error',
        error: 'second run broke',
        attempt: 0,
      },
      {
        // The retry of the 20 s run, 2 s after it failed at 20.2 s.
        run_id: 3,
        scheduled_at: iso(T0 + 20_000),
        started_at: iso(T0 + 22_200),
        duration_ms: 300,
        outcome: 'error',
        error: 'a bare string',
        attempt: 1,
      },
      {
        run_id: 4,
        scheduled_at: null,
        started_at: iso(T0 + 25_000),
        duration_ms: 400,
        outcome: 'success',
        error: null,
        attempt: 0,
      },
    ]);
    // Plain JSON, as the wire carries it.
    expect(JSON.parse(JSON.stringify(history))).toEqual(history);
  });
});

describe('a trigger made inside a timer pass', () => {
  it('is recorded when the pass ends, with no slot: null in its history and in its task:success event', async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:success']);
    const triggered = app.background('triggered', 3600, () => undefined);
    app.background('caller', 1, () => void triggered.trigger());
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(triggered.history).toEqual([
      expect.objectContaining({ run_id: 1, scheduled_at: null, outcome: 'success' }),
    ]);
    const success = events.filter(([, event]) => event.task === 'triggered');
    expect(success).toEqual([
      ['task:success', expect.objectContaining({ runId: 1, scheduledAt: null })],
    ]);
  });
});

describe('recording while behind schedule', () => {
  it('runs that end while the scheduler is behind are recorded in batches, at least every 100 ms; reading from outside a run records them at once', async () => {
    const app = newApp();
    const seen: number[] = [];
    const task = app.background('slow', 0.01, () => {
      seen.push(task.stats.runs);
      // Each run takes 25 ms of the 10 ms interval: the next one is always due already.
      vi.setSystemTime(Date.now() + 25);
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(300);
    expect(seen.length).toBeGreaterThan(10);
    // The second run starts before the first is recorded.
    expect(seen[1]).toBe(0);
    // No run waits longer than 100 ms (four runs of 25 ms) to be recorded.
    expect(Math.max(...seen.map((runs, i) => i - runs))).toBeLessThanOrEqual(5);
    expect(task.stats.runs).toBe(seen.length);
    expect(task.history.at(-1)!.run_id).toBe(seen.length);
  });
});

describe('task events', () => {
  it('task:start and task:success carry task, run id, scheduled and actual start, duration, attempt', async () => {
    const app = newApp();
    const events = collectEvents(app);
    app.background('evented', 10, () => sleep(250));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_250);
    expect(events).toEqual([
      [
        'task:start',
        {
          task: 'evented',
          runId: 1,
          scheduledAt: new Date(T0 + 10_000),
          startedAt: new Date(T0 + 10_000),
          durationMs: 0,
          attempt: 0,
        },
      ],
      [
        'task:success',
        {
          task: 'evented',
          runId: 1,
          scheduledAt: new Date(T0 + 10_000),
          startedAt: new Date(T0 + 10_000),
          durationMs: 250,
          attempt: 0,
        },
      ],
    ]);
  });

  it('tasks due together all start before their runs are recorded, and a failure keeps the order', async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:start', 'task:success', 'task:error']);
    const first = app.background('first', 10, () => undefined);
    let firstRunsSeen = -1;
    const broken = app.background('broken', 10, () => {
      firstRunsSeen = first.stats.runs;
      throw new Error('broken run');
    });
    const last = app.background('last', 10, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events.map(([name, event]) => `${name} ${event.task}`)).toEqual([
      'task:start first',
      'task:start broken',
      'task:success first',
      'task:error broken',
      'task:start last',
      'task:success last',
    ]);
    // `first` had ended but was not recorded yet when `broken` started: recording waits for the
    // pass, except that a failure first records what ended before it.
    expect(firstRunsSeen).toBe(0);
    expect([first.stats.runs, broken.stats.failures, last.stats.runs]).toEqual([1, 1, 1]);
    expect(first.history.map((r) => r.outcome)).toEqual(['success']);
    expect(last.history.map((r) => r.outcome)).toEqual(['success']);
  });

  it('runs due together each start when the work before them has ended, a skip and its listeners included', async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:success']);
    // Each run takes 5 ms of the (fake) clock; `hung` never ends, so its next run is skipped,
    // and the listener of that skip takes 7 ms more.
    const spend = (ms: number) => () => void vi.setSystemTime(Date.now() + ms);
    app.background('a', 10, spend(5));
    app.background('hung', 10, () => new Promise(() => undefined));
    app.background('b', 10, spend(5));
    app.on('task:skip', spend(7));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    const starts = () => events.map(([, event]) => [event.task, event.startedAt?.getTime()]);
    const round1 = T0 + 10_000;
    expect(starts()).toEqual([
      ['a', round1],
      ['b', round1 + 5],
    ]);
    events.length = 0;
    await vi.advanceTimersByTimeAsync(10_000);
    const round2 = T0 + 20_000;
    expect(starts()).toEqual([
      ['a', round2],
      ['b', round2 + 5 + 7],
    ]);
  });

  it('still emits to listeners added after removeAllListeners()', async () => {
    const app = newApp();
    app.on('task:start', () => undefined);
    app.removeAllListeners();
    const events = collectEvents(app, ['task:success']);
    app.background('counted', 10, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events.map(([name, event]) => `${name} ${event.task}`)).toEqual([
      'task:success counted',
    ]);
  });

  it('a task:start listener added by a run hears the runs of the next pass on, not the rest of its own', async () => {
    const app = newApp();
    const started: string[] = [];
    let listening = false;
    app.background('adds', 10, () => {
      if (listening) return;
      listening = true;
      app.on('task:start', (event) => started.push(event.task));
    });
    app.background('after', 10, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    // Both were due in the same pass: whether anyone listens was asked once, before it.
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(started).toEqual(['adds', 'after']);
  });

  it('a trigger outside a timer pass is recorded at once', async () => {
    const app = newApp();
    const task = app.background('now', 3600, () => undefined);
    await runApp(app);
    expect(await task.trigger()).toBe('succeeded');
    expect(task.stats.runs).toBe(1);
    expect(task.history).toHaveLength(1);
  });

  it('a late run: scheduledAt is its slot, startedAt when it really started', async () => {
    const app = newApp();
    const events = collectEvents(app);
    app.background('late', 10, () => undefined);
    await runApp(app);
    vi.setSystemTime(T0 + 12_345); // asleep past the 10 s slot
    await vi.advanceTimersByTimeAsync(1_000);
    const start = events.find(([name]) => name === 'task:start')![1];
    expect(start.scheduledAt).toEqual(new Date(T0 + 10_000));
    expect(start.startedAt).toEqual(new Date(T0 + 13_345));
  });

  it('task:error carries the error (an Error even when a string was thrown) and the duration', async () => {
    const app = newApp();
    const events = collectEvents(app);
    let n = 0;
    app.background('failing', 5, async () => {
      n++;
      await sleep(40);
      if (n === 1) throw new TypeError('typed failure');
      throw 'plain string';
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_040);
    const errors = events.filter(([name]) => name === 'task:error').map(([, e]) => e);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      task: 'failing',
      runId: 1,
      scheduledAt: new Date(T0 + 5_000),
      startedAt: new Date(T0 + 5_000),
      durationMs: 40,
      attempt: 0,
    });
    expect(errors[0]!.error).toBeInstanceOf(TypeError);
    expect(errors[0]!.error!.message).toBe('typed failure');
    expect(errors[1]!.error).toBeInstanceOf(Error);
    expect(errors[1]!.error!.message).toBe('plain string');
    expect(events.filter(([name]) => name === 'task:success')).toEqual([]);
  });

  it('task:skip is no run: run id 0, no start, no duration', async () => {
    const app = newApp();
    const events = collectEvents(app);
    const gate = deferred();
    app.background('overlapping', 1, () => gate.promise);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(events.filter(([name]) => name === 'task:skip')).toEqual([
      [
        'task:skip',
        {
          task: 'overlapping',
          runId: 0,
          scheduledAt: new Date(T0 + 2_000),
          startedAt: null,
          durationMs: null,
          attempt: 0,
        },
      ],
    ]);
    gate.resolve();
  });

  it('task:miss says how many runs were missed', async () => {
    const app = newApp();
    const events = collectEvents(app);
    app.background('sleeper', 10, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    vi.setSystemTime(T0 + 45_500); // 20 s runs late; 30 s and 40 s are missed
    await vi.advanceTimersByTimeAsync(1_000);
    const misses = events.filter(([name]) => name === 'task:miss').map(([, e]) => e);
    expect(misses).toHaveLength(1);
    expect(misses[0]).toMatchObject({
      task: 'sleeper',
      runId: 0,
      startedAt: null,
      durationMs: null,
      attempt: 0,
      missed: 2,
    });
    expect(misses[0]!.scheduledAt).toBeInstanceOf(Date);
  });

  it('a trigger has no scheduled time; a retry has its attempt and its slot', async () => {
    const app = newApp();
    const events = collectEvents(app);
    let n = 0;
    const task = app.background(
      'manual',
      60,
      () => {
        n++;
        if (n === 2) throw new Error('scheduled run failed');
      },
      { retry: { attempts: 1, backoff: 0.5 } },
    );
    await runApp(app);
    await task.trigger();
    await vi.advanceTimersByTimeAsync(60_500);
    const starts = events.filter(([name]) => name === 'task:start').map(([, e]) => e);
    expect(starts.map((e) => [e.runId, e.scheduledAt, e.startedAt, e.attempt])).toEqual([
      [1, null, new Date(T0), 0],
      [2, new Date(T0 + 60_000), new Date(T0 + 60_000), 0],
      [3, new Date(T0 + 60_000), new Date(T0 + 60_500), 1],
    ]);
  });

  it('a listener that throws does not break the scheduler; it is logged', async () => {
    const app = newApp();
    const seen: number[] = [];
    app.on('task:start', () => {
      throw new Error('listener exploded');
    });
    app.on('task:success', (event: TaskEvent) => {
      seen.push(event.runId);
      throw new Error('success listener exploded');
    });
    const task = app.background('resilient', 1, () => undefined);
    const other = app.background('bystander', 1, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(task.stats).toMatchObject({ runs: 3, failures: 0 });
    expect(other.stats).toMatchObject({ runs: 3, failures: 0 });
    expect(seen).toEqual([1, 1, 2, 2, 3, 3]);
    const complaints = logLines().filter(
      (l) => l.level === ERROR && /listener threw/.test(l.msg) && /exploded/.test(l.msg),
    );
    expect(complaints.length).toBeGreaterThanOrEqual(6);
    expect(complaints[0]!.msg).toContain('"task:start"');
    expect(task.nextRunAt).toEqual(new Date(T0 + 4_000));
  });

  it('an async listener that rejects does not escape as an unhandled rejection', async () => {
    const app = newApp();
    app.on('task:success', async () => {
      await Promise.resolve();
      throw new Error('async listener exploded');
    });
    const task = app.background('async_listener', 1, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(task.stats.runs).toBe(2);
    // The harness fails the test if a rejection went unhandled.
  });
});

describe('the wire form of the new fields', () => {
  it('daebus:tasks reports cron, timezone, overlap, timeout, consecutive failures, average and maximum duration', async () => {
    const app = newApp();
    const durations = [100, 200, 201];
    let n = 0;
    const cron = app.background(
      'reporter',
      { cron: '*/10 * * * * *', timezone: 'Europe/Berlin' },
      async ({ signal }: TaskRun) => {
        const ms = durations[n++] ?? 0;
        await sleep(ms);
        if (signal.aborted) throw new Error('aborted');
        if (n >= 2) throw new Error(`run ${n} failed`);
      },
      { overlap: 'queue', timeout: 5 },
    );
    const plain = app.background('plain', 30, () => undefined);
    const service = await runApp(app);
    await vi.advanceTimersByTimeAsync(31_000);
    const reply = (await requestOverMemory(service, 'daebus:tasks', {})) as {
      status: string;
      payload: { tasks: TaskInfo[] };
    };
    expect(reply.status).toBe('success');
    const [reporter, other] = reply.payload.tasks;
    expect(reporter).toMatchObject({
      name: 'reporter',
      kind: 'cron',
      interval: null,
      cron: '*/10 * * * * *',
      timezone: 'Europe/Berlin',
      overlap: 'queue',
      timeout: 5,
      runs: 3,
      failures: 2,
      consecutive_failures: 2,
      avg_duration_ms: 167,
      max_duration_ms: 201,
      last_duration_ms: 201,
      last_error: 'run 3 failed',
      timeouts: 0,
      stuck: 0,
      next_run_at: iso(T0 + 40_000),
    });
    expect(other).toMatchObject({
      name: 'plain',
      kind: 'interval',
      interval: 30,
      cron: null,
      timezone: null,
      overlap: 'skip',
      timeout: null,
      consecutive_failures: 0,
      avg_duration_ms: 0,
      max_duration_ms: 0,
    });
    expect(reply.payload.tasks).toEqual([cron.toJSON(), plain.toJSON()]);
  });

  it('before any run, averages and maxima are null; the average is rounded to 0.01 ms', async () => {
    const app = newApp();
    const durations = [1, 2, 2];
    let n = 0;
    const task = app.background('tiny', 1, () => sleep(durations[n++] ?? 0));
    expect(task.toJSON()).toMatchObject({
      avg_duration_ms: null,
      max_duration_ms: null,
      consecutive_failures: 0,
    });
    expect(task.stats).toMatchObject({ avgDurationMs: null, maxDurationMs: null });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_100);
    expect(task.toJSON()).toMatchObject({ runs: 3, avg_duration_ms: 1.67, max_duration_ms: 2 });
    expect(task.stats.avgDurationMs).toBeCloseTo(5 / 3, 10);
  });

  it('runs of 0 ms report durations of exactly 0, not the -0 the sums start from', async () => {
    const app = newApp();
    const task = app.background('instant', 1, () => undefined);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_100);
    // toBe compares with Object.is, which tells -0 from 0.
    expect(task.stats.runs).toBe(2);
    expect(task.stats.maxDurationMs).toBe(0);
    expect(task.stats.avgDurationMs).toBe(0);
    expect(task.stats.lastDurationMs).toBe(0);
    expect(task.toJSON()).toMatchObject({ max_duration_ms: 0, avg_duration_ms: 0 });
  });
});
