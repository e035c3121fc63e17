/**
 * One-time tasks: `app.after(seconds, fn, { name? })`, and the seed's plain
 * `setTimeout` inside an action handler.
 */
import { describe, expect, it, vi } from 'vitest';
import { type BackgroundTask, logger, request, type TaskRun } from '../../../src/index.js';
import {
  deferred,
  ERROR,
  iso,
  logLines,
  newApp,
  requestOverMemory,
  runApp,
  T0,
  useSchedulerHarness,
} from './helpers.js';

useSchedulerHarness();

describe('app.after', () => {
  it('runs once, the delay after it was added, then leaves app.backgroundTasks', async () => {
    const app = newApp();
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_000);
    const starts: number[] = [];
    const task = app.after(5, () => void starts.push(Date.now()), { name: 'reminder' });
    expect(task.name).toBe('reminder');
    expect(task.kind).toBe('once');
    expect(app.backgroundTasks.reminder).toBe(task);
    expect(Object.keys(app.backgroundTasks)).toEqual(['reminder']);
    expect(task.nextRunAt).toEqual(new Date(T0 + 7_000));

    await vi.advanceTimersByTimeAsync(4_999);
    expect(starts).toEqual([]);
    expect('reminder' in app.backgroundTasks).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([T0 + 7_000]);
    expect('reminder' in app.backgroundTasks).toBe(false);
    expect(Object.keys(app.backgroundTasks)).toEqual([]);
    expect(task.nextRunAt).toBeNull();
    expect(task.stats).toMatchObject({ runs: 1, failures: 0, lastRunAt: new Date(T0 + 7_000) });

    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toEqual([T0 + 7_000]); // once means once
  });

  it('is in the wire form (kind "once") and in daebus:tasks until it has run', async () => {
    const app = newApp();
    app.background('recurring', 60, () => undefined);
    const service = await runApp(app);
    const task = app.after(1.5, () => undefined, { name: 'soon' });
    expect(task.toJSON()).toMatchObject({
      name: 'soon',
      kind: 'once',
      interval: null,
      cron: null,
      paused: false,
      running: false,
      runs: 0,
      next_run_at: iso(T0 + 1_500),
    });
    const before = (await requestOverMemory(service, 'daebus:tasks', {})) as {
      payload: { tasks: { name: string; kind: string }[] };
    };
    expect(before.payload.tasks.map((t) => [t.name, t.kind])).toEqual([
      ['recurring', 'interval'],
      ['soon', 'once'],
    ]);
    expect(before.payload.tasks[1]).toEqual(task.toJSON());

    await vi.advanceTimersByTimeAsync(1_500);
    const after = (await requestOverMemory(service, 'daebus:tasks', {})) as {
      payload: { tasks: { name: string }[] };
    };
    expect(after.payload.tasks.map((t) => t.name)).toEqual(['recurring']);
  });

  it('gets unique default names', async () => {
    const app = newApp();
    const a = app.after(1, () => undefined);
    const b = app.after(1, () => undefined);
    expect(a.name).not.toBe(b.name);
    expect(Object.keys(app.backgroundTasks)).toEqual([a.name, b.name]);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(Object.keys(app.backgroundTasks)).toEqual([]);
    expect([a.stats.runs, b.stats.runs]).toEqual([1, 1]);
  });

  it('cancel() before it fires: it never runs and is gone', async () => {
    const app = newApp();
    await runApp(app);
    let ran = false;
    const task = app.after(5, () => {
      ran = true;
    });
    await vi.advanceTimersByTimeAsync(4_000);
    task.cancel();
    expect(task.name in app.backgroundTasks).toBe(false);
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ran).toBe(false);
    expect(task.stats.runs).toBe(0);
  });

  it('registered before run(), the delay counts from start', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.after(5, () => void starts.push(Date.now()), { name: 'warmup' });
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(3_000);
    await runApp(app); // starts at T0+3 s
    expect(task.nextRunAt).toEqual(new Date(T0 + 8_000));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([T0 + 8_000]);
  });

  it('a zero delay runs right away; fractions and very long delays are exact', async () => {
    const app = newApp();
    await runApp(app);
    const starts: Record<string, number> = {};
    const record = (name: string) => () => {
      starts[name] = Date.now();
    };
    app.after(0, record('now'), { name: 'now' });
    app.after(0.75, record('fraction'), { name: 'fraction' });
    app.after(40 * 86_400, record('far'), { name: 'far' });
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual({ now: T0 });
    await vi.advanceTimersByTimeAsync(750);
    expect(starts).toEqual({ now: T0, fraction: T0 + 750 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(starts.far).toBeUndefined();
    // Jump the wall clock to 1.5 s before the moment: the capped wait (1 s) sees it coming.
    vi.setSystemTime(T0 + 40 * 86_400_000 - 1_500);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(starts.far).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(starts.far).toBe(T0 + 40 * 86_400_000);
  });

  it('errors are isolated like any task: logged, counted, nothing unhandled', async () => {
    const app = newApp();
    await runApp(app);
    const sync = app.after(1, function failingOnce() {
      throw new Error('once failed');
    });
    const async = app.after(2, async () => {
      throw new Error('async once failed');
    });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sync.stats).toMatchObject({ runs: 1, failures: 1, lastError: 'once failed' });
    expect(async.stats).toMatchObject({ runs: 1, failures: 1, lastError: 'async once failed' });
    const errors = logLines().filter((l) => l.level === ERROR);
    expect(errors.map((l) => [l.task, l.err!.message])).toEqual([
      [sync.name, 'once failed'],
      [async.name, 'async once failed'],
    ]);
    expect(errors[0]!.err!.stack).toContain('failingOnce');
    expect(app.status).toBe('running');
  });

  it('receives { signal, task, logger } like a recurring task', async () => {
    const app = newApp();
    await runApp(app);
    let received: TaskRun | undefined;
    const task: BackgroundTask = app.after(
      1,
      (run) => {
        received = run;
        run.logger.info('once says hi');
        logger.info('global logger in once');
      },
      { name: 'greeter' },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(received!.task).toBe(task);
    expect(received!.signal.aborted).toBe(false);
    const lines = logLines().filter(
      (l) => l.msg === 'once says hi' || l.msg === 'global logger in once',
    );
    expect(lines.map((l) => l.task)).toEqual(['greeter', 'greeter']);
  });

  it('trigger() runs it now, and that is its one run', async () => {
    const app = newApp();
    await runApp(app);
    const starts: number[] = [];
    const task = app.after(5, () => void starts.push(Date.now()), { name: 'early_bird' });
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(task.trigger()).resolves.toBe('succeeded');
    expect(starts).toEqual([T0 + 1_000]);
    expect('early_bird' in app.backgroundTasks).toBe(false);
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([T0 + 1_000]);
    expect(task.stats.runs).toBe(1);
  });

  it('paused past its moment, it runs as soon as it is resumed', async () => {
    const app = newApp();
    await runApp(app);
    const starts: number[] = [];
    const task = app.after(2, () => void starts.push(Date.now()));
    task.pause();
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([]);
    expect(task.name in app.backgroundTasks).toBe(true);
    task.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([T0 + 10_000]);
    expect(task.name in app.backgroundTasks).toBe(false);
  });

  it('an async one-time run still going at close() gets the grace period', async () => {
    const app = newApp({ shutdownTimeout: 3 });
    await runApp(app);
    const gate = deferred();
    const task = app.after(1, () => gate.promise);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.running).toBe(true);
    let closed = false;
    void app.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(closed).toBe(false);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(true);
    expect(task.stats.runs).toBe(1);
  });
});

describe("the seed's plain setTimeout in an action", () => {
  it('runs later with the handler context (request, logger) still available', async () => {
    vi.useRealTimers(); // real timers carry AsyncLocalStorage into the callback; fake ones cannot
    const app = newApp();
    const executed = deferred<{ action: string | null; payload: unknown }>();
    app.action('schedule_one_time', () => {
      const delay = (request.payload as { delay?: number }).delay ?? 60;
      setTimeout(() => {
        try {
          logger.info('One-time task executed');
          executed.resolve({ action: request.action, payload: request.payload });
        } catch (err) {
          executed.reject(err);
        }
      }, delay * 1000);
      return { scheduled: true, delay };
    });
    const service = await runApp(app);
    const reply = await requestOverMemory(service, 'schedule_one_time', { delay: 0.02 });
    expect(reply).toMatchObject({ status: 'success', payload: { scheduled: true, delay: 0.02 } });
    await expect(executed.promise).resolves.toEqual({
      action: 'schedule_one_time',
      payload: { delay: 0.02 },
    });
    const line = logLines().find((l) => l.msg === 'One-time task executed');
    expect(line).toMatchObject({ action: 'schedule_one_time', service });
  });
});
