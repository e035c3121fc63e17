/** How one run ended. */
export type RunResult = 'success' | 'error' | 'timeout';

/** One finished run, as the history keeps it (wire names: snake_case, ISO times). */
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

/** One finished run as the history stores it: numbers, turned into a {@link RunRecord} on reading. */
export interface RunEntry {
  runId: number;
  scheduledAt: number | null;
  startedAt: number;
  durationMs: number;
  result: RunResult;
  error: string | null;
  attempt: number;
}

/**
 * The last `capacity` runs of a task, oldest first. The array is allocated on
 * the first run, so a task that never ran costs nothing.
 */
export class RunHistory {
  readonly #capacity: number;
  /** A ring: #records[#next] is the oldest record once the ring is full. */
  #records: RunEntry[] | null = null;
  #next = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(record: RunEntry): void {
    if (this.#capacity === 0) return;
    this.#records ??= [];
    if (this.#records.length < this.#capacity) {
      this.#records.push(record);
      return;
    }
    this.#records[this.#next] = record;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** The records, oldest first, in their wire form. */
  list(): RunRecord[] {
    const records = this.#records;
    if (records === null) return [];
    return [...records.slice(this.#next), ...records.slice(0, this.#next)].map((entry) => ({
      run_id: entry.runId,
      scheduled_at: entry.scheduledAt === null ? null : new Date(entry.scheduledAt).toISOString(),
      started_at: new Date(entry.startedAt).toISOString(),
      duration_ms: entry.durationMs,
      outcome: entry.result,
      error: entry.error,
      attempt: entry.attempt,
    }));
  }
}
