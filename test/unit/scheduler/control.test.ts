/**
 * Controlling tasks while the service runs: `app.backgroundTasks`, the live
 * interval, pause/resume, trigger, cancel, and tasks added on the fly.
 */
import { describe, expect, it, vi } from 'vitest';
import { DaebusError } from '../../../src/index.js';
import { deferred, newApp, runApp, T0, useSchedulerHarness } from './helpers.js';

useSchedulerHarness();

/** A task body that records the time of each run. */
function recorder(): { starts: number[]; fn: () => void } {
  const starts: number[] = [];
  return { starts, fn: () => void starts.push(Date.now()) };
}

describe('app.backgroundTasks', () => {
  it('is indexable by name and lists every task in registration order', async () => {
    const app = newApp();
    const a = app.background('adaptive_cleanup', 3600, () => undefined);
    const b = app.background('health_check', 60, () => undefined);
    const c = app.after(30, () => undefined, { name: 'reminder' });
    expect(app.backgroundTasks.adaptive_cleanup).toBe(a);
    expect(app.backgroundTasks.health_check).toBe(b);
    expect(app.backgroundTasks.reminder).toBe(c);
    expect(app.backgroundTasks.nope).toBeUndefined();
    expect(Object.keys(app.backgroundTasks)).toEqual([
      'adaptive_cleanup',
      'health_check',
      'reminder',
    ]);
    expect(Object.values(app.backgroundTasks)).toEqual([a, b, c]);
    expect('health_check' in app.backgroundTasks).toBe(true);
    expect('nope' in app.backgroundTasks).toBe(false);
    expect(a.name).toBe('adaptive_cleanup');
    expect(a.kind).toBe('interval');
    expect(c.kind).toBe('once');
    await runApp(app);
    expect(Object.keys(app.backgroundTasks)).toHaveLength(3);
  });

  it('cannot be assigned to or deleted from', () => {
    const app = newApp();
    app.background('kept', 1, () => undefined);
    const tasks = app.backgroundTasks as Record<string, unknown>;
    expect(() => {
      tasks.kept = 'replaced';
    }).toThrow(TypeError);
    expect(() => {
      delete tasks.kept;
    }).toThrow(TypeError);
    expect('kept' in app.backgroundTasks).toBe(true);
  });
});

describe('changing the interval while running', () => {
  it('next run = previous scheduled run + new interval, when that is still ahead', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('adaptive', 10, fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(13_000); // ran at T0+10 s; now T0+13 s
    expect(starts).toEqual([T0 + 10_000]);

    app.backgroundTasks.adaptive!.interval = 5;
    expect(app.backgroundTasks.adaptive!.interval).toBe(5);
    expect(app.backgroundTasks.adaptive!.nextRunAt).toEqual(new Date(T0 + 15_000));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(starts).toEqual([T0 + 10_000]);
    await vi.advanceTimersByTimeAsync(10_001); // to T0+25 s
    expect(starts).toEqual([T0 + 10_000, T0 + 15_000, T0 + 20_000, T0 + 25_000]);
  });

  it('runs at once when previous scheduled run + new interval has already passed', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('adaptive', 10, fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(13_000);

    app.backgroundTasks.adaptive!.interval = 2; // T0+12 s is gone: run now, then every 2 s
    expect(app.backgroundTasks.adaptive!.nextRunAt).toEqual(new Date(T0 + 13_000));
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([T0 + 10_000, T0 + 13_000]);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(starts).toEqual([T0 + 10_000, T0 + 13_000, T0 + 15_000, T0 + 17_000]);
  });

  it('a longer interval moves the next run later, counted from the previous scheduled run', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    app.background('adaptive', 1, fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_500); // runs at 1, 2, 3 s
    app.backgroundTasks.adaptive!.interval = 600;
    expect(app.backgroundTasks.adaptive!.nextRunAt).toEqual(new Date(T0 + 603_000));
    await vi.advanceTimersByTimeAsync(599_499);
    expect(starts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts.at(-1)).toBe(T0 + 603_000);
  });

  it('set before run(), the new interval is the one the grid starts with', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('adaptive', 3600, fn);
    task.interval = 2;
    expect(task.nextRunAt).toBeNull();
    await runApp(app);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(starts).toEqual([T0 + 2_000, T0 + 4_000]);
  });

  it('set while paused, it applies from resume', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('adaptive', 10, fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(11_000); // ran at 10 s
    task.pause();
    task.interval = 4; // previous scheduled run 10 s + 4 s = 14 s
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(20_000); // T0+31 s
    expect(starts).toEqual([T0 + 10_000]);
    task.resume(); // grid 10, 14, 18, … 30, 34: next is 34 s
    expect(task.nextRunAt).toEqual(new Date(T0 + 34_000));
    await vi.advanceTimersByTimeAsync(7_000);
    expect(starts).toEqual([T0 + 10_000, T0 + 34_000, T0 + 38_000]);
  });
});

