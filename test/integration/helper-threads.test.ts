import { describe, expect, it } from 'vitest';
import { Daebus } from '../../src/index.js';
import { startChild } from '../harness/child-service.js';
import { waitForExit } from './support.js';

interface Priority {
  nice: number;
  policy: number;
}

interface Report {
  pid: string;
  before: Record<string, Priority>;
  after: Record<string, Priority>;
  workerTid: string;
}

/** Linux's numbers for the normal and the idle scheduling class. */
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

/** Runs the fixture in a child process and returns what it printed (and all of its output). */
async function report(env: Record<string, string>): Promise<Report & { output: string }> {
  const child = startChild('test/integration/fixtures/helper-threads.ts', env);
  const code = await waitForExit(child.process, 20_000, child.output);
  expect(code, child.output()).toBe(0);
  const line = child
    .output()
    .split('\n')
    .find((text) => text.startsWith('{"pid"'));
  expect(line, child.output()).toBeDefined();
  return { ...(JSON.parse(line!) as Report), output: child.output() };
}

/**
 * The helper threads of a report: the threads it had before Daebus started,
 * other than the main thread and the worker (`all`), and those of them still
 * running afterwards (`present`).
 */
function helperThreads({ pid, before, after, workerTid }: Report) {
  const all = Object.keys(before).filter((tid) => tid !== pid && tid !== workerTid);
  return { all, present: all.filter((tid) => after[tid] !== undefined) };
}

describe('helper threads', () => {
  it('go to nice 19 and the idle class when the service starts with lowerHelperThreads: true; the main thread and later workers do not', async () => {
    const threads = await report({ LOWER: '1' });
    const { pid, before, after, workerTid } = threads;
    const { all, present } = helperThreads(threads);
    // Node's V8 platform threads at least.
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(present.length).toBeGreaterThanOrEqual(4);
    for (const tid of present) {
      expect(after[tid], `thread ${tid} (needs chrt, from util-linux)`).toEqual({
        nice: 19,
        policy: SCHED_IDLE,
      });
    }
    expect(before[pid]!.policy).toBe(SCHED_OTHER);
    expect(after[pid]).toEqual(before[pid]);
    expect(after[workerTid]).toEqual(before[pid]);
  });

  it('stay at nice 19 where chrt cannot be found, and the debug line says why', async () => {
    const threads = await report({
      LOWER: '1',
      PATH: '/nonexistent',
      EXPECT_IDLE: '0',
      LOG_LEVEL: 'debug',
    });
    const { after, output } = threads;
    const { present } = helperThreads(threads);
    expect(present.length).toBeGreaterThanOrEqual(4);
    for (const tid of present) {
      expect(after[tid], `thread ${tid}`).toEqual({ nice: 19, policy: SCHED_OTHER });
    }
    expect(output).toContain('0 moved to the idle scheduling class');
    expect(output).toContain('chrt was not found (it comes with util-linux)');
  });

  it.each([
    ['by default', {}],
    ['with lowerHelperThreads: false', { LOWER: '0' }],
  ])('keep their priority %s', async (_, env) => {
    const { before, after } = await report(env);
    const helpers = Object.keys(before).filter((tid) => after[tid] !== undefined);
    expect(helpers.length).toBeGreaterThanOrEqual(5);
    for (const tid of helpers) expect(after[tid], `thread ${tid}`).toEqual(before[tid]);
  });

  it('refuses a lowerHelperThreads that is not a boolean', () => {
    expect(() => new Daebus('bad', { lowerHelperThreads: 'yes' as never })).toThrow(
      /lowerHelperThreads must be true or false, got yes/,
    );
  });
});
