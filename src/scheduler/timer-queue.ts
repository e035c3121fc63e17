/** Something that waits in a {@link TimerQueue}: its due time and its place in the heap. */
export interface QueueEntry {
  /** Epoch milliseconds at which the entry is due. */
  due: number;
  /** Insertion order, so that entries due at the same moment leave first-in, first-out. */
  seq: number;
  /** Position in the heap, or -1 while the entry is not queued. Owned by the queue. */
  heapIndex: number;
}

/**
 * A binary min-heap of entries ordered by due time. Entries know their own
 * position, so removing or re-timing one is O(log n) with no search.
 * One scheduler timer sleeps until the top entry is due.
 */
export class TimerQueue<T extends QueueEntry> {
  /** heap[i] is never due after heap[2i+1] and heap[2i+2]; heap[i].heapIndex === i. */
  readonly #heap: T[] = [];
  #nextSeq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** The entry due first, without removing it. */
  peek(): T | undefined {
    return this.#heap[0];
  }

  /** Queues an entry at `due`, or moves it there when it is already queued. */
  schedule(entry: T, due: number): void {
    if (entry.heapIndex >= 0) {
      const earlier = due < entry.due;
      entry.due = due;
      entry.seq = this.#nextSeq++;
      if (earlier) this.#up(entry.heapIndex);
      else this.#down(entry.heapIndex);
      return;
    }
    entry.due = due;
    entry.seq = this.#nextSeq++;
    entry.heapIndex = this.#heap.length;
    this.#heap.push(entry);
    this.#up(entry.heapIndex);
  }

  /** Removes and returns the entry due first. */
  pop(): T | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (last !== top) {
      heap[0] = last;
      last.heapIndex = 0;
      this.#down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  /** Takes an entry out of the queue; does nothing when it is not queued. */
  remove(entry: T): void {
    const index = entry.heapIndex;
    if (index < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    entry.heapIndex = -1;
    if (last === entry) return;
    heap[index] = last;
    last.heapIndex = index;
    this.#up(index);
    this.#down(last.heapIndex);
  }

  clear(): void {
    for (const entry of this.#heap) entry.heapIndex = -1;
    this.#heap.length = 0;
  }

  #before(a: T, b: T): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #up(index: number): void {
    const heap = this.#heap;
    const entry = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!this.#before(entry, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const entry = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && this.#before(heap[right]!, heap[left]!) ? right : left;
      const childEntry = heap[child]!;
      if (!this.#before(childEntry, entry)) break;
      heap[index] = childEntry;
      childEntry.heapIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }
}
