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

/** Runs the buffers hold before they first grow. */
const INITIAL_RUNS = 64;

/**
 * Synchronous runs that ended well during a timer pass, waiting to be
 * recorded. A pass starts every due run first and records them afterwards,
 * so that the statistics, history and events of one run do not delay the
 * start of the next: with thousands of tasks due in the same millisecond,
 * the last one starts that much sooner. While the scheduler is behind, they
 * wait over several passes (see `TaskRunner.endPass`).
 *
 * The buffers keep their size from pass to pass (they grow by doubling and
 * never shrink), so waiting costs no allocation once they have grown to the
 * largest pass: emptying an array by `length = 0` would hand its storage
 * back and make every pass grow it again.
 */
export class EndedRuns {
  #states: Array<TaskState | null> = new Array<TaskState | null>(INITIAL_RUNS).fill(null);
  #numbers = new Float64Array(INITIAL_RUNS * FIELDS);
  /** Runs `[#read, #size)` wait; a drain moves #read on before it hands a run out. */
  #read = 0;
  #size = 0;

  /** Runs waiting. */
  get size(): number {
    return this.#size - this.#read;
  }

  /** When the oldest waiting run ended (epoch ms); meaningless when none waits. */
  get oldestEndedAt(): number {
    return this.#numbers[this.#read * FIELDS + 4]!;
  }

  add(
    state: TaskState,
    runId: number,
    slot: number | null,
    attempt: number,
    startedAt: number,
    endedAt: number,
  ): void {
    const index = this.#size;
    if (index === this.#states.length) this.#grow();
    this.#states[index] = state;
    const numbers = this.#numbers;
    const at = index * FIELDS;
    numbers[at] = runId;
    numbers[at + 1] = slot ?? Number.NaN;
    numbers[at + 2] = attempt;
    numbers[at + 3] = startedAt;
    numbers[at + 4] = endedAt;
    this.#size = index + 1;
  }

  /**
   * Hands every waiting run to `record`, oldest first, and empties the
   * buffer. A drain started by `record` itself (an event listener that ends
   * up recording) goes on where this one is, and this one then finds nothing
   * left: no run is handed out twice.
   */
  drain(record: RecordEndedRun): void {
    // Read the size live: a run added while this drains (from an event listener) is recorded too.
    while (this.#read < this.#size) {
      const i = this.#read++;
      // Read the buffer live as well: such an addition may have grown it.
      const numbers = this.#numbers;
      const at = i * FIELDS;
      const slot = numbers[at + 1]!;
      const state = this.#states[i]!;
      // Let go of the task: a removed one must not stay reachable from here.
      this.#states[i] = null;
      record(
        state,
        numbers[at]!,
        Number.isNaN(slot) ? null : slot,
        numbers[at + 2]!,
        numbers[at + 3]!,
        numbers[at + 4]!,
      );
    }
    this.#read = 0;
    this.#size = 0;
  }

  #grow(): void {
    const capacity = this.#states.length * 2;
    const states = new Array<TaskState | null>(capacity).fill(null);
    for (let i = 0; i < this.#size; i++) states[i] = this.#states[i]!;
    const numbers = new Float64Array(capacity * FIELDS);
    numbers.set(this.#numbers);
    this.#states = states;
    this.#numbers = numbers;
  }
}
