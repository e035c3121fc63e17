/**
 * What a run receives, how close() ends runs, and the loggers inside a task.
 */
import { createHook } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { DaebusError, directLogger, logger, type TaskRun } from '../../../src/index.js';
import {
  deferred,
  logLines,
  newApp,
  requestOverMemory,
  runApp,
  T0,
  useSchedulerHarness,
  WARN,
} from './helpers.js';

useSchedulerHarness();

/** Resolves `flag.done` when `promise` settles, so a test can see whether it has. */
function track(promise: Promise<unknown>): { done: boolean } {
  const flag = { done: false };
  void promise.then(() => {
    flag.done = true;
  });
  return flag;
}

describe('what a run receives', () => {
  it('{ signal, task, logger }: the task handle, a live signal, a logger bound to the task', async () => {
    const app = newApp();
    const seen: TaskRun[] = [];
    const abortedDuringRun: boolean[] = [];
    const task = app.background('inspect', 1, (run) => {
      seen.push(run);
      abortedDuringRun.push(run.signal.aborted);
      run.logger.info('hello from the run');
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(seen).toHaveLength(2);
    expect(abortedDuringRun).toEqual([false, false]);
    for (const run of seen) {
      expect(run.task).toBe(task);
      expect(run.task).toBe(app.backgroundTasks.inspect);
      expect(run.signal).toBeInstanceOf(AbortSignal);
    }
    const lines = logLines().filter((l) => l.msg === 'hello from the run');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.task === 'inspect' && l.service === app.service)).toBe(true);
  });

  it('the signal aborts on close(), with a SHUTTING_DOWN reason', async () => {
    const app = newApp();
    let signal: AbortSignal | undefined;
    app.background('watch', 1, (run) => {
      signal = run.signal;
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(signal!.aborted).toBe(false);
    await app.close();
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBeInstanceOf(DaebusError);
    expect((signal!.reason as DaebusError).code).toBe('SHUTTING_DOWN');
  });
});

describe('close()', () => {
  it('a run that stops on the signal lets close() finish at once', async () => {
    const app = newApp({ shutdownTimeout: 5 });
    const task = app.background('cooperative', 1, ({ signal }) => {
      return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.running).toBe(true);
    const closed = track(app.close());
    await vi.advanceTimersByTimeAsync(0);
    expect(closed.done).toBe(true);
    expect(Date.now()).toBe(T0 + 1_000);
    expect(task.stats).toMatchObject({ runs: 1, failures: 0 });
    expect(logLines().some((l) => l.level === WARN && /shutdown timeout/.test(l.msg))).toBe(false);
  });

  it('waits for an in-flight run that ignores the signal until it ends', async () => {
    const app = newApp({ shutdownTimeout: 2 });
    const task = app.background('stubborn', 1, async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    const closed = track(app.close());
    await vi.advanceTimersByTimeAsync(499);
    expect(closed.done).toBe(false);
    expect(app.status).toBe('closing');
    await vi.advanceTimersByTimeAsync(1);
    expect(closed.done).toBe(true);
    expect(app.status).toBe('closed');
    expect(task.stats).toMatchObject({ runs: 1, lastDurationMs: 500 });
  });

  it('gives up on a run that never ends after shutdownTimeout, and no later', async () => {
    const app = newApp({ shutdownTimeout: 2 });
    app.background('hung', 1, () => new Promise<void>(() => undefined));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    const closed = track(app.close());
    await vi.advanceTimersByTimeAsync(1_999);
    expect(closed.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(closed.done).toBe(true);
    const warning = logLines().find((l) => l.level === WARN && /shutdown timeout/.test(l.msg));
    expect(warning).toMatchObject({ abandoned_runs: 1 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind, whatever the tasks were doing', async () => {
    const app = newApp({ shutdownTimeout: 1 });
    const gate = deferred();
    app.background('often', 0.25, () => undefined);
    app.background('rare', 40 * 86_400, () => undefined);
    app.background('paused', 1, () => undefined).pause();
    app.background('busy', 1, () => gate.promise);
    app.after(3_600, () => undefined, { name: 'pending' });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    const closed = app.close();
    gate.resolve();
    await closed;
    expect(vi.getTimerCount()).toBe(0);
    for (const task of Object.values(app.backgroundTasks)) expect(task.nextRunAt).toBeNull();
  });

  it('leaves no async resource behind: each run() makes the scope its timer turns run in, each close() ends it', async () => {
    vi.useRealTimers(); // async hooks report an end on a turn of the real event loop
    const made: number[] = [];
    const ended = new Set<number>();
    const hook = createHook({
      init(asyncId, type) {
        if (type === 'DaebusSchedulerTurn') made.push(asyncId);
      },
      destroy(asyncId) {
        ended.add(asyncId);
      },
    }).enable();
    try {
      const app = newApp();
      app.background('tick', 1, () => undefined);
      await runApp(app);
      await app.close();
      await runApp(app);
      await app.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      hook.disable();
    }
    expect(made).toHaveLength(2);
    expect(made.filter((asyncId) => !ended.has(asyncId))).toEqual([]);
  });

  it('nothing runs after close(), and run() again starts a fresh grid', async () => {
    const app = newApp();
    const starts: number[] = [];
    app.background('again', 10, () => void starts.push(Date.now()));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(10_000);
    await app.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toEqual([T0 + 10_000]);
    await runApp(app); // at T0+70 s
    await vi.advanceTimersByTimeAsync(20_000);
    expect(starts).toEqual([T0 + 10_000, T0 + 80_000, T0 + 90_000]);
    expect(app.backgroundTasks.again!.stats.runs).toBe(3);
  });
});

describe('loggers inside a task', () => {
  it('`logger` carries the task name, also after an await; `directLogger` does not', async () => {
    const app = newApp();
    app.background('chatty', 1, async () => {
      logger.info('via logger');
      directLogger.info('via directLogger');
      await new Promise((resolve) => setTimeout(resolve, 10));
      logger.info('via logger after await');
    });
    await runApp(app);
    logger.info('outside any task');
    await vi.advanceTimersByTimeAsync(1_100);
    const byMsg = (msg: string) => logLines().find((l) => l.msg === msg);
    expect(byMsg('via logger')).toMatchObject({ task: 'chatty', service: app.service });
    expect(byMsg('via logger after await')).toMatchObject({ task: 'chatty' });
    expect(byMsg('via directLogger')).toMatchObject({ service: app.service });
    expect(byMsg('via directLogger')!.task).toBeUndefined();
    expect(byMsg('outside any task')!.task).toBeUndefined();
  });

  it('tasks due in one pass each see their own context; listeners, triggers and the code after the pass see theirs', async () => {
    const app = newApp();
    const seen: Array<[string, string | undefined]> = [];
    const note = (label: string) => {
      logger.info(label);
      seen.push([label, logLines().at(-1)!.task]);
    };
    app.on('task:start', (event) => note(`start listener ${event.task}`));
    app.on('task:error', (event) => note(`error listener ${event.task}`));
    app.on('task:success', (event) => {
      if (event.task === 'async') note('success listener async');
    });
    const other = app.background('other', 3600, () => note('other'));
    app.background('first', 1, () => note('first'));
    app.background('triggering', 1, () => {
      void other.trigger();
      note('triggering after its trigger');
    });
    app.background('failing', 1, () => {
      note('failing');
      throw new Error('boom');
    });
    app.background('async', 1, async () => {
      note('async before await');
      await Promise.resolve();
      note('async after await');
    });
    app.background('last', 1, () => note('last'));
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    note('after the pass');
    expect(seen).toEqual([
      ['start listener first', undefined],
      ['first', 'first'],
      ['start listener triggering', undefined],
      ['start listener other', 'triggering'],
      ['other', 'other'],
      ['triggering after its trigger', 'triggering'],
      ['start listener failing', undefined],
      ['failing', 'failing'],
      ['error listener failing', undefined],
      ['start listener async', undefined],
      ['async before await', 'async'],
      ['start listener last', undefined],
      ['last', 'last'],
      ['async after await', 'async'],
      ['success listener async', undefined],
      ['after the pass', undefined],
    ]);
  });

  it('on real timers, a pass leaves no task context behind: the next pass begins outside any task', async () => {
    vi.useRealTimers();
    const app = newApp();
    const startListener: Array<string | undefined> = [];
    app.on('task:start', () => {
      logger.info('start listener');
      startListener.push(logLines().at(-1)!.task);
    });
    let runs = 0;
    app.background('ticking', 0.02, () => {
      runs++;
      logger.info('tick');
    });
    await runApp(app);
    while (runs < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(startListener.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(
      logLines()
        .filter((l) => l.msg === 'tick')
        .every((l) => l.task === 'ticking'),
    ).toBe(true);
  });

  it('on real timers, a task added inside an action handler runs in its own context, and the pass around it in none', async () => {
    vi.useRealTimers();
    const app = newApp();
    const startListener: Array<{ action: unknown; task: unknown }> = [];
    const ran = deferred();
    app.on('task:start', () => {
      logger.info('start listener');
      const line = logLines().at(-1)!;
      startListener.push({ action: line.action, task: line.task });
    });
    // The app has no other task: the scheduler's timer is set inside the handler's context.
    app.action('add_task', () => {
      app.background('added', 0.02, () => {
        logger.info('added runs');
        ran.resolve();
      });
      return { added: true };
    });
    const service = await runApp(app);
    const reply = await requestOverMemory(service, 'add_task', {});
    expect(reply).toMatchObject({ status: 'success', payload: { added: true } });
    await ran.promise;
    expect(startListener[0]).toEqual({ action: undefined, task: undefined });
    const runLine = logLines().find((l) => l.msg === 'added runs')!;
    expect(runLine).toMatchObject({ task: 'added' });
    expect(runLine.action).toBeUndefined();
  });

  it('on real timers, a pass that used up its turn goes on at the next turn of the event loop, not a timer later', async () => {
    vi.useRealTimers();
    const nextTurns = vi.spyOn(globalThis, 'setImmediate');
    try {
      const app = newApp();
      const base = Date.now() + 100;
      let follows = 0;
      // Runs for 2 ms, which ends its turn; the next task is due a millisecond after it ends.
      app.background(
        'long',
        0.05,
        () => {
          const until = performance.now() + 2;
          while (performance.now() < until);
        },
        { startAt: base },
      );
      app.background(
        'follows',
        0.05,
        () => {
          follows++;
        },
        { startAt: base + 3 },
      );
      await runApp(app);
      while (follows < 5) await new Promise((resolve) => setTimeout(resolve, 10));
      // A timer would come a millisecond or more late; a loaded machine may run the two in one pass.
      expect(nextTurns).toHaveBeenCalled();
    } finally {
      nextTurns.mockRestore();
    }
  });

  it('two tasks whose runs interleave each keep their own name', async () => {
    const app = newApp();
    const gateA = deferred();
    const gateB = deferred();
    app.background('task_a', 1, async () => {
      await gateA.promise;
      logger.info('done');
    });
    app.background('task_b', 1, async () => {
      await gateB.promise;
      logger.info('done');
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    gateB.resolve();
    await vi.advanceTimersByTimeAsync(0);
    gateA.resolve();
    await vi.advanceTimersByTimeAsync(0);
    const done = logLines().filter((l) => l.msg === 'done');
    expect(done.map((l) => l.task)).toEqual(['task_b', 'task_a']);
  });
});
