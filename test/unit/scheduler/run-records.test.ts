/**
 * A task's run records: counters and history as numbers in a shared slab
 * region, taken on the first use, given back when the task goes.
 */
import { describe, expect, it } from 'vitest';
import {
  addToCounter,
  detachRuns,
  listRuns,
  noteRun,
  type RunRecordsHolder,
  readCounters,
} from '../../../src/scheduler/run-records.js';

/** A history size no other test file uses, so that these holders have a slab pool of their own. */
const CAPACITY = 7;
/** Two records of counters, then the ring; six numbers each. */
const REGION = (2 + CAPACITY) * 6;

function newHolder(historySize = CAPACITY): RunRecordsHolder {
  return {
    options: { historySize },
    runData: null,
    runBase: 0,
    runStride: 0,
    failureLog: null,
    recordsDetached: false,
  };
}

function addRuns(holder: RunRecordsHolder, first: number, count: number): void {
  for (let id = first; id < first + count; id++) {
    noteRun(holder, id, id * 1000, 0, id * 1000 + 1, 2, 'success', null);
  }
}

const runIds = (holder: RunRecordsHolder) => listRuns(holder).map((run) => run.run_id);

describe('run records storage', () => {
  it('takes nothing before the first run, then a region of a shared slab', () => {
    const a = newHolder();
    const b = newHolder();
    expect(a.runData).toBeNull();
    addRuns(a, 1, 1);
    addRuns(b, 1, 1);
    expect(a.runData).toBe(b.runData);
    expect(a.runData!.length).toBeGreaterThan(REGION);
    // Record by record: the counters of the two sit side by side, their rings rows further.
    expect(b.runBase - a.runBase).toBe(6);
    expect(a.runStride).toBe(b.runStride);
    expect(a.runStride * (2 + CAPACITY)).toBeLessThanOrEqual(a.runData!.length);
    addRuns(a, 2, 1);
    expect(a.runData![a.runBase + 3 * a.runStride]).toBe(2); // a's second run, in ring record 1
    expect(a.runData![a.runBase + 2 * a.runStride + 6]).toBe(1); // b's first run, untouched
  });

  it('keeps the last runs in order over many turns of its ring, beside its neighbours', () => {
    const holders = Array.from({ length: 5 }, () => newHolder());
    for (let run = 1; run <= 30; run++) {
      for (const [i, holder] of holders.entries()) addRuns(holder, run * 10 + i, 1);
    }
    for (const [i, holder] of holders.entries()) {
      const expected = Array.from({ length: CAPACITY }, (_, k) => (30 - CAPACITY + 1 + k) * 10 + i);
      expect(runIds(holder)).toEqual(expected);
      expect(readCounters(holder).runs).toBe(30);
    }
  });

  it('keeps its records when detached, and its region serves the next task from zero', () => {
    const gone = newHolder();
    addRuns(gone, 1, 10);
    addToCounter(gone, 'skipped', 3);
    const before = listRuns(gone);
    const counters = readCounters(gone);
    const { runData: slab, runBase: base } = gone;
    detachRuns(gone);
    expect(gone.runData).not.toBe(slab);
    expect(gone.runData!.length).toBe(REGION);
    const next = newHolder();
    addRuns(next, 100, 3);
    expect([next.runData, next.runBase]).toEqual([slab, base]);
    expect(listRuns(gone)).toEqual(before);
    expect(readCounters(gone)).toEqual(counters);
    expect(runIds(next)).toEqual([100, 101, 102]);
    expect(readCounters(next)).toMatchObject({ runs: 3, skipped: 0, totalDurationMs: 6 });
  });

  it('detached before its first run, it never takes a region', () => {
    const early = newHolder();
    detachRuns(early);
    addRuns(early, 1, 2);
    expect(early.runData!.length).toBe(REGION);
    expect(early.runBase).toBe(0);
    expect(runIds(early)).toEqual([1, 2]);
  });
});

describe('run records counters', () => {
  it('reads as zero before anything happened, without taking a region', () => {
    const holder = newHolder();
    const counters = readCounters(holder);
    expect(counters).toMatchObject({ runs: 0, failures: 0, skipped: 0, lastError: null });
    expect(counters.lastRunAt).toBeNaN();
    expect(counters.lastDurationMs).toBeNaN();
    expect(listRuns(holder)).toEqual([]);
    expect(holder.runData).toBeNull();
  });

  it('counts runs, failures in a row, durations and the latest error', () => {
    const holder = newHolder();
    noteRun(holder, 1, 1000, 0, 1001, 5, 'success', null);
    noteRun(holder, 2, 2000, 0, 2001, 9, 'error', 'boom');
    noteRun(holder, 3, 2000, 1, 2501, 0, 'timeout', 'too slow');
    expect(readCounters(holder)).toMatchObject({
      runs: 3,
      failures: 2,
      consecutiveFailures: 2,
      lastRunAt: 2501,
      lastDurationMs: 0,
      totalDurationMs: 14,
      maxDurationMs: 9,
      lastError: 'too slow',
    });
    noteRun(holder, 4, 3000, 0, 3001, 1, 'success', null);
    expect(readCounters(holder)).toMatchObject({
      runs: 4,
      failures: 2,
      consecutiveFailures: 0,
      lastError: null,
    });
    expect(listRuns(holder).map((run) => [run.outcome, run.error, run.attempt])).toEqual([
      ['success', null, 0],
      ['error', 'boom', 0],
      ['timeout', 'too slow', 1],
      ['success', null, 0],
    ]);
  });

  it('adds to the rarer counters and says the new count', () => {
    const holder = newHolder();
    expect(addToCounter(holder, 'skipped')).toBe(1);
    expect(addToCounter(holder, 'skipped')).toBe(2);
    expect(addToCounter(holder, 'missed', 4)).toBe(4);
    expect(addToCounter(holder, 'timeouts')).toBe(1);
    expect(addToCounter(holder, 'stuck')).toBe(1);
    expect(addToCounter(holder, 'elsewhere')).toBe(1);
    expect(readCounters(holder)).toMatchObject({
      runs: 0,
      skipped: 2,
      missed: 4,
      timeouts: 1,
      stuck: 1,
      elsewhere: 1,
    });
  });

  it('with a history size of 0, counts runs and keeps none', () => {
    const holder = newHolder(0);
    noteRun(holder, 1, 1000, 0, 1001, 3, 'error', 'boom');
    expect(readCounters(holder)).toMatchObject({ runs: 1, failures: 1, lastError: 'boom' });
    expect(listRuns(holder)).toEqual([]);
  });
});
