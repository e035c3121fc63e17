/**
 * Pure arithmetic of a fixed-rate schedule. Run k of a task is due at
 * `anchor + k × interval`; nothing here reads a clock, so every rule can be
 * tested without timers.
 */

/** The time slot `index` of a grid falls on, in epoch milliseconds. */
export function slotTime(anchor: number, intervalMs: number, index: number): number {
  return anchor + index * intervalMs;
}

/** The index of the first slot strictly after `now`. */
export function firstSlotAfter(anchor: number, intervalMs: number, now: number): number {
  if (now < anchor) return 0;
  let index = Math.floor((now - anchor) / intervalMs) + 1;
  // Guard against floating-point rounding at slot boundaries.
  while (slotTime(anchor, intervalMs, index) <= now) index++;
  while (index > 0 && slotTime(anchor, intervalMs, index - 1) > now) index--;
  return index;
}

/**
 * After a (possibly late) fire of slot `firedIndex` at `now`: the index of
 * the next slot to wait for, the first one strictly after `now`. The task
 * runs once for the slot that fired; the slots in between were slept through
 * (missed), and the grid stays as it was.
 */
export function nextIndexAfterFire(
  anchor: number,
  intervalMs: number,
  firedIndex: number,
  now: number,
): number {
  // On time (the usual case): the next slot is already after now.
  const next = firedIndex + 1;
  if (anchor + next * intervalMs > now) return next;
  return Math.max(next, firstSlotAfter(anchor, intervalMs, now));
}

/** A grid re-anchored for a new interval, and the slot index to wait for next. */
export interface Regrid {
  anchor: number;
  index: number;
}

/**
 * A live interval change: the next run comes one new interval after the
 * previous scheduled run, or right away when that moment has already passed.
 */
export function regrid(previousScheduled: number, newIntervalMs: number, now: number): Regrid {
  const next = previousScheduled + newIntervalMs;
  if (next <= now) return { anchor: now, index: 0 };
  return { anchor: previousScheduled, index: 1 };
}
