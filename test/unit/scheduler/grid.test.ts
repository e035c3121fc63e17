import { describe, expect, it } from 'vitest';
import {
  firstSlotAfter,
  nextIndexAfterFire,
  regrid,
  slotTime,
} from '../../../src/scheduler/grid.js';
import { seededRandom } from './helpers.js';

const A = Date.UTC(2030, 0, 1);

describe('slotTime', () => {
  it('puts slot k at anchor + k × interval', () => {
    expect(slotTime(A, 10_000, 0)).toBe(A);
    expect(slotTime(A, 10_000, 1)).toBe(A + 10_000);
    expect(slotTime(A, 10_000, 7)).toBe(A + 70_000);
    expect(slotTime(A, 250, 4)).toBe(A + 1_000);
  });

  it('places slot 10,000 of fractional grids exactly where the grid says', () => {
    expect(slotTime(A, 0.25 * 1000, 10_000)).toBe(A + 2_500_000);
    expect(slotTime(A, 0.1 * 1000, 10_000)).toBe(A + 1_000_000);
    // 1.1 s is not exact in binary: still within a microsecond after 10,000 slots.
    expect(Math.abs(slotTime(A, 1.1 * 1000, 10_000) - (A + 11_000_000))).toBeLessThan(0.001);
  });
});

describe('firstSlotAfter', () => {
  it('is slot 0 while now is before the anchor', () => {
    expect(firstSlotAfter(A, 1000, A - 1)).toBe(0);
    expect(firstSlotAfter(A, 1000, A - 1_000_000)).toBe(0);
  });

  it('is strictly after now: a slot that falls exactly on now has passed', () => {
    expect(firstSlotAfter(A, 1000, A)).toBe(1);
    expect(firstSlotAfter(A, 1000, A + 1000)).toBe(2);
    expect(firstSlotAfter(A, 1000, A + 999)).toBe(1);
    expect(firstSlotAfter(A, 1000, A + 1001)).toBe(2);
    expect(firstSlotAfter(A, 1000, A + 57_000)).toBe(58);
  });

  it('handles fractional intervals whose slots are not integers', () => {
    const third = 1000 / 3;
    expect(firstSlotAfter(A, third, A + 333)).toBe(1);
    expect(firstSlotAfter(A, third, A + 334)).toBe(2);
    expect(firstSlotAfter(A, 250, A + 1000)).toBe(5);
  });

  it('is exact at slot boundaries despite floating-point rounding (seeded sweep)', () => {
    const random = seededRandom(7);
    const wrong: { anchor: number; intervalMs: number; now: number; index: number }[] = [];
    const intervals = [1.1 * 1000, 0.3 * 1000, 1000 / 3, 0.7 * 1000, 100 / 7, 2.5e9, 1];
    for (const intervalMs of intervals) {
      for (let trial = 0; trial < 2_000; trial++) {
        const anchor = A + Math.floor(random() * 1e9) / 7;
        const k = Math.floor(random() * 1e6);
        // Exactly on a slot, and a hair either side of it.
        for (const now of [
          slotTime(anchor, intervalMs, k),
          slotTime(anchor, intervalMs, k) - 0.5,
          slotTime(anchor, intervalMs, k) + 0.5,
        ]) {
          const index = firstSlotAfter(anchor, intervalMs, now);
          const after = slotTime(anchor, intervalMs, index) > now;
          const notTooFar = index === 0 || slotTime(anchor, intervalMs, index - 1) <= now;
          if (!after || !notTooFar) wrong.push({ anchor, intervalMs, now, index });
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

/** The next slot after a fire, and how many slots in between were missed. */
function afterFire(anchor: number, intervalMs: number, firedIndex: number, now: number) {
  const nextIndex = nextIndexAfterFire(anchor, intervalMs, firedIndex, now);
  return { nextIndex, missed: nextIndex - firedIndex - 1 };
}

describe('nextIndexAfterFire', () => {
  it('on time: the next slot follows, nothing missed', () => {
    expect(afterFire(A, 1000, 3, slotTime(A, 1000, 3))).toEqual({ nextIndex: 4, missed: 0 });
    // A few milliseconds late is still on time.
    expect(afterFire(A, 1000, 3, slotTime(A, 1000, 3) + 999)).toEqual({ nextIndex: 4, missed: 0 });
  });

  it('late by several intervals: one run, the slept-through slots counted, same grid', () => {
    // Slot 2 (A+20 s) fires at A+106 s: slots 3..10 passed unrun, slot 11 (A+110 s) is next.
    expect(afterFire(A, 10_000, 2, A + 106_000)).toEqual({ nextIndex: 11, missed: 8 });
    // Waking exactly on a slot counts that slot as missed too: it is not the one running.
    expect(afterFire(A, 10_000, 2, A + 100_000)).toEqual({ nextIndex: 11, missed: 8 });
    expect(afterFire(A, 10_000, 2, A + 30_000)).toEqual({ nextIndex: 4, missed: 1 });
  });

  it('never goes backwards when it fires early (clock stepped back)', () => {
    expect(afterFire(A, 1000, 5, A + 1000)).toEqual({ nextIndex: 6, missed: 0 });
  });

  it('keeps the grid over 10,000 fires with random lateness below one interval', () => {
    const random = seededRandom(11);
    const intervalMs = 250;
    let index = 1;
    let missed = 0;
    for (let fire = 0; fire < 10_000; fire++) {
      const now = slotTime(A, intervalMs, index) + Math.floor(random() * intervalMs);
      const next = afterFire(A, intervalMs, index, now);
      missed += next.missed;
      index = next.nextIndex;
    }
    expect(missed).toBe(0);
    expect(index).toBe(10_001);
    expect(slotTime(A, intervalMs, index)).toBe(A + 10_001 * 250);
  });
});

describe('regrid', () => {
  it('next run = previous scheduled run + new interval, when that is still ahead', () => {
    // Previous run was scheduled at A+10 s, it is A+13 s, new interval 5 s: next at A+15 s.
    const next = regrid(A + 10_000, 5_000, A + 13_000);
    expect(next).toEqual({ anchor: A + 10_000, index: 1 });
    expect(slotTime(next.anchor, 5_000, next.index)).toBe(A + 15_000);
    expect(slotTime(next.anchor, 5_000, next.index + 1)).toBe(A + 20_000);
  });

  it('runs now when that moment has passed, and anchors the new grid now', () => {
    const next = regrid(A + 10_000, 2_000, A + 13_000);
    expect(next).toEqual({ anchor: A + 13_000, index: 0 });
    expect(slotTime(next.anchor, 2_000, next.index)).toBe(A + 13_000);
    expect(slotTime(next.anchor, 2_000, next.index + 1)).toBe(A + 15_000);
  });

  it('treats a moment equal to now as passed (runs now)', () => {
    expect(regrid(A + 10_000, 3_000, A + 13_000)).toEqual({ anchor: A + 13_000, index: 0 });
  });
});
