/**
 * The times of tasks' schedules: a row of numbers per task in shared slabs,
 * taken when the task's state is made, moved out when the task goes.
 */
import { describe, expect, it } from 'vitest';
import {
  detachTimes,
  LAST_SLOT,
  SLOT,
  SLOT_DUE,
  TIME_FIELDS,
  type TimesHolder,
  takeTimes,
} from '../../../src/scheduler/schedule-times.js';
import { resolveTaskOptions } from '../../../src/scheduler/task-options.js';
import { TaskState } from '../../../src/scheduler/task-state.js';

function newHolder(): TimesHolder {
  const holder: TimesHolder = { times: new Float64Array(0), timesBase: 0 };
  takeTimes(holder);
  return holder;
}

const rowOf = (holder: TimesHolder) =>
  Array.from(holder.times.subarray(holder.timesBase, holder.timesBase + TIME_FIELDS));

describe('schedule times storage', () => {
  it('gives each holder a row of its own in a shared slab, every number NaN', () => {
    const a = newHolder();
    const b = newHolder();
    expect(a.times.length).toBeGreaterThan(TIME_FIELDS);
    expect(rowOf(a).every(Number.isNaN)).toBe(true);
    a.times[a.timesBase + SLOT] = 1000;
    b.times[b.timesBase + SLOT] = 2000;
    expect(a.times[a.timesBase + SLOT]).toBe(1000);
    expect(b.times[b.timesBase + SLOT]).toBe(2000);
    expect(a.times === b.times && a.timesBase === b.timesBase).toBe(false);
  });

  it('keeps a detached holder’s times in an array of its own and hands its row to the next holder, cleared', () => {
    const gone = newHolder();
    gone.times[gone.timesBase + SLOT_DUE] = 5;
    gone.times[gone.timesBase + LAST_SLOT] = 7;
    const { times: slab, timesBase: row } = gone;

    detachTimes(gone);
    expect(gone.times).not.toBe(slab);
    expect(gone.times.length).toBe(TIME_FIELDS);
    expect(gone.times[SLOT_DUE]).toBe(5);
    expect(gone.times[LAST_SLOT]).toBe(7);
    detachTimes(gone); // twice is fine
    expect(gone.times[SLOT_DUE]).toBe(5);

    const next = newHolder();
    expect(next.times).toBe(slab);
    expect(next.timesBase).toBe(row);
    expect(rowOf(next).every(Number.isNaN)).toBe(true);
    // The detached holder is not disturbed by the row's new holder.
    next.times[next.timesBase + SLOT_DUE] = 99;
    expect(gone.times[SLOT_DUE]).toBe(5);
  });

  it('backs a task state’s times: each state reads and writes its own', () => {
    const options = resolveTaskOptions('t', undefined);
    const first = new TaskState('first', 'interval', 1000, () => undefined, options);
    const second = new TaskState('second', 'interval', 2000, () => undefined, options);
    first.slot = 10_000.5;
    first.slotDue = 10_001;
    second.slot = 20_000;
    expect([first.intervalMs, first.slot, first.slotDue]).toEqual([1000, 10_000.5, 10_001]);
    expect([second.intervalMs, second.slot]).toEqual([2000, 20_000]);
    expect(Number.isNaN(second.slotDue)).toBe(true);
    detachTimes(first);
    expect([first.intervalMs, first.slot, first.slotDue]).toEqual([1000, 10_000.5, 10_001]);
  });
});
