import { cutRegion, returnRegion } from './record-slab.js';

/**
 * The times of tasks' schedules: a row of {@link TIME_FIELDS} numbers per
 * task, cut from the shared `Float64Array` slabs of `record-slab.ts`,
 * instead of number fields on the task's state.
 *
 * V8 keeps a number field that holds fractions or epoch milliseconds in a
 * box of its own (a heap number of 16 bytes, one object per field), so the
 * time fields made six more objects per task. With thousands of tasks, the
 * garbage collector copies and marks every one of them: giving each of the
 * scheduler benchmark's 10,000 baseline timers one object with six such
 * numbers raised the baseline's CPU time over 20 s from 260 to 284 ms
 * (medians of three). A row in a slab is no object at all.
 *
 * A task takes a row when its state is made and keeps it while registered;
 * once removed, its times move to an array of its own (the state may still be
 * read through its handle) and the row goes back for the next task.
 */

// A row's numbers, epoch milliseconds unless said otherwise (NaN when unset).
/** Interval tasks: the interval (ms). One-time tasks: the delay (ms). */
export const INTERVAL = 0;
/** Interval tasks: where the grid starts. */
export const ANCHOR = 1;
/** Interval tasks: the position of the pending slot on the grid (run k is due at anchor + k × interval). */
export const INDEX = 2;
/** The nominal time of the pending slot. */
export const SLOT = 3;
/** When the pending slot is due (the slot plus its jitter): a queued task waits in the timer queue for this time. */
export const SLOT_DUE = 4;
/** The slot that fired last, or when the task was started before any run. */
export const LAST_SLOT = 5;

/** Numbers per row. */
export const TIME_FIELDS = 6;

/** What holds a row: its numbers are `times[timesBase]` to `times[timesBase + TIME_FIELDS - 1]`. */
export interface TimesHolder {
  times: Float64Array;
  timesBase: number;
}

/** Gives `holder` a row of times, every number NaN, cut from the shared slabs (see record-slab.ts). */
export function takeTimes(holder: TimesHolder): void {
  const cut = cutRegion(1, TIME_FIELDS);
  holder.times = cut.slab;
  holder.timesBase = cut.base;
  holder.times.fill(Number.NaN, holder.timesBase, holder.timesBase + TIME_FIELDS);
}

/**
 * Moves `holder`'s times to an array of its own and gives its row back.
 * Does nothing when they are in an array of their own already.
 */
export function detachTimes(holder: TimesHolder): void {
  const { times: shared, timesBase: base } = holder;
  if (shared.length === TIME_FIELDS) return;
  holder.times = shared.slice(base, base + TIME_FIELDS);
  holder.timesBase = 0;
  returnRegion(1, TIME_FIELDS, shared, base);
}