describe('pause and resume', () => {
  it('no runs while paused; resume continues on the same grid with no catch-up burst', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('paced', 10, fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(12_000);
    expect(starts).toEqual([T0 + 10_000]);

    task.pause();
    expect(task.paused).toBe(true);
    expect(task.nextRunAt).toBeNull();
    expect(task.toJSON()).toMatchObject({ paused: true, next_run_at: null });
    await vi.advanceTimersByTimeAsync(45_000); // T0+57 s: slots 20..50 s pass while paused
    expect(starts).toEqual([T0 + 10_000]);
    expect(task.stats.missed).toBe(0); // pausing is not missing

    task.resume();
    expect(task.paused).toBe(false);
    expect(task.nextRunAt).toEqual(new Date(T0 + 60_000)); // first slot after now
    await vi.advanceTimersByTimeAsync(2_999);
    expect(starts).toEqual([T0 + 10_000]);
    await vi.advanceTimersByTimeAsync(10_001);
    expect(starts).toEqual([T0 + 10_000, T0 + 60_000, T0 + 70_000]);
  });

  it('resume() without pause() and pause() twice change nothing', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('paced', 10, fn);
    await runApp(app);
    task.resume();
    expect(task.nextRunAt).toEqual(new Date(T0 + 10_000));
    task.pause();
    task.pause();
    task.resume();
    expect(task.nextRunAt).toEqual(new Date(T0 + 10_000));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([T0 + 10_000]);
  });

  it('a run in progress finishes after pause(), and no new run starts', async () => {
    const app = newApp();
    const gate = deferred();
    let started = 0;
    const task = app.background('slow', 1, async () => {
      started++;
      await gate.promise;
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.running).toBe(true);
    task.pause();
    gate.resolve();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(task.running).toBe(false);
    expect(started).toBe(1);
    expect(task.stats.runs).toBe(1);
  });

  it('a task paused before run() does not start until resumed', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('held', 5, fn);
    task.pause();
    await runApp(app);
    expect(task.nextRunAt).toBeNull();
    await vi.advanceTimersByTimeAsync(12_000);
    expect(starts).toEqual([]);
    task.resume(); // grid anchored at start: 5, 10, 15 s
    await vi.advanceTimersByTimeAsync(3_000);
    expect(starts).toEqual([T0 + 15_000]);
  });
});

describe('trigger()', () => {
  it('runs now, resolves "succeeded", and leaves the grid alone', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('manual', 10, fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_000);
    await expect(task.trigger()).resolves.toBe('succeeded');
    expect(starts).toEqual([T0 + 3_000]);
    expect(task.nextRunAt).toEqual(new Date(T0 + 10_000));
    await vi.advanceTimersByTimeAsync(7_000);
    expect(starts).toEqual([T0 + 3_000, T0 + 10_000]);
    expect(task.stats.runs).toBe(2);
  });

  it('resolves "failed" when the run throws, without rejecting', async () => {
    const app = newApp();
    const task = app.background('manual', 10, () => {
      throw new Error('trigger failure');
    });
    await runApp(app);
    await expect(task.trigger()).resolves.toBe('failed');
    expect(task.stats).toMatchObject({ runs: 1, failures: 1, lastError: 'trigger failure' });
  });

  it('waits for an async run to settle before it resolves', async () => {
    const app = newApp();
    const gate = deferred();
    const task = app.background('manual', 10, () => gate.promise);
    await runApp(app);
    let outcome: string | undefined;
    void task.trigger().then((o) => {
      outcome = o;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(task.running).toBe(true);
    expect(outcome).toBeUndefined();
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome).toBe('succeeded');
  });

  it('resolves "skipped" while a run is going, and counts it', async () => {
    const app = newApp();
    const gate = deferred();
    let started = 0;
    const task = app.background('manual', 10, async () => {
      started++;
      await gate.promise;
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(task.running).toBe(true);
    await expect(task.trigger()).resolves.toBe('skipped');
    expect(started).toBe(1);
    expect(task.stats.skipped).toBe(1);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    await expect(task.trigger()).resolves.toBe('succeeded');
    expect(started).toBe(2);
  });

  it('rejects with NOT_RUNNING before run() and after close()', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('manual', 10, fn);
    await expect(task.trigger()).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    await runApp(app);
    await app.close();
    const err = await task.trigger().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaebusError);
    expect((err as DaebusError).code).toBe('NOT_RUNNING');
    expect(starts).toEqual([]);
  });
});

