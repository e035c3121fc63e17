import { describe, expect, it } from 'vitest';
import { type QueueEntry, TimerQueue } from '../../../src/scheduler/timer-queue.js';
import { seededRandom } from './helpers.js';

class Entry implements QueueEntry {
  /** The test's own record of when the entry was queued for (the queue keeps its own). */
  due = 0;
  seq = 0;
  heapIndex = -1;
  constructor(readonly id: string) {}
}

/** Queues `entry` at `due`, noting the time on the entry for the test. */
function put(queue: TimerQueue<Entry>, entry: Entry, due: number): void {
  entry.due = due;
  queue.schedule(entry, due);
}

function drain(queue: TimerQueue<Entry>): string[] {
  const out: string[] = [];
  for (let entry = queue.pop(); entry !== undefined; entry = queue.pop()) out.push(entry.id);
  return out;
}

describe('TimerQueue', () => {
  it('is empty at first', () => {
    const queue = new TimerQueue<Entry>();
    expect(queue.size).toBe(0);
    expect(queue.pop()).toBeUndefined();
    expect(queue.firstDue()).toBe(Number.POSITIVE_INFINITY);
  });

  it('tells when the first entry is due, skipping removed ones', () => {
    const queue = new TimerQueue<Entry>();
    const a = new Entry('a');
    const b = new Entry('b');
    queue.schedule(a, 30);
    queue.schedule(b, 20);
    expect(queue.firstDue()).toBe(20);
    queue.remove(b);
    expect(queue.firstDue()).toBe(30);
    queue.schedule(a, 5.5);
    expect(queue.firstDue()).toBe(5.5);
    queue.pop();
    expect(queue.firstDue()).toBe(Number.POSITIVE_INFINITY);
  });

  it('pops entries in due order and marks them as out of the queue', () => {
    const queue = new TimerQueue<Entry>();
    const entries = [50, 10, 40, 30, 20].map((due) => {
      const entry = new Entry(`t${due}`);
      queue.schedule(entry, due);
      return entry;
    });
    expect(queue.size).toBe(5);
    expect(queue.firstDue()).toBe(10);
    expect(entries.every((e) => e.heapIndex >= 0)).toBe(true);
    expect(drain(queue)).toEqual(['t10', 't20', 't30', 't40', 't50']);
    expect(entries.every((e) => e.heapIndex === -1)).toBe(true);
    expect(queue.size).toBe(0);
  });

  it('releases entries due at the same moment first-in, first-out', () => {
    const queue = new TimerQueue<Entry>();
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) queue.schedule(new Entry(id), 100);
    queue.schedule(new Entry('early'), 99);
    expect(drain(queue)).toEqual(['early', 'a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('moves an entry that is scheduled again, earlier or later, without duplicating it', () => {
    const queue = new TimerQueue<Entry>();
    const a = new Entry('a');
    const b = new Entry('b');
    const c = new Entry('c');
    queue.schedule(a, 10);
    queue.schedule(b, 20);
    queue.schedule(c, 30);
    queue.schedule(c, 5);
    expect(queue.size).toBe(3);
    expect(queue.firstDue()).toBe(5);
    queue.schedule(c, 25);
    queue.schedule(a, 40);
    expect(queue.size).toBe(3);
    expect(queue.firstDue()).toBe(20);
    expect(drain(queue)).toEqual(['b', 'c', 'a']);
  });

  it('re-timing an entry to the same moment puts it behind others due then', () => {
    const queue = new TimerQueue<Entry>();
    const a = new Entry('a');
    queue.schedule(a, 10);
    queue.schedule(new Entry('b'), 10);
    queue.schedule(a, 10);
    expect(drain(queue)).toEqual(['b', 'a']);
  });

  it('removes the top, a middle entry, the last entry, and ignores entries not queued', () => {
    const queue = new TimerQueue<Entry>();
    const entries = Array.from({ length: 8 }, (_, i) => new Entry(`e${i}`));
    entries.forEach((entry, i) => {
      put(queue, entry, (i * 37) % 8);
    });
    const byDue = [...entries].sort((x, y) => x.due - y.due);
    const top = byDue[0]!;
    const middle = byDue[4]!;
    const last = entries[entries.length - 1]!;
    queue.remove(top);
    queue.remove(middle);
    queue.remove(last);
    expect(top.heapIndex).toBe(-1);
    expect(middle.heapIndex).toBe(-1);
    queue.remove(top); // a second remove does nothing
    queue.remove(new Entry('stranger'));
    expect(queue.size).toBe(5);
    const expected = byDue.filter((e) => e !== top && e !== middle && e !== last).map((e) => e.id);
    expect(drain(queue)).toEqual(expected);
  });

  it('can queue an entry again after it was popped or removed', () => {
    const queue = new TimerQueue<Entry>();
    const a = new Entry('a');
    queue.schedule(a, 1);
    expect(queue.pop()).toBe(a);
    queue.schedule(a, 2);
    queue.remove(a);
    queue.schedule(a, 3);
    expect(queue.size).toBe(1);
    expect(queue.firstDue()).toBe(3);
    expect(queue.pop()).toBe(a);
  });

  it('clear() empties the queue and marks every entry as out of it', () => {
    const queue = new TimerQueue<Entry>();
    const entries = [3, 1, 2].map((due) => {
      const entry = new Entry(String(due));
      queue.schedule(entry, due);
      return entry;
    });
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.firstDue()).toBe(Number.POSITIVE_INFINITY);
    expect(entries.map((e) => e.heapIndex)).toEqual([-1, -1, -1]);
    queue.schedule(entries[0]!, 9);
    expect(queue.size).toBe(1);
  });

  it('keeps first-in, first-out order when spent buckets are reused, as when tasks fire and queue again', () => {
    const queue = new TimerQueue<Entry>();
    const entries = Array.from({ length: 300 }, (_, i) => new Entry(`e${i}`));
    // Registered over three moments, like tasks added in a loop that crosses milliseconds.
    for (const [i, entry] of entries.entries()) put(queue, entry, Math.floor(i / 100));
    const expected = entries.map((e) => e.id);
    for (let cycle = 0; cycle < 50; cycle++) {
      const fired: string[] = [];
      for (let n = 0; n < entries.length; n++) {
        const entry = queue.pop()!;
        fired.push(entry.id);
        // Each fire queues its entry again a "second" later, while its bucket is being emptied.
        put(queue, entry, entry.due + 1000);
      }
      expect(fired).toEqual(expected);
      expect(queue.size).toBe(entries.length);
    }
  });

  it('agrees with a sorted-list model over 20,000 random operations', () => {
    const random = seededRandom(2024);
    const queue = new TimerQueue<Entry>();
    const pool = Array.from({ length: 64 }, (_, i) => new Entry(`p${i}`));
    // The model: every queued entry with its due time and insertion order.
    const model = new Map<Entry, { due: number; order: number }>();
    let order = 0;
    const mismatches: number[] = [];
    const modelFirst = (): Entry | undefined => {
      let best: Entry | undefined;
      for (const [entry, at] of model) {
        const b = best === undefined ? undefined : model.get(best)!;
        if (b === undefined || at.due < b.due || (at.due === b.due && at.order < b.order))
          best = entry;
      }
      return best;
    };
    for (let step = 0; step < 20_000; step++) {
      const entry = pool[Math.floor(random() * pool.length)]!;
      const op = random();
      if (op < 0.55) {
        // Few distinct due times, so ties are common.
        const due = Math.floor(random() * 20);
        queue.schedule(entry, due);
        model.set(entry, { due, order: order++ });
      } else if (op < 0.75) {
        queue.remove(entry);
        model.delete(entry);
      } else {
        const expected = modelFirst();
        if (queue.pop() !== expected) mismatches.push(step);
        if (expected !== undefined) model.delete(expected);
      }
      // Plain checks in the loop (expect() per step is slow); one assertion at the end.
      const membershipAgrees = pool.every((e) => e.heapIndex >= 0 === model.has(e));
      const first = modelFirst();
      const firstDue = first === undefined ? Number.POSITIVE_INFINITY : model.get(first)!.due;
      if (queue.size !== model.size || queue.firstDue() !== firstDue || !membershipAgrees) {
        mismatches.push(step);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
