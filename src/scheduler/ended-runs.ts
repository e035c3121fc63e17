import type { TaskState } from './task-state.js';

/** Records one run that ended well: `slot` null for a trigger. */
export type RecordEndedRun = (
  state: TaskState,
  runId: number,
  slot: number | null,
  attempt: number,
  startedAt: number,
  endedAt: number,
) => void;

/** Numbers kept per run: run id, slot (NaN for none), attempt, start, end. */
const FIELDS = 5;

/**
 * Synchronous runs that ended well during a timer pass, waiting to be
 * recorded. A pass starts every due run first and records them afterwards,
 * so that the statistics, history and events of one run do not delay the
 * start of the next: with thousands of tasks due in the same millisecond,
 * the last one starts that much sooner. The buffers are reused from pass to
 * pass, so waiting costs no allocation.
 */
export class EndedRuns {
  readonly #states: TaskState[] = [];
  readonly #numbers: number[] = [];

  get size(): number {
    return this.#states.length;
  }

  add(
    state: TaskState,
    runId: number,
    slot: number | null,
    attempt: number,
    startedAt: number,
    endedAt: number,
  ): void {
    this.#states.push(state);
    this.#numbers.push(runId, slot ?? Number.NaN, attempt, startedAt, endedAt);
  }

  /** Hands every waiting run to `record`, oldest first, and empties the buffer. */
  drain(record: RecordEndedRun): void {
    const states = this.#states;
    const numbers = this.#numbers;
    // Read the length live: a run added while this drains (from an event listener) is recorded too.
    for (let i = 0; i < states.length; i++) {
      const at = i * FIELDS;
      const slot = numbers[at + 1]!;
      record(
        states[i]!,
        numbers[at]!,
        Number.isNaN(slot) ? null : slot,
        numbers[at + 2]!,
        numbers[at + 3]!,
        numbers[at + 4]!,
      );
    }
    states.length = 0;
    numbers.length = 0;
  }
}