describe('cancel() and tasks added while running', () => {
  it('cancel() stops every further run and removes the task', async () => {
    const app = newApp();
    const { starts, fn } = recorder();
    const task = app.background('doomed', 1, fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_500);
    task.cancel();
    expect('doomed' in app.backgroundTasks).toBe(false);
    expect(Object.keys(app.backgroundTasks)).toEqual([]);
    expect(task.nextRunAt).toBeNull();
    // A task added now may take the storage the cancelled one's times were in: the handle keeps them.
    app.background('successor', 5, () => undefined);
    expect(task.interval).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([T0 + 1_000, T0 + 2_000]);
    task.cancel(); // twice is fine
  });

  it('cancel() during a run lets that run finish', async () => {
    const app = newApp();
    const gate = deferred();
    const task = app.background('doomed', 1, () => gate.promise);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    task.cancel();
    gate.resolve();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(task.stats).toMatchObject({ runs: 1, failures: 0, skipped: 0 });
    expect(task.running).toBe(false);
  });

  it('a task can cancel itself from inside a run', async () => {
    const app = newApp();
    let runs = 0;
    app.background('self_limiting', 1, ({ task }) => {
      runs++;
      if (runs === 3) task.cancel();
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(3);
    expect('self_limiting' in app.backgroundTasks).toBe(false);
  });

  it('a cancelled name can be used again', async () => {
    const app = newApp();
    const first = recorder();
    const second = recorder();
    app.background('reused', 1, first.fn).cancel();
    await runApp(app);
    app.background('reused', 2, second.fn);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(first.starts).toEqual([]);
    expect(second.starts).toEqual([T0 + 2_000, T0 + 4_000]);
  });

  it('a task added while running gets a grid anchored when it was added', async () => {
    const app = newApp();
    const early = recorder();
    const late = recorder();
    const eager = recorder();
    app.background('early', 1, early.fn);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_500);
    const task = app.background('late', 2, late.fn);
    app.background('eager', 2, eager.fn, { immediate: true });
    expect(task.nextRunAt).toEqual(new Date(T0 + 5_500));
    expect(Object.keys(app.backgroundTasks)).toEqual(['early', 'late', 'eager']);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(late.starts).toEqual([T0 + 5_500, T0 + 7_500]);
    expect(eager.starts).toEqual([T0 + 3_500, T0 + 5_500, T0 + 7_500]);
    expect(early.starts).toEqual([1, 2, 3, 4, 5, 6, 7].map((k) => T0 + k * 1000));
  });

  it('a task is anchored at the moment of the call, even when checking its schedule takes time', async () => {
    const app = newApp();
    await runApp(app);
    const calledAt = Date.now();
    // The clock moves on while the schedule is read (a slow getter, a cold first call).
    const schedule = {
      get every(): number {
        vi.setSystemTime(calledAt + 3);
        return 1;
      },
    };
    const late = recorder();
    const task = app.background('slow_to_check', schedule, late.fn);
    expect(task.nextRunAt).toEqual(new Date(calledAt + 1_000));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(late.starts).toEqual([calledAt + 1_000, calledAt + 2_000]);
  });

  it('cancelling one of several tasks due together leaves the others running', async () => {
    const app = newApp();
    const a = recorder();
    const b = recorder();
    let cancelB = (): void => undefined;
    app.background('a', 1, () => {
      a.fn();
      if (a.starts.length === 2) cancelB();
    });
    const taskB = app.background('b', 1, b.fn);
    cancelB = () => taskB.cancel();
    await runApp(app);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(a.starts).toHaveLength(4);
    // b was due in the same pass as a's second run, after it: cancelled first.
    expect(b.starts).toEqual([T0 + 1_000]);
  });
});
