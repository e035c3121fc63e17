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
    // Record by record: the first runs of the two sit side by side, their second runs a row further.
    expect(b.base - a.base).toBe(6);
    expect(a.stride).toBe(b.stride);
    expect(a.stride * CAPACITY).toBeLessThanOrEqual(a.data!.length);
    addRuns(a, 2, 1);
    expect(a.data![a.base + a.stride]).toBe(2);
    expect(a.data![a.base + 6]).toBe(1); // b's first run, untouched
  });

  it('keeps the last runs in order over many turns of its ring, beside its neighbours', () => {
    const histories = Array.from({ length: 5 }, () => new RunHistory(CAPACITY));
    for (let run = 1; run <= 30; run++) {
      for (const [i, history] of histories.entries()) addRuns(history, run * 10 + i, 1);
    }
    for (const [i, history] of histories.entries()) {
      const expected = Array.from({ length: CAPACITY }, (_, k) => (30 - CAPACITY + 1 + k) * 10 + i);
      expect(history.list().map((r) => r.run_id)).toEqual(expected);
    }
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
