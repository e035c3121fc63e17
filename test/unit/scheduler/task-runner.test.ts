/**
 * The task runner's recording of runs that ended well during a timer pass:
 * at the end of the pass, or, while runs come due in a burst, once it has
 * passed (within a bound), and always before statistics are read.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppHandle } from '../../../src/context/app-handle.js';
import { listRuns, readCounters } from '../../../src/scheduler/run-records.js';
import { resolveTaskOptions } from '../../../src/scheduler/task-options.js';
import { type RunnerHost, TaskRunner } from '../../../src/scheduler/task-runner.js';
import { type TaskFunction, TaskState } from '../../../src/scheduler/task-state.js';
import { T0 } from './helpers.js';

const app: AppHandle = {
  service: 'runner_test',
  instance: 'i1',
  log: pino({ level: 'silent' }),
  cacheClient: null,
  publish: async () => 0,
  shutdownSignal: new AbortController().signal,
};

function newRunner(): { runner: TaskRunner; events: string[] } {
  const events: string[] = [];
  const host: RunnerHost = {
    app,
    events: {
      wants: () => true,
      emit: (event, payload) => {
        events.push(`${event} ${payload.task} ${payload.runId}`);
      },
    },
    lock: null,
    scheduleRetry: () => undefined,
    onceFinished: () => undefined,
    track: () => undefined,
  };
  return { runner: new TaskRunner(host), events };
}

function newTask(name: string, fn: TaskFunction = () => undefined): TaskState {
  return new TaskState(name, 'interval', 1000, fn, resolveTaskOptions(name, undefined));
}

const runs = (state: TaskState) => readCounters(state).runs;

/** One timer pass: runs each task for its slot, then ends with the next run due `nextDueIn` ms away. */
function pass(runner: TaskRunner, nextDueIn: number, ...due: Array<[TaskState, number]>): void {
  runner.beginPass();
  for (const [task, slot] of due) runner.execute(task, slot, 0);
  runner.endPass(nextDueIn);
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('recording runs that ended in a timer pass', () => {
  it('happens at the end of the pass, after every due run has started', () => {
    const { runner, events } = newRunner();
    const a = newTask('a');
    const b = newTask('b', () => {
      // a has ended, but is not recorded while the pass still starts runs.
      expect(runs(a)).toBe(0);
    });
    runner.beginPass();
    runner.execute(a, T0, 0);
    runner.execute(b, T0, 0);
    runner.endPass(Number.POSITIVE_INFINITY);
    expect([runs(a), runs(b)]).toEqual([1, 1]);
    expect(events).toEqual([
      'task:start a 1',
      'task:start b 1',
      'task:success a 1',
      'task:success b 1',
    ]);
  });

  it('waits while the next run is due within 5 ms, so that it does not delay it', () => {
    const { runner } = newRunner();
    const a = newTask('a');
    pass(runner, 4.9, [a, T0]);
    expect(runs(a)).toBe(0);
    pass(runner, 5);
    expect(runs(a)).toBe(1);
  });

  it('waits while the scheduler is behind, and is made as soon as statistics are read outside a pass', () => {
    const { runner, events } = newRunner();
    const a = newTask('a');
    pass(runner, 0, [a, T0]);
    expect(runs(a)).toBe(0);
    runner.beginPass();
    runner.execute(a, T0 + 1000, 0);
    // Inside a pass, reading does not record (the pass's own runs wait for its end).
    runner.recordEnded();
    expect(runs(a)).toBe(0);
    runner.endPass(0);
    runner.recordEnded();
    expect(runs(a)).toBe(2);
    expect(listRuns(a).map((run) => run.run_id)).toEqual([1, 2]);
    expect(events.filter((e) => e.startsWith('task:success'))).toEqual([
      'task:success a 1',
      'task:success a 2',
    ]);
  });

  it('waits at most 100 ms during a burst', () => {
    const { runner } = newRunner();
    const a = newTask('a');
    pass(runner, 0, [a, T0]);
    vi.setSystemTime(T0 + 99);
    pass(runner, 0);
    expect(runs(a)).toBe(0);
    vi.setSystemTime(T0 + 100);
    pass(runner, 0);
    expect(runs(a)).toBe(1);
  });

  it('a failure is recorded after the successes that ended before it, keeping the history in order', () => {
    const { runner } = newRunner();
    let fail = false;
    const a = newTask('a', () => {
      if (fail) throw new Error('boom');
    });
    pass(runner, 0, [a, T0]);
    fail = true;
    pass(runner, 0, [a, T0 + 1000]);
    expect(listRuns(a).map((run) => [run.run_id, run.outcome])).toEqual([
      [1, 'success'],
      [2, 'error'],
    ]);
  });
});

describe('the start time of a run in a timer pass', () => {
  const startedAt = (state: TaskState) => listRuns(state).map((run) => Date.parse(run.started_at));

  it('is when the run before it ended: runs follow each other with nothing in between', () => {
    const { runner } = newRunner();
    const slow = newTask('slow', () => {
      vi.setSystemTime(Date.now() + 7);
    });
    const next = newTask('next');
    pass(runner, Number.POSITIVE_INFINITY, [slow, T0], [next, T0]);
    expect(startedAt(slow)).toEqual([T0]);
    expect(listRuns(slow)[0]!.duration_ms).toBe(7);
    expect(startedAt(next)).toEqual([T0 + 7]);
  });

  it('is read from the clock again after the pass slept, after a warning, and in each new pass', () => {
    const { runner } = newRunner();
    const a = newTask('a');
    const b = newTask('b');
    const c = newTask('c');
    runner.beginPass();
    runner.execute(a, T0, 0);
    // The scheduler slept until the next run was due.
    vi.setSystemTime(T0 + 2);
    runner.clockMoved();
    runner.execute(b, T0 + 2, 0);
    // A missed run is warned about (which takes its time) before the next run.
    runner.missed(c, 1);
    vi.setSystemTime(T0 + 3);
    runner.execute(c, T0 + 3, 0);
    runner.endPass(Number.POSITIVE_INFINITY);
    vi.setSystemTime(T0 + 1000);
    pass(runner, Number.POSITIVE_INFINITY, [a, T0 + 1000]);
    expect([startedAt(a), startedAt(b), startedAt(c)]).toEqual([
      [T0, T0 + 1000],
      [T0 + 2],
      [T0 + 3],
    ]);
  });
});
