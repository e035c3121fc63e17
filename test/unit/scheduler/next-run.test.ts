/**
 * The first slot of a plain interval task, placed by the short way that
 * registration takes for the usual task, is the one the general rules give.
 */
import { describe, expect, it } from 'vitest';
import { placeFirstSlot, placePlainFirstSlot } from '../../../src/scheduler/next-run.js';
import { TIME_FIELDS } from '../../../src/scheduler/schedule-times.js';
import { TASK_DEFAULTS } from '../../../src/scheduler/task-options.js';
import { TaskState } from '../../../src/scheduler/task-state.js';

const rowOf = (state: TaskState) =>
  Array.from(state.times.subarray(state.timesBase, state.timesBase + TIME_FIELDS));

describe('placePlainFirstSlot', () => {
  it.each([
    [1_000, 1_764_000_000_000],
    [100, 1_764_000_000_123.456],
    [1_500, 1_764_000_000_999.999],
    [3_600_000, 0.25],
  ])('with an interval of %d ms from %d, gives the row placeFirstSlot gives', (intervalMs, now) => {
    const general = new TaskState(
      'general',
      'interval',
      intervalMs,
      () => undefined,
      TASK_DEFAULTS,
    );
    const plain = new TaskState('plain', 'interval', intervalMs, () => undefined, TASK_DEFAULTS);
    placeFirstSlot(general, now);
    const due = placePlainFirstSlot(plain, now);
    expect(rowOf(plain)).toEqual(rowOf(general));
    expect(due).toBe(general.slotDue);
    expect(plain.slot).toBe(now + intervalMs);
    expect(plain.index).toBe(1);
    expect(plain.anchor).toBe(now);
    expect(plain.lastSlot).toBe(now);
  });
});
