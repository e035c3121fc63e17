/**
 * Something that waits in a {@link TimerQueue}: its queue bookkeeping. The
 * queue keeps the due time itself (see {@link TimerQueue.firstDue}); an
 * entry that needs its own keeps it in a field of its own.
 */
export interface QueueEntry {
  /** Stamped on each `schedule`, in increasing order. */
  seq: number;
  /** 0 while the entry is queued, -1 while it is not (the name is from when entries sat in the heap). Owned by the queue. */
  heapIndex: number;
}

/**
 * The entries due at one moment, in the order they were queued, each with
 * the stamp (`seq`) it was queued with: slots `[head, count)` of `items`
 * and `stamps`. Spent buckets are reused, arrays and all, so that the
 * arrays of a busy queue stop growing once they are large enough.
 */
interface Bucket<T> {
  due: number;
  readonly items: Array<T | null>;
  readonly stamps: number[];
  head: number;
  count: number;
  /** The next spare bucket, while this one is spare. */
  nextSpare: Bucket<T> | null;
}

/** Spent buckets kept for reuse; a few are enough, since one is usually spent as the next is made. */
const MAX_SPARE_BUCKETS = 16;

/**
 * Entries ordered by due time, first-in first-out among equal times.
 *
 * Entries due at the same moment share a bucket (a plain array), and a
 * binary min-heap orders the distinct moments. Tasks registered together
 * with the same interval stay together, so queueing one costs O(1) and
 * thousands of them leave in one pass; only a new moment costs O(log n).
 * Removing or moving an entry only marks it (`heapIndex = -1`, or a new
 * stamp); its stale bucket slot is skipped when reached.
 */
export class TimerQueue<T extends QueueEntry> {
  /** Min-heap of the due times that have a bucket. */
  readonly #times: number[] = [];
  /** Buckets by due time; a key is in #times exactly when it is in this map. */
  readonly #buckets = new Map<number, Bucket<T>>();
  /** The bucket last queued into: entries that fire together are re-queued together, so it is usually the one wanted next. */
  #recent: Bucket<T> | null = null;
  /** The bucket of the earliest due time, as last looked up. */
  #front0: Bucket<T> | null = null;
  /** Queued entries (stale bucket slots not counted). */
  #size = 0;
  #nextSeq = 0;
  /**
   * Spent buckets, ready for another due time: a list linked through
   * `nextSpare` (not an array, whose kind of elements would change with the
   * first bucket put in, discarding the code compiled for `schedule`).
   */
  #spare: Bucket<T> | null = null;
  #spareCount = 0;

  get size(): number {
    return this.#size;
  }

  /** When the entry due first is due (epoch ms); infinite when the queue is empty. */
  firstDue(): number {
    return this.#front()?.due ?? Number.POSITIVE_INFINITY;
  }

  /** Queues an entry at `due`, or moves it there when it is already queued. */
  schedule(entry: T, due: number): void {
    if (entry.heapIndex >= 0) this.#size--;
    entry.seq = this.#nextSeq++;
    entry.heapIndex = 0;
    this.#size++;
    let bucket =
      this.#recent !== null && this.#recent.due === due ? this.#recent : this.#buckets.get(due);
    if (bucket === undefined) {
      bucket = this.#takeSpare(due);
      this.#buckets.set(due, bucket);
      this.#pushTime(due);
    }
    const at = bucket.count++;
    if (at < bucket.items.length) {
      bucket.items[at] = entry;
      bucket.stamps[at] = entry.seq;
    } else {
      bucket.items.push(entry);
      bucket.stamps.push(entry.seq);
    }
    this.#recent = bucket;
  }

  /** Removes and returns the entry due first. */
  pop(): T | undefined {
    return this.popDue(Number.POSITIVE_INFINITY);
  }

  /** Removes and returns the entry due first, if it is due at `now` or before. */
  popDue(now: number): T | undefined {
    const bucket = this.#front();
    if (bucket === undefined || bucket.due > now) return undefined;
    const entry = bucket.items[bucket.head]!;
    // The slot lets go of its entry: a spent bucket holds no task.
    bucket.items[bucket.head++] = null;
    entry.heapIndex = -1;
    this.#size--;
    return entry;
  }

  /** Takes an entry out of the queue; does nothing when it is not queued. */
  remove(entry: T): void {
    if (entry.heapIndex < 0) return;
    entry.heapIndex = -1;
    this.#size--;
  }

  clear(): void {
    for (const bucket of this.#buckets.values()) {
      for (let i = bucket.head; i < bucket.count; i++) bucket.items[i]!.heapIndex = -1;
    }
    this.#buckets.clear();
    this.#recent = null;
    this.#front0 = null;
    this.#times.length = 0;
    this.#size = 0;
  }

  /** The earliest bucket with a live entry at its head, dropping stale slots and spent buckets. */
  #front(): Bucket<T> | undefined {
    for (;;) {
      const due = this.#times[0];
      if (due === undefined) return undefined;
      let bucket = this.#front0;
      if (bucket === null || bucket.due !== due) {
        bucket = this.#buckets.get(due)!;
        this.#front0 = bucket;
      }
      const { items, stamps } = bucket;
      while (bucket.head < bucket.count) {
        const entry = items[bucket.head]!;
        // Live: queued, and by this very slot (not removed or re-queued since).
        if (entry.heapIndex >= 0 && entry.seq === stamps[bucket.head]) return bucket;
        items[bucket.head++] = null;
      }
      this.#buckets.delete(due);
      if (this.#recent === bucket) this.#recent = null;
      this.#front0 = null;
      this.#popTime();
      if (this.#spareCount < MAX_SPARE_BUCKETS) {
        bucket.head = 0;
        bucket.count = 0;
        bucket.nextSpare = this.#spare;
        this.#spare = bucket;
        this.#spareCount++;
      }
    }
  }

  /** A bucket for `due`: a spare one, or a new one when there is none. */
  #takeSpare(due: number): Bucket<T> {
    const spare = this.#spare;
    if (spare === null) {
      // Made to hold objects from the start: an empty array literal starts out holding small
      // integers, and its first entry changed that, throwing away the code compiled for schedule.
      const items: Array<T | null> = [null];
      items.length = 0;
      return { due, items, stamps: [], head: 0, count: 0, nextSpare: null };
    }
    this.#spare = spare.nextSpare;
    this.#spareCount--;
    spare.nextSpare = null;
    spare.due = due;
    return spare;
  }

  #pushTime(due: number): void {
    const times = this.#times;
    let index = times.length;
    times.push(due);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (times[parent]! <= due) break;
      times[index] = times[parent]!;
      index = parent;
    }
    times[index] = due;
  }

  #popTime(): void {
    const times = this.#times;
    const last = times.pop()!;
    if (times.length === 0) return;
    const length = times.length;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && times[right]! < times[left]! ? right : left;
      if (times[child]! >= last) break;
      times[index] = times[child]!;
      index = child;
    }
    times[index] = last;
  }
}
