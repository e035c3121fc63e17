import { ownRegion, type RegionHolder, returnRegion, takeRegion } from './history-slab.js';

/** How one run ended. */
export type RunResult = 'success' | 'error' | 'timeout';

/** One finished run, as the history reports it (wire names: snake_case, ISO times). */
export interface RunRecord {
  /** The run's number within its task, from 1. */
  run_id: number;
  /** The slot the run was for (null for a trigger). */
  scheduled_at: string | null;
  started_at: string;
  duration_ms: number;
  outcome: RunResult;
  error: string | null;
  /** 0 for the scheduled run, 1 and up for its retries. */
  attempt: number;
}

const RESULTS: readonly RunResult[] = ['success', 'error', 'timeout'];

/** Numbers kept per run: run id, slot (NaN for none), start, duration, attempt, result. */
const FIELDS = 6;

/**
 * The last `capacity` runs of a task, oldest first. Runs are written as
 * numbers into a ring in a shared slab (see `history-slab.ts`; error messages
 * go into a plain array, made on the first failure), so recording a run
 * allocates nothing: a long-lived ring of fresh objects would keep the
 * garbage collector busy with thousands of tasks. Nothing is taken before the
 * first run; when the task is removed, the history moves to an array of its
 * own and the region goes back to the pool.
 */
export class RunHistory implements RegionHolder {
  readonly #capacity: number;
  /**
   * Ring of runs, FIELDS numbers each: ring slot k at `base + k × stride` in
   * `data`; slot #next is written next. Set by the slab pool's functions.
   */
  data: Float64Array | null = null;
  base = 0;
  stride = FIELDS;
  /** Error message per ring slot, or null; made on the first failure. */
  #errors: Array<string | null> | null = null;
  #count = 0;
  #next = 0;
  /** The task is gone: the runs are (or will be) in an array of the history's own, not a shared slab. */
  #detached = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(
    runId: number,
    scheduledAt: number | null,
    startedAt: number,
    durationMs: number,
    result: RunResult,
    error: string | null,
    attempt: number,
  ): void {
    if (this.#capacity === 0) return;
    if (this.data === null) {
      // A history detached before its first run (a one-time task, recorded after its pass) owns its array.
      if (this.#detached) ownRegion(this, this.#capacity, FIELDS);
      else takeRegion(this, this.#capacity, FIELDS);
    }
    const data = this.data!;
    const at = this.base + this.#next * this.stride;
    data[at] = runId;
    data[at + 1] = scheduledAt ?? Number.NaN;
    data[at + 2] = startedAt;
    data[at + 3] = durationMs;
    data[at + 4] = attempt;
    data[at + 5] = result === 'success' ? 0 : result === 'error' ? 1 : 2;
    if (error !== null) this.#errors ??= new Array<string | null>(this.#capacity).fill(null);
    if (this.#errors !== null) this.#errors[this.#next] = error;
    this.#next = (this.#next + 1) % this.#capacity;
    if (this.#count < this.#capacity) this.#count++;
  }

  /** The records, oldest first, in their wire form. */
  list(): RunRecord[] {
    const { data, base, stride } = this;
    if (data === null) return [];
    const records: RunRecord[] = [];
    const first = this.#count < this.#capacity ? 0 : this.#next;
    for (let i = 0; i < this.#count; i++) {
      const slot = (first + i) % this.#capacity;
      const at = base + slot * stride;
      const scheduledAt = data[at + 1]!;
      records.push({
        run_id: data[at]!,
        scheduled_at: Number.isNaN(scheduledAt) ? null : new Date(scheduledAt).toISOString(),
        started_at: new Date(data[at + 2]!).toISOString(),
        duration_ms: data[at + 3]!,
        outcome: RESULTS[data[at + 5]!]!,
        error: this.#errors?.[slot] ?? null,
        attempt: data[at + 4]!,
      });
    }
    return records;
  }

  /**
   * The task is gone: keeps the runs in an array of the history's own (it
   * stays readable for as long as anyone holds the task) and gives the shared
   * region back.
   */
  detach(): void {
    const { data, base, stride } = this;
    if (this.#detached) return;
    this.#detached = true;
    if (data === null) return;
    returnRegion(this, this.#capacity, FIELDS);
    ownRegion(this, this.#capacity, FIELDS);
    const own = this.data!;
    for (let slot = 0; slot < this.#capacity; slot++) {
      own.set(data.subarray(base + slot * stride, base + slot * stride + FIELDS), slot * FIELDS);
    }
  }
}
