/** Where run histories keep their runs: shared slab regions, given back when their task goes. */
import { describe, expect, it } from 'vitest';
import { RunHistory } from '../../../src/scheduler/run-history.js';

/** A capacity no other test file uses, so that these histories have a slab pool of their own. */
const CAPACITY = 7;
const REGION = CAPACITY * 6;

function addRuns(history: RunHistory, first: number, count: number): void {
  for (let id = first; id < first + count; id++) {
    history.add(id, id * 1000, id * 1000 + 1, 2, 'success', null, 0);
  }
}

describe('RunHistory storage', () => {
  it('takes nothing before its first run, then a region of a shared slab', () => {
    const a = new RunHistory(CAPACITY);
    const b = new RunHistory(CAPACITY);
    expect(a.data).toBeNull();
    addRuns(a, 1, 1);
    addRuns(b, 1, 1);
    expect(a.data).toBe(b.data);
    expect(a.data!.length).toBeGreaterThan(REGION);
    expect(Math.abs(a.base - b.base)).toBeGreaterThanOrEqual(REGION);
  });

  it('keeps its runs when detached, and its region serves the next history', () => {
    const gone = new RunHistory(CAPACITY);
    addRuns(gone, 1, 10);
    const before = gone.list();
    const { data: slab, base } = gone;
    gone.detach();
    expect(gone.data).not.toBe(slab);
    expect(gone.data!.length).toBe(REGION);
    const next = new RunHistory(CAPACITY);
    addRuns(next, 100, 3);
    expect([next.data, next.base]).toEqual([slab, base]);
    expect(gone.list()).toEqual(before);
    expect(next.list().map((r) => r.run_id)).toEqual([100, 101, 102]);
  });

  it('detached before its first run, it never takes a region', () => {
    const early = new RunHistory(CAPACITY);
    early.detach();
    addRuns(early, 1, 2);
    expect(early.data!.length).toBe(REGION);
    expect(early.base).toBe(0);
    expect(early.list().map((r) => r.run_id)).toEqual([1, 2]);
  });
});
