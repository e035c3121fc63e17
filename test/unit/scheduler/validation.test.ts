/** What `app.background`, `app.after` and the interval setter refuse, and how they say so. */
import { describe, expect, it, vi } from 'vitest';
import { type BackgroundTask, DaebusError } from '../../../src/index.js';
import { newApp, runApp, T0, useSchedulerHarness } from './helpers.js';

useSchedulerHarness();

const noop = (): void => undefined;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, got none');
}

function expectCode(fn: () => unknown, code: string, messagePart?: string): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(DaebusError);
  expect((err as DaebusError).code).toBe(code);
  if (messagePart !== undefined) expect((err as Error).message).toContain(messagePart);
}

/** Bad intervals and how the message must show each. */
const BAD_INTERVALS: [unknown, string][] = [
  [0, 'got 0'],
  [-5, 'got -5'],
  [Number.NaN, 'got NaN'],
  [Number.POSITIVE_INFINITY, 'got Infinity'],
  [Number.NEGATIVE_INFINITY, 'got -Infinity'],
  ['5', 'got "5"'],
  [undefined, 'got undefined'],
  [null, 'got null'],
  [0.0001, 'got 0.0001'],
];

describe('interval validation', () => {
  it.each(BAD_INTERVALS)(
    'app.background(name, %s) throws a RangeError that shows the value',
    (bad, shown) => {
      const app = newApp();
      const err = thrown(() => app.background('bad', bad as number, noop));
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).message).toContain('interval');
      expect((err as Error).message).toContain(shown);
      expect('bad' in app.backgroundTasks).toBe(false);
    },
  );

  it.each(BAD_INTERVALS)(
    'setting interval = %s throws a RangeError and changes nothing',
    async (bad, shown) => {
      const app = newApp();
      const task = app.background('steady', 10, noop);
      await runApp(app);
      await vi.advanceTimersByTimeAsync(3_000);
      const err = thrown(() => {
        app.backgroundTasks.steady!.interval = bad as number;
      });
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).message).toContain(shown);
      expect(task.interval).toBe(10);
      expect(task.nextRunAt).toEqual(new Date(T0 + 10_000));
    },
  );

  it('accepts the smallest interval (1 ms) and fractions', () => {
    const app = newApp();
    expect(app.background('fast', 0.001, noop).interval).toBe(0.001);
    expect(app.background('quarter', 0.25, noop).interval).toBe(0.25);
  });

  it.each([
    [-1, 'got -1'],
    [Number.NaN, 'got NaN'],
    ['5', 'got "5"'],
    [Number.POSITIVE_INFINITY, 'got Infinity'],
  ])('app.after(%s) throws a RangeError that shows the value', (bad, shown) => {
    const app = newApp();
    const err = thrown(() => app.after(bad as number, noop));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toContain('delay');
    expect((err as Error).message).toContain(shown);
    expect(Object.keys(app.backgroundTasks)).toEqual([]);
  });
});

describe('names', () => {
  it('a second task with the same name throws DUPLICATE_NAME and leaves the first alone', async () => {
    const app = newApp();
    let firstRuns = 0;
    const first = app.background('dup', 1, () => {
      firstRuns++;
    });
    expectCode(() => app.background('dup', 5, noop), 'DUPLICATE_NAME', '"dup"');
    expectCode(() => app.after(5, noop, { name: 'dup' }), 'DUPLICATE_NAME', '"dup"');
    expect(app.backgroundTasks.dup).toBe(first);
    expect(first.interval).toBe(1);
    await runApp(app);
    expectCode(() => app.background('dup', 5, noop), 'DUPLICATE_NAME');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(firstRuns).toBe(3);
  });

  it('rejects empty, reserved, overlong and non-string names with INVALID_NAME', () => {
    const app = newApp();
    expectCode(() => app.background('', 1, noop), 'INVALID_NAME', 'empty');
    expectCode(() => app.background('daebus:tasks', 1, noop), 'INVALID_NAME', 'daebus:tasks');
    expectCode(() => app.background('x'.repeat(257), 1, noop), 'INVALID_NAME', '257');
    expectCode(() => app.background(42 as unknown as string, 1, noop), 'INVALID_NAME');
    expectCode(() => app.after(1, noop, { name: 'daebus:later' }), 'INVALID_NAME', 'daebus:later');
    expectCode(() => app.after(1, noop, { name: '' }), 'INVALID_NAME');
    expect(Object.keys(app.backgroundTasks)).toEqual([]);
  });

  it('rejects a task body that is not a function, and bad options', () => {
    const app = newApp();
    expectCode(
      () => app.background('nofn', 1, 'run me' as unknown as () => void),
      'INVALID_CONFIG',
      '"run me"',
    );
    expectCode(
      () => app.background('opts', 1, noop, { immediate: 'yes' as unknown as boolean }),
      'INVALID_CONFIG',
      'immediate',
    );
    expectCode(() => app.after(1, null as unknown as () => void), 'INVALID_CONFIG');
    expect(Object.keys(app.backgroundTasks)).toEqual([]);
  });

  it('a one-time task has no interval to set', async () => {
    const app = newApp();
    const once: BackgroundTask = app.after(5, noop, { name: 'later' });
    expectCode(
      () => {
        once.interval = 10;
      },
      'INVALID_CONFIG',
      'one-time',
    );
    await runApp(app);
    expect(once.nextRunAt).toEqual(new Date(T0 + 5_000));
  });
});

describe('options that contradict each other or the schedule', () => {
  it('rejects a cron expression that never fires', () => {
    const app = newApp();
    expectCode(
      () => app.background('feb30', { cron: '0 0 0 30 2 *' }, noop),
      'INVALID_CONFIG',
      'never fires',
    );
    expect(Object.keys(app.backgroundTasks)).toEqual([]);
  });

  it('a live change to a cron expression that never fires is refused and changes nothing', async () => {
    const app = newApp();
    const task = app.background('daily', { cron: '0 0 3 * * *' }, noop);
    await runApp(app);
    const before = task.nextRunAt;
    expectCode(
      () => {
        task.cron = '0 0 0 31 4 *';
      },
      'INVALID_CONFIG',
      'never fires',
    );
    expect(task.cron).toBe('0 0 3 * * *');
    expect(task.nextRunAt).toEqual(before);
  });

  it('rejects stuckAfter shorter than timeout, and accepts it equal', () => {
    const app = newApp();
    expectCode(
      () => app.background('stuck', 10, noop, { timeout: 5, stuckAfter: 2 }),
      'INVALID_CONFIG',
      'shorter than its timeout',
    );
    expect(() => app.background('edge', 10, noop, { timeout: 5, stuckAfter: 5 })).not.toThrow();
  });

  it('rejects a jitter as long as the interval, at registration and on a live change', async () => {
    const app = newApp();
    expectCode(
      () => app.background('jumpy', 2, noop, { jitter: 2 }),
      'INVALID_CONFIG',
      'shorter than its interval',
    );
    const task = app.background('calm', 10, noop, { jitter: 3 });
    await runApp(app);
    expectCode(
      () => {
        task.interval = 3;
      },
      'INVALID_CONFIG',
      'shorter than its interval',
    );
    expect(task.interval).toBe(10);
    task.interval = 4;
    expect(task.interval).toBe(4);
  });
});
