import { FINISHED_RUN, FINISHED_RUN_SIZE } from './run-records.js';
import type { TaskState } from './task-state.js';

/** Records one run that ended well: its numbers are `numbers[at + FINISHED_RUN.…]`. */
export type RecordEndedRun = (state: TaskState, numbers: Float64Array, at: number) => void;

/** Numbers kept per run: those of a finished run (see `FINISHED_RUN`). */
const FIELDS = FINISHED_RUN_SIZE;

/** Runs the buffers hold before they first grow. */
const INITIAL_RUNS = 64;

/**
 * Synchronous runs that ended well during a timer pass, waiting to be
 * recorded. A pass starts every due run first and records them afterwards,
 * so that the statistics, history and events of one run do not delay the
 * start of the next: with thousands of tasks due in the same millisecond,
 * the last one starts that much sooner. While runs come due in a burst, they
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
    const at = this.#read * FIELDS;
    const numbers = this.#numbers;
    return numbers[at + FINISHED_RUN.startedAt]! + numbers[at + FINISHED_RUN.durationMs]!;
  }

  add(
    state: TaskState,
    runId: number,
    /** NaN for a trigger. */
    slot: number,
    attempt: number,
    startedAt: number,
    endedAt: number,
  ): void {
    const index = this.#size;
    if (index === this.#states.length) this.#grow();
    this.#states[index] = state;
    const numbers = this.#numbers;
    const at = index * FIELDS;
    numbers[at + FINISHED_RUN.runId] = runId;
    numbers[at + FINISHED_RUN.slot] = slot;
    numbers[at + FINISHED_RUN.attempt] = attempt;
    numbers[at + FINISHED_RUN.startedAt] = startedAt;
    numbers[at + FINISHED_RUN.durationMs] = endedAt - startedAt;
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
      const state = this.#states[i]!;
      // Let go of the task: a removed one must not stay reachable from here.
      this.#states[i] = null;
      // Read the buffer live as well: such an addition may have grown it.
      record(state, this.#numbers, i * FIELDS);
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
