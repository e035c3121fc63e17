/**
 * When things go wrong: runs that overlap, a process that wakes late, and
 * task bodies that throw or reject.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  deferred,
  ERROR,
  logLines,
  newApp,
  runApp,
  T0,
  useSchedulerHarness,
  WARN,
} from './helpers.js';

useSchedulerHarness();

describe('overlap', () => {
  it('skips a run that comes due while the previous one is going, counts and logs it', async () => {
    const app = newApp();
    const gates = [deferred(), deferred()];
    const starts: number[] = [];
    const task = app.background('slow', 1, async () => {
      starts.push(Date.now());
      await gates[starts.length - 1]!.promise;
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.running).toBe(true);
    expect(task.toJSON().running).toBe(true);

    await vi.advanceTimersByTimeAsync(2_500); // slots at 2 s and 3 s come due: both skipped
    expect(starts).toEqual([T0 + 1_000]);
    expect(task.stats).toMatchObject({ runs: 0, skipped: 2, missed: 0 });
    const warnings = logLines().filter((l) => l.level === WARN && l.task === 'slow');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]!.msg).toContain('skipped');
    expect(warnings[0]!.msg).toContain('"slow"');

    gates[0]!.resolve(); // the run ends at T0+3.5 s
    await vi.advanceTimersByTimeAsync(0);
    expect(task.running).toBe(false);
    expect(task.stats).toMatchObject({
      runs: 1,
      skipped: 2,
      lastRunAt: new Date(T0 + 1_000),
      lastDurationMs: 2_500,
    });
    await vi.advanceTimersByTimeAsync(500); // the grid goes on: next run at 4 s
    expect(starts).toEqual([T0 + 1_000, T0 + 4_000]);
    gates[1]!.resolve();
  });

  it('overlap is per task: a slow task does not hold back another', async () => {
    const app = newApp();
    const gate = deferred();
    const fast: number[] = [];
    app.background('slow', 1, () => gate.promise);
    app.background('fast', 1, () => void fast.push(Date.now()));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(fast).toEqual([T0 + 1_000, T0 + 2_000, T0 + 3_000]);
    expect(app.backgroundTasks.slow!.stats.skipped).toBe(2);
    expect(app.backgroundTasks.fast!.stats.skipped).toBe(0);
    gate.resolve();
  });
});

describe('late wake-up', () => {
  it('after a suspend, runs once, counts the missed slots and keeps its grid', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('sleeper', 10, () => void starts.push(Date.now()));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([T0 + 10_000]);

    // The machine sleeps: the wall clock jumps to T0+105 s while timers stand still.
    vi.setSystemTime(T0 + 105_000);
    // The capped wait ends within a second, and the scheduler sees how late it is.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([T0 + 10_000, T0 + 106_000]); // once, not once per missed slot
    // Slot 2 (20 s) ran late; slots 3..10 (30..100 s) were missed.
    expect(task.stats).toMatchObject({ runs: 2, missed: 8 });
    expect(task.nextRunAt).toEqual(new Date(T0 + 110_000)); // same grid, not re-anchored
    expect(task.toJSON().missed).toBe(8);
    const warning = logLines().find((l) => l.level === WARN && l.task === 'sleeper');
    expect(warning).toMatchObject({ missed: 8 });
    expect(warning!.msg).toContain('missed 8');

    await vi.advanceTimersByTimeAsync(14_000);
    expect(starts).toEqual([T0 + 10_000, T0 + 106_000, T0 + 110_000, T0 + 120_000]);
    expect(task.stats.missed).toBe(8);
  });

  it('after a blocked event loop, every late task runs once at the first chance', async () => {
    const app = newApp();
    const victim: number[] = [];
    const other: number[] = [];
    app.after(5, () => {
      vi.setSystemTime(Date.now() + 25_500); // a synchronous run blocks for 25.5 s
    });
    const task = app.background('victim', 10, () => void victim.push(Date.now()));
    const otherTask = app.background('other', 3, () => void other.push(Date.now()));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(5_000); // blocked from 5 s to 30.5 s
    // The next timer is armed from the clock after the block: it fires at once
    // (a zero-delay timer set inside a timer callback fires 1 ms later, as in Node).
    await vi.advanceTimersByTimeAsync(1);
    expect(victim).toEqual([T0 + 30_501]);
    expect(task.stats.missed).toBe(2); // 20 s and 30 s
    expect(task.nextRunAt).toEqual(new Date(T0 + 40_000));
    expect(other).toEqual([T0 + 3_000, T0 + 30_501]);
    expect(otherTask.stats.missed).toBe(8); // 9, 12, …, 30 s
    expect(otherTask.nextRunAt).toEqual(new Date(T0 + 33_000));
  });

  it('a suspend before the first run counts from the grid of start', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('early_sleeper', 10, () => void starts.push(Date.now()));
    await runApp(app);
    vi.setSystemTime(T0 + 35_500);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([T0 + 36_500]);
    expect(task.stats.missed).toBe(2);
    expect(task.nextRunAt).toEqual(new Date(T0 + 40_000));
  });
});

describe('a task that throws or rejects', () => {
  it('is logged with its name, message and stack, counted, and keeps its schedule', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('explode', 1, function explodingTask() {
      starts.push(Date.now());
      throw new Error(`kaboom ${starts.length}`);
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(starts).toEqual([T0 + 1_000, T0 + 2_000, T0 + 3_000]);
    expect(task.stats).toMatchObject({ runs: 3, failures: 3, lastError: 'kaboom 3' });
    expect(task.nextRunAt).toEqual(new Date(T0 + 4_000));
    const errors = logLines().filter((l) => l.level === ERROR);
    expect(errors).toHaveLength(3);
    for (const [i, line] of errors.entries()) {
      expect(line.task).toBe('explode');
      expect(line.service).toMatch(/^sched_svc_/);
      expect(line.msg).toContain('"explode"');
      expect(line.msg).toContain(`kaboom ${i + 1}`);
      expect(line.err!.message).toBe(`kaboom ${i + 1}`);
      expect(line.err!.stack).toContain(`kaboom ${i + 1}`);
      expect(line.err!.stack).toContain('explodingTask');
    }
  });

  it('a rejected async run is handled the same way, with no unhandled rejection', async () => {
    const app = newApp();
    const task = app.background('reject', 1, async function rejectingTask() {
      await Promise.resolve();
      throw new TypeError('async boom');
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(task.stats).toMatchObject({ runs: 2, failures: 2, lastError: 'async boom' });
    const errors = logLines().filter((l) => l.level === ERROR && l.task === 'reject');
    expect(errors).toHaveLength(2);
    expect(errors[0]!.err).toMatchObject({ type: 'TypeError', message: 'async boom' });
    expect(errors[0]!.err!.stack).toContain('rejectingTask');
    // The unhandled-rejection guard in the harness checks the rest after the test.
  });

  it('a non-Error thrown value still gives a message and a stack', async () => {
    const app = newApp();
    const task = app.background('odd', 1, () => Promise.reject('plain string'));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.stats).toMatchObject({ failures: 1, lastError: 'plain string' });
    const line = logLines().find((l) => l.level === ERROR && l.task === 'odd');
    expect(line!.err!.message).toBe('plain string');
    expect(typeof line!.err!.stack).toBe('string');
  });

  it('lastError describes the latest run: cleared by a success', async () => {
    const app = newApp();
    let n = 0;
    const task = app.background('flaky', 1, () => {
      n++;
      if (n === 1) throw new Error('first time');
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.stats.lastError).toBe('first time');
    expect(task.toJSON().last_error).toBe('first time');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.stats).toMatchObject({ runs: 2, failures: 1, lastError: null });
  });

  it('one failing task does not disturb another', async () => {
    const app = newApp();
    const healthy: number[] = [];
    app.background('bad', 1, () => {
      throw new Error('always');
    });
    app.background('good', 1, () => void healthy.push(Date.now()));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(healthy).toEqual([T0 + 1_000, T0 + 2_000, T0 + 3_000]);
    expect(app.status).toBe('running');
  });
});
