import { MAX_COUNTED_SLOTS, nextCronTime } from './cron-schedule.js';
import { firstSlotAfter, nextIndexAfterFire, regrid, slotTime } from './grid.js';
import { ANCHOR, INDEX, INTERVAL, LAST_SLOT, SLOT, SLOT_DUE } from './schedule-times.js';
import type { TaskState } from './task-state.js';

/**
 * Where a task's schedule goes next: pure functions of the task's schedule
 * and the time given, so that every rule is testable without timers. Each
 * sets the task's pending slot (and its grid position) or marks it done.
 *
 * The functions that run for every task registered and every run
 * (placeFirstSlot, advancePastFire, setPendingIndex, setPendingSlot) read
 * and write the task's row of times directly rather than through its
 * accessors: until V8 has compiled them, which is after the first rounds of
 * thousands of runs, each accessor is a call of its own.
 */

/**
 * Places the task's first slot, as of `now` (start of the service, or when
 * the task is added); `now` is also its last slot until it first runs.
 */
export function placeFirstSlot(state: TaskState, now: number): void {
  const { immediate, startAt, exclusive } = state.options;
  const row = state.times;
  const at = state.timesBase;
  row[at + LAST_SLOT] = now;
  if (state.kind === 'once') {
    // Its one slot is "slot 1" of a grid of its delay.
    state.anchor = now;
    setPendingIndex(state, 1);
    return;
  }
  if (state.kind === 'cron') {
    if (startAt !== null && startAt > now) {
      setCronSlot(state, immediate ? startAt : nextCronTime(state.cron!.cron, startAt - 1));
    } else {
      setCronSlot(state, immediate ? now : nextCronTime(state.cron!.cron, now));
    }
    return;
  }
  // Interval grids: anchored at start, or at startAt, or (exclusive) at the epoch so replicas agree.
  const interval = row[at + INTERVAL]!;
  let anchor = now;
  let index = immediate ? 0 : 1;
  if (startAt !== null || exclusive) {
    anchor = startAt ?? 0;
    if (anchor > now) index = 0;
    else if (immediate) index = Math.floor((now - anchor) / interval);
    else index = firstSlotAfter(anchor, interval, now);
  }
  row[at + ANCHOR] = anchor;
  setPendingIndex(state, index);
}

/**
 * Moves the task past the slot that just fired, as of `now` (possibly late):
 * the slot becomes its last one, and the next slot is the first one strictly
 * after `now`. Returns how many slots in between were missed.
 */
export function advancePastFire(state: TaskState, now: number): number {
  const row = state.times;
  const at = state.timesBase;
  row[at + LAST_SLOT] = row[at + SLOT]!;
  if (state.kind === 'once') {
    state.done = true;
    return 0;
  }
  if (state.kind === 'cron') {
    const cron = state.cron!.cron;
    // Walk the slots that passed while this one ran late; the walk ends on the next slot.
    let missed = 0;
    let next = nextCronTime(cron, state.slot);
    while (next !== null && next <= now) {
      if (++missed >= MAX_COUNTED_SLOTS) {
        next = nextCronTime(cron, now);
        break;
      }
      next = nextCronTime(cron, next);
    }
    setCronSlot(state, next);
    return missed;
  }
  const fired = row[at + INDEX]!;
  const anchor = row[at + ANCHOR]!;
  const interval = row[at + INTERVAL]!;
  // On time (the usual case), the next slot is the one after. Checked here rather than left to
  // nextIndexAfterFire: times passed to a function that V8 does not inline are boxed, an
  // allocation per run, and this runs for every fire.
  const next =
    slotTime(anchor, interval, fired + 1) > now
      ? fired + 1
      : nextIndexAfterFire(anchor, interval, fired, now);
  setPendingIndex(state, next);
  return next - fired - 1;
}

/** After a pause: the first slot strictly after `now`, on the same grid (no catch-up). */
export function placeResumeSlot(state: TaskState, now: number): void {
  if (state.kind === 'once') {
    setPendingSlot(state, Math.max(state.slot, now));
  } else if (state.kind === 'cron') {
    setCronSlot(state, nextCronTime(state.cron!.cron, Math.max(now, state.slot - 1)));
  } else {
    setPendingIndex(
      state,
      Math.max(state.index, firstSlotAfter(state.anchor, state.intervalMs, now)),
    );
  }
}

/**
 * A live interval change: the next run comes one new interval after the
 * previous scheduled run, or right away when that moment has already passed.
 * `previous` is the slot that fired last (the activation time, before any run).
 */
export function regridInterval(
  state: TaskState,
  intervalMs: number,
  previous: number,
  now: number,
): void {
  const { anchor, index } = regrid(previous, intervalMs, now);
  state.kind = 'interval';
  state.intervalMs = intervalMs;
  state.anchor = anchor;
  setPendingIndex(state, index);
}

/**
 * Makes slot `index` of an interval task's grid (`anchor + index ×
 * intervalMs`) its pending slot, as {@link setPendingSlot} does. It takes
 * the slot's index, not its time: a time passed to a function that V8 does
 * not inline is boxed (an allocation per run), a small integer is not.
 */
export function setPendingIndex(state: TaskState, index: number): void {
  const row = state.times;
  const at = state.timesBase;
  row[at + INDEX] = index;
  setPendingSlot(state, slotTime(row[at + ANCHOR]!, row[at + INTERVAL]!, index));
}

function setCronSlot(state: TaskState, next: number | null): void {
  if (next === null) state.done = true;
  else setPendingSlot(state, next);
}

/** Sets the pending slot and when it is due (slot + jitter); past `endAt` the task is done instead. */
export function setPendingSlot(state: TaskState, slot: number): void {
  const { endAt, jitterMs } = state.options;
  if (endAt !== null && slot > endAt) {
    state.done = true;
    return;
  }
  const row = state.times;
  const at = state.timesBase;
  row[at + SLOT] = slot;
  // Jitter delays a run, but never past endAt: no run happens after it.
  row[at + SLOT_DUE] =
    jitterMs > 0
      ? Math.min(slot + Math.random() * jitterMs, endAt ?? Number.POSITIVE_INFINITY)
      : slot;
}
