/**
 * The run policies of a task: overlap (skip, queue, allow with
 * maxConcurrent), timeout and stuck runs, misfire (coalesce, skip with
 * misfireGrace) and retry with backoff.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DaebusError, type TaskRun } from '../../../src/index.js';
import {
  collectEvents,
  type Deferred,
  deferred,
  ERROR,
  iso,
  logLines,
  newApp,
  runApp,
  sleep,
  T0,
  useSchedulerHarness,
  WARN,
} from './helpers.js';

useSchedulerHarness();
afterEach(() => {
  vi.restoreAllMocks();
});

/** Resolves when `signal` aborts, rejecting with its reason, as a well-behaved task does. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

describe("overlap: 'skip' (the default)", () => {
  it('skips a run due while one is going, and says so in stats, wire form and events', async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:skip']);
    const gate = deferred();
    const task = app.background('skipper', 1, () => gate.promise);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(task.stats).toMatchObject({ skipped: 2, runs: 0 });
    expect(task.toJSON()).toMatchObject({ overlap: 'skip', skipped: 2, running: true });
    expect(events.map(([, e]) => e.scheduledAt)).toEqual([
      new Date(T0 + 2_000),
      new Date(T0 + 3_000),
    ]);
    expect(await task.trigger()).toBe('skipped');
    gate.resolve();
  });
});

describe("overlap: 'queue'", () => {
  it('one run waits for the running one and starts when it ends; a third is skipped', async () => {
    const app = newApp();
    const gate = deferred();
    const runs: Array<{ at: number; scheduledAt: number | null }> = [];
    const task = app.background(
      'queued',
      1,
      async ({ scheduledAt }: TaskRun) => {
        runs.push({ at: Date.now() - T0, scheduledAt: scheduledAt && scheduledAt - T0 });
        if (runs.length === 1) await gate.promise;
      },
      { overlap: 'queue' },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(3_500); // run 1 from 1 s; 2 s waits; 3 s is skipped
    expect(runs).toEqual([{ at: 1_000, scheduledAt: 1_000 }]);
    expect(task.stats.skipped).toBe(1);
    expect(task.toJSON()).toMatchObject({ overlap: 'queue', skipped: 1 });

    gate.resolve(); // at 3.5 s: the waiting run (for the 2 s slot) starts at once
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([
      { at: 1_000, scheduledAt: 1_000 },
      { at: 3_500, scheduledAt: 2_000 },
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs.at(-1)).toEqual({ at: 4_000, scheduledAt: 4_000 });
    expect(task.stats).toMatchObject({ runs: 3, skipped: 1 });
    expect(task.history.map((r) => r.scheduled_at)).toEqual(
      [1_000, 2_000, 4_000].map((ms) => iso(T0 + ms)),
    );
  });

  it('a trigger while a run goes is queued', async () => {
    const app = newApp();
    const gate = deferred();
    let n = 0;
    const task = app.background(
      'queued_trigger',
      100,
      async () => {
        n++;
        if (n === 1) await gate.promise;
      },
      { overlap: 'queue' },
    );
    await runApp(app);
    const first = task.trigger();
    expect(await task.trigger()).toBe('queued');
    expect(await task.trigger()).toBe('skipped');
    gate.resolve();
    expect(await first).toBe('succeeded');
    await vi.advanceTimersByTimeAsync(0);
    expect(n).toBe(2);
  });
});

describe("overlap: 'allow'", () => {
  it('with maxConcurrent 2, up to two runs go at once; a third is skipped', async () => {
    const app = newApp();
    const starts: number[] = [];
    let concurrent = 0;
    let most = 0;
    const task = app.background(
      'parallel',
      1,
      async () => {
        starts.push(Date.now() - T0);
        most = Math.max(most, ++concurrent);
        await sleep(2_500);
        concurrent--;
      },
      { overlap: 'allow', maxConcurrent: 2 },
    );
    await runApp(app);
    // Runs: 1→3.5 s, 2→4.5 s; 3 s skipped (two going); 4→6.5 s, 5→7.5 s; 6 s skipped.
    await vi.advanceTimersByTimeAsync(6_000);
    expect(starts).toEqual([1_000, 2_000, 4_000, 5_000]);
    expect(task.stats).toMatchObject({ skipped: 2, runs: 2 });
    expect(most).toBe(2);
    expect(task.toJSON()).toMatchObject({ overlap: 'allow', running: true });
  });

  it('without maxConcurrent, every due run starts', async () => {
    const app = newApp();
    let concurrent = 0;
    let most = 0;
    const task = app.background(
      'unbounded',
      1,
      async () => {
        most = Math.max(most, ++concurrent);
        await sleep(4_500);
        concurrent--;
      },
      { overlap: 'allow' },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(most).toBe(5);
    expect(task.stats).toMatchObject({ skipped: 0, runs: 5 });
  });
});

describe('timeout', () => {
  it('aborts the signal with TIMEOUT at the deadline; the run counts as failed', async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:timeout', 'task:error', 'task:success']);
    const reasons: unknown[] = [];
    const task = app.background(
      'bounded',
      10,
      async ({ signal }: TaskRun) => {
        signal.addEventListener('abort', () => reasons.push(signal.reason));
        await untilAborted(signal);
      },
      { timeout: 2 },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(11_999);
    expect(reasons).toEqual([]);
    expect(task.running).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(reasons).toHaveLength(1);
    const reason = reasons[0] as DaebusError;
    expect(reason).toBeInstanceOf(DaebusError);
    expect(reason.code).toBe('TIMEOUT');
    expect(reason.message).toBe('task "bounded" run 1 timed out after 2 s');
    expect(task.running).toBe(false);
    expect(task.stats).toMatchObject({
      runs: 1,
      failures: 1,
      consecutiveFailures: 1,
      timeouts: 1,
      stuck: 0,
      lastDurationMs: 2_000,
      lastError: 'task "bounded" run 1 timed out after 2 s',
    });
    expect(task.history).toEqual([
      {
        run_id: 1,
        scheduled_at: iso(T0 + 10_000),
        started_at: iso(T0 + 10_000),
        duration_ms: 2_000,
        outcome: 'timeout',
        error: 'task "bounded" run 1 timed out after 2 s',
        attempt: 0,
      },
    ]);
    expect(task.toJSON()).toMatchObject({ timeout: 2, timeouts: 1, failures: 1 });
    const names = events.map(([name]) => name);
    expect(names.sort()).toEqual(['task:error', 'task:timeout']);
    const timeout = events.find(([name]) => name === 'task:timeout')![1];
    expect(timeout).toMatchObject({
      task: 'bounded',
      runId: 1,
      scheduledAt: new Date(T0 + 10_000),
      startedAt: new Date(T0 + 10_000),
      durationMs: 2_000,
      attempt: 0,
    });
    expect((timeout.error as DaebusError).code).toBe('TIMEOUT');
    expect(
      logLines().some((l) => l.level === ERROR && l.task === 'bounded' && /timed out/.test(l.msg)),
    ).toBe(true);
    // The next run is on its slot, with its own deadline.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(task.stats).toMatchObject({ runs: 2, timeouts: 2 });
  });

  it('a run that ends before its deadline is not touched', async () => {
    const app = newApp();
    let aborted = false;
    const task = app.background(
      'quick',
      10,
      async ({ signal }: TaskRun) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        await sleep(1_999);
      },
      { timeout: 2 },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(aborted).toBe(false);
    expect(task.stats).toMatchObject({ runs: 1, failures: 0, timeouts: 0, lastDurationMs: 1_999 });
  });
});

describe('stuck runs', () => {
  it('a run that ignores its signal is reported stuck after stuckAfter, and the schedule goes on', async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:stuck', 'task:skip']);
    const gates: Deferred[] = [deferred(), deferred()];
    const starts: number[] = [];
    const task = app.background(
      'stubborn',
      5,
      async () => {
        starts.push(Date.now() - T0);
        await gates[starts.length - 1]!.promise; // ignores its signal
      },
      { timeout: 1, stuckAfter: 3 },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(6_000); // started at 5 s, timed out at 6 s
    expect(task.stats).toMatchObject({ timeouts: 1, stuck: 0, failures: 1 });
    expect(task.running).toBe(true); // still holds its overlap slot
    await vi.advanceTimersByTimeAsync(1_999);
    expect(task.stats.stuck).toBe(0);
    await vi.advanceTimersByTimeAsync(1); // 8 s: stuck
    expect(task.stats.stuck).toBe(1);
    expect(task.running).toBe(false);
    expect(task.toJSON()).toMatchObject({ stuck: 1, running: false });
    const warning = logLines().find((l) => l.level === WARN && /stuck/.test(l.msg));
    expect(warning).toMatchObject({ task: 'stubborn', run_id: 1, running_ms: 3_000 });
    expect(warning!.msg).toContain('"stubborn"');
    expect(events).toEqual([
      [
        'task:stuck',
        {
          task: 'stubborn',
          runId: 1,
          scheduledAt: new Date(T0 + 5_000),
          startedAt: new Date(T0 + 5_000),
          durationMs: 3_000,
          attempt: 0,
        },
      ],
    ]);

    // The overlap rule no longer waits for run 1: the 10 s run starts.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(starts).toEqual([5_000, 10_000]);
    expect(task.stats.skipped).toBe(0);

    // Run 1 ends at last: it was already counted (at its timeout) and released.
    gates[0]!.resolve();
    gates[1]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(task.stats).toMatchObject({ runs: 2, failures: 1, timeouts: 1, stuck: 1 });
    expect(task.history.map((r) => [r.run_id, r.outcome])).toEqual([
      [1, 'timeout'],
      [2, 'success'],
    ]);
  });

  it('stuckAfter defaults to twice the timeout', async () => {
    const app = newApp();
    const gate = deferred();
    const task = app.background('twice', 100, () => gate.promise, { timeout: 2 });
    await runApp(app);
    void task.trigger();
    await vi.advanceTimersByTimeAsync(3_999);
    expect(task.stats).toMatchObject({ timeouts: 1, stuck: 0 });
    await vi.advanceTimersByTimeAsync(1);
    expect(task.stats.stuck).toBe(1);
    gate.resolve();
  });

  it('without a timeout, stuckAfter alone reports the run and frees the overlap slot', async () => {
    const app = newApp();
    const gate = deferred();
    const starts: number[] = [];
    const task = app.background(
      'slowpoke',
      2,
      async () => {
        starts.push(Date.now() - T0);
        if (starts.length === 1) await gate.promise;
      },
      { stuckAfter: 5 },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(7_000); // started at 2 s; 4 and 6 s skipped; stuck at 7 s
    expect(task.stats).toMatchObject({ stuck: 1, skipped: 2, timeouts: 0, runs: 0 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([2_000, 8_000]);
    gate.resolve(); // it ends well after all: counted then
    await vi.advanceTimersByTimeAsync(0);
    expect(task.stats).toMatchObject({ runs: 2, failures: 0, stuck: 1 });
  });

  it("a run waiting under overlap 'queue' starts once the running one is stuck", async () => {
    const app = newApp();
    const gate = deferred();
    const starts: number[] = [];
    app.background(
      'queue_stuck',
      1,
      async () => {
        starts.push(Date.now() - T0);
        if (starts.length === 1) await gate.promise;
      },
      { overlap: 'queue', timeout: 0.5, stuckAfter: 1.5 },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_499);
    expect(starts).toEqual([1_000]);
    await vi.advanceTimersByTimeAsync(1); // 2.5 s: run 1 is stuck; the 2 s run waiting starts
    expect(starts).toEqual([1_000, 2_500]);
    gate.resolve();
  });
});

describe('misfire', () => {
  it("'coalesce' (default) runs a late run once; 'skip' drops it past misfireGrace and counts it missed", async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:miss']);
    const coalesced: number[] = [];
    const dropped: number[] = [];
    const a = app.background('coalescing', 10, () => void coalesced.push(Date.now() - T0));
    const b = app.background('dropping', 10, () => void dropped.push(Date.now() - T0), {
      misfire: 'skip',
      misfireGrace: 2,
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    // The process sleeps right after the 10 s runs; it wakes at 24.5 s, 4.5 s after the 20 s slot.
    vi.setSystemTime(T0 + 23_500);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(coalesced).toEqual([10_000, 24_500]);
    expect(dropped).toEqual([10_000]);
    expect(a.stats).toMatchObject({ runs: 2, missed: 0 });
    expect(b.stats).toMatchObject({ runs: 1, missed: 1 });
    expect(b.toJSON().missed).toBe(1);
    expect(events).toEqual([
      [
        'task:miss',
        {
          task: 'dropping',
          runId: 0,
          scheduledAt: new Date(T0 + 20_000),
          startedAt: null,
          durationMs: null,
          attempt: 0,
          missed: 1,
        },
      ],
    ]);
    expect(
      logLines().some((l) => l.level === WARN && l.task === 'dropping' && l.missed === 1),
    ).toBe(true);
    await vi.advanceTimersByTimeAsync(6_000); // both back on the grid at 30 s
    expect(coalesced.at(-1)).toBe(30_000);
    expect(dropped.at(-1)).toBe(30_000);
  });

  it("'skip' still runs a run that is late within misfireGrace", async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('tolerant', 10, () => void starts.push(Date.now() - T0), {
      misfire: 'skip',
      misfireGrace: 2,
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    vi.setSystemTime(T0 + 20_500); // wakes at 21.5 s: 1.5 s late
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([10_000, 21_500]);
    expect(task.stats.missed).toBe(0);
  });

  it("'skip' after a long sleep: the late run and every slot slept through count as missed", async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('sleepy', 10, () => void starts.push(Date.now() - T0), {
      misfire: 'skip',
      misfireGrace: 1,
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    vi.setSystemTime(T0 + 54_000); // wakes at 55 s: 20 s is late, 30 … 50 s slept through
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([10_000]);
    expect(task.stats).toMatchObject({ runs: 1, missed: 4 });
    expect(task.nextRunAt).toEqual(new Date(T0 + 60_000));
  });

  it("'skip' measures lateness from a run's jittered due time, so jitter alone never drops a run", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.75);
    const app = newApp();
    const starts: number[] = [];
    const task = app.background('jittery', 10, () => void starts.push(Date.now() - T0), {
      misfire: 'skip',
      misfireGrace: 1,
      jitter: 4,
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(35_000);
    expect(starts).toEqual([13_000, 23_000, 33_000]);
    expect(task.stats.missed).toBe(0);
  });
});

describe('retry', () => {
  it('retries a failed run after backoff, then twice the backoff; a success resets consecutive failures', async () => {
    const app = newApp();
    const events = collectEvents(app, ['task:error', 'task:success']);
    const runs: Array<{ at: number; attempt: number; scheduledAt: number | null }> = [];
    const task = app.background(
      'flaky',
      60,
      ({ attempt, scheduledAt }: TaskRun) => {
        runs.push({ at: Date.now() - T0, attempt, scheduledAt: scheduledAt && scheduledAt - T0 });
        if (runs.length <= 2) throw new Error(`failure ${runs.length}`);
      },
      { retry: { attempts: 2, backoff: 1 } },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(61_000);
    expect(task.stats).toMatchObject({ failures: 2, consecutiveFailures: 2 });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runs).toEqual([
      { at: 60_000, attempt: 0, scheduledAt: 60_000 },
      { at: 61_000, attempt: 1, scheduledAt: 60_000 },
      { at: 63_000, attempt: 2, scheduledAt: 60_000 },
    ]);
    expect(task.stats).toMatchObject({
      runs: 3,
      failures: 2,
      consecutiveFailures: 0,
      lastError: null,
    });
    expect(task.toJSON().consecutive_failures).toBe(0);
    expect(task.history.map((r) => [r.attempt, r.outcome, r.scheduled_at, r.error])).toEqual([
      [0, 'error', iso(T0 + 60_000), 'failure 1'],
      [1, 'error', iso(T0 + 60_000), 'failure 2'],
      [2, 'success', iso(T0 + 60_000), null],
    ]);
    expect(events.map(([name, e]) => [name, e.attempt, e.runId])).toEqual([
      ['task:error', 0, 1],
      ['task:error', 1, 2],
      ['task:success', 2, 3],
    ]);
    // The schedule itself is untouched: next run at 120 s.
    expect(task.nextRunAt).toEqual(new Date(T0 + 120_000));
  });

  it('doubles the backoff each time and stops after the attempts', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background(
      'hopeless',
      60,
      async () => {
        starts.push(Date.now() - T0);
        await sleep(100);
        throw new Error('still broken');
      },
      { retry: { attempts: 3, backoff: 2 } },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(119_000);
    // Each retry counts from the end of the failed run (100 ms later): +2 s, +4 s, +8 s.
    expect(starts).toEqual([60_000, 62_100, 66_200, 74_300]);
    expect(task.stats).toMatchObject({ failures: 4, consecutiveFailures: 4 });
  });

  it('makes no retry that would come after the next scheduled run', async () => {
    const app = newApp();
    const runs: Array<[number, number]> = [];
    app.background(
      'tight',
      10,
      ({ attempt }: TaskRun) => {
        runs.push([Date.now() - T0, attempt]);
        throw new Error('no luck');
      },
      { retry: { attempts: 5, backoff: 3 } },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(20_000);
    // 10 s fails; retries at 13 s and 19 s; the next (31 s) would pass the 20 s run: not made.
    expect(runs).toEqual([
      [10_000, 0],
      [13_000, 1],
      [19_000, 2],
      [20_000, 0],
    ]);
  });

  it('uses a one-second backoff by default, and never retries a trigger', async () => {
    const app = newApp();
    const starts: number[] = [];
    const task = app.background(
      'defaults',
      100,
      () => {
        starts.push(Date.now() - T0);
        throw new Error('nope');
      },
      { retry: { attempts: 1 } },
    );
    await runApp(app);
    expect(await task.trigger()).toBe('failed');
    await vi.advanceTimersByTimeAsync(50_000);
    expect(starts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(51_000);
    expect(starts).toEqual([0, 100_000, 101_000]);
  });

  it('retries a one-time task too; it stays listed until its last attempt has run', async () => {
    const app = newApp();
    const starts: number[] = [];
    const once = app.after(
      5,
      () => {
        starts.push(Date.now() - T0);
        if (starts.length < 3) throw new Error(`attempt ${starts.length} failed`);
      },
      { name: 'once_flaky', retry: { attempts: 2, backoff: 1 } },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(starts).toEqual([5_000]);
    expect(app.backgroundTasks.once_flaky).toBe(once);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(starts).toEqual([5_000, 6_000, 8_000]);
    expect(once.stats).toMatchObject({ runs: 3, failures: 2, consecutiveFailures: 0 });
    expect(app.backgroundTasks.once_flaky).toBeUndefined();
  });
});
