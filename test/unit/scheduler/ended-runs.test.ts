/** The buffer of runs a timer pass records after it has started every due run. */
import { describe, expect, it } from 'vitest';
import { EndedRuns } from '../../../src/scheduler/ended-runs.js';
import { FINISHED_RUN } from '../../../src/scheduler/run-records.js';
import type { TaskState } from '../../../src/scheduler/task-state.js';

const stateA = { name: 'a' } as TaskState;
const stateB = { name: 'b' } as TaskState;

type Fields = [runId: number, slot: number, attempt: number, startedAt: number, endedAt: number];

/** The numbers of the run at `at`, in the order `add` takes them (its end from its duration). */
function fieldsAt(numbers: Float64Array, at: number): Fields {
  const field = (offset: number) => numbers[at + offset]!;
  const { runId, slot, attempt, startedAt, durationMs } = FINISHED_RUN;
  const start = field(startedAt);
  return [field(runId), field(slot), field(attempt), start, start + field(durationMs)];
}

function drainAll(runs: EndedRuns): Array<[string, ...Fields]> {
  const recorded: Array<[string, ...Fields]> = [];
  runs.drain((state, numbers, at) => {
    recorded.push([state.name, ...fieldsAt(numbers, at)]);
  });
  return recorded;
}

describe('EndedRuns', () => {
  it('hands runs back oldest first, with every field as given', () => {
    const runs = new EndedRuns();
    runs.add(stateA, 1, 1_000, 0, 1_001, 1_002.5);
    runs.add(stateB, 7, 2_000, 2, 2_003, 2_010);
    expect(runs.size).toBe(2);
    expect(drainAll(runs)).toEqual([
      ['a', 1, 1_000, 0, 1_001, 1_002.5],
      ['b', 7, 2_000, 2, 2_003, 2_010],
    ]);
  });

  it('keeps a trigger (no slot) as NaN', () => {
    const runs = new EndedRuns();
    runs.add(stateA, 3, Number.NaN, 0, 5, 6);
    expect(drainAll(runs)).toEqual([['a', 3, Number.NaN, 0, 5, 6]]);
  });

  it('is empty after a drain, and reusable', () => {
    const runs = new EndedRuns();
    runs.add(stateA, 1, 10, 0, 11, 12);
    drainAll(runs);
    expect(runs.size).toBe(0);
    expect(drainAll(runs)).toEqual([]);
    runs.add(stateB, 2, 20, 1, 21, 22);
    expect(drainAll(runs)).toEqual([['b', 2, 20, 1, 21, 22]]);
  });

  it('grows past its first size and keeps every run, also when a drain adds more', () => {
    const runs = new EndedRuns();
    for (let i = 1; i <= 200; i++)
      runs.add(i % 2 === 0 ? stateA : stateB, i, i * 10, 0, i, i + 0.5);
    const seen: number[] = [];
    runs.drain((state, numbers, at) => {
      const [runId, slot, , startedAt, endedAt] = fieldsAt(numbers, at);
      expect(state).toBe(runId % 2 === 0 ? stateA : stateB);
      expect([slot, startedAt, endedAt]).toEqual([runId * 10, runId, runId + 0.5]);
      seen.push(runId);
      // The first run's listener adds another 300: the buffer grows while it is read.
      if (runId === 1) {
        for (let i = 201; i <= 500; i++)
          runs.add(i % 2 === 0 ? stateA : stateB, i, i * 10, 0, i, i + 0.5);
      }
    });
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(runs.size).toBe(0);
  });

  it('also records a run added while it drains', () => {
    const runs = new EndedRuns();
    runs.add(stateA, 1, 10, 0, 11, 12);
    const seen: number[] = [];
    runs.drain((_state, numbers, at) => {
      const [runId] = fieldsAt(numbers, at);
      seen.push(runId);
      if (runId === 1) runs.add(stateB, 2, 20, 0, 21, 22);
    });
    expect(seen).toEqual([1, 2]);
    expect(runs.size).toBe(0);
  });

  it('hands each run out once when a drain starts another (a listener that records)', () => {
    const runs = new EndedRuns();
    for (let i = 1; i <= 4; i++) runs.add(stateA, i, i, 0, i, i);
    const seen: number[] = [];
    const record = (_state: TaskState, numbers: Float64Array, at: number) => {
      const [runId] = fieldsAt(numbers, at);
      seen.push(runId);
      if (runId === 2) runs.drain(record);
    };
    runs.drain(record);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(runs.size).toBe(0);
  });

  it('knows when its oldest waiting run ended', () => {
    const runs = new EndedRuns();
    runs.add(stateA, 1, 10, 0, 11, 12);
    runs.add(stateB, 2, 20, 0, 21, 25);
    expect(runs.oldestEndedAt).toBe(12);
    drainAll(runs);
    runs.add(stateB, 3, 30, 0, 31, 33);
    expect(runs.oldestEndedAt).toBe(33);
  });
});
