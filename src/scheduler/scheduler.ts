import type { Logger } from 'pino';
import type { AppHandle } from '../context/app-handle.js';
import { contextStorage, type TaskContext } from '../context/store.js';
import { DaebusError, errorMessage } from '../errors/daebus-error.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { validateName } from '../protocol/names.js';
import { BackgroundTask } from './background-task.js';
import { afterFire, firstSlotAfter, regrid, slotTime } from './grid.js';
import { intervalToMs } from './task-options.js';
import { type RunOutcome, type TaskFunction, type TaskKind, TaskState } from './task-state.js';
import { TimerQueue } from './timer-queue.js';

/**
 * The longest the scheduler sleeps before it looks at the wall clock again.
 * Timers count monotonic time, which stands still while a machine is
 * suspended; waking at least this often lets a resumed machine catch up
 * within a second, and makes intervals longer than `setTimeout`'s limit work.
 */
export const MAX_WAIT_MS = 1_000;

/**
 * Runs every task of one app from a single timer over a heap of due times:
 * all tasks due in the same millisecond run in one pass. Schedules are fixed
 * grids in wall-clock time (see `grid.ts`).
 */
export class Scheduler {
  /** Every registered task by name, started or not; a one-time task leaves once it has fired. */
  readonly #tasks = new Map<string, TaskState>();
  /** Tasks waiting for their next run: active and not paused, and only those. */
  readonly #queue = new TimerQueue<TaskState>();
  /** The app tasks run for; non-null exactly while started. */
  #app: AppHandle | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (epoch ms); Infinity when none is armed. */
  #timerAt = Number.POSITIVE_INFINITY;
  /** Runs that have not settled yet, for the shutdown grace period. */
  readonly #inFlight = new Set<Promise<RunOutcome>>();
  readonly #complaints = new RateLimitedLog();
  #onceCounter = 0;

  /** Registers a recurring task; it starts now when the scheduler is started. */
  addInterval(
    name: string,
    intervalSeconds: unknown,
    fn: TaskFunction,
    immediate: boolean,
  ): BackgroundTask {
    const intervalMs = intervalToMs(intervalSeconds);
    return this.#add(new TaskState(name, 'interval', intervalMs, immediate, fn));
  }

  /** Registers a one-time task that runs `delayMs` after now (or after start). */
  addOnce(name: string | undefined, delayMs: number, fn: TaskFunction): BackgroundTask {
    const taskName = name ?? `once-${++this.#onceCounter}`;
    return this.#add(new TaskState(taskName, 'once', delayMs, false, fn));
  }

  /** The task registered under `name`. */
  get(name: string): BackgroundTask | undefined {
    return this.#tasks.get(name)?.handle;
  }

  /** Every registered task, in registration order. */
  list(): BackgroundTask[] {
    return [...this.#tasks.values()].map((state) => state.handle);
  }

  get started(): boolean {
    return this.#app !== null;
  }

  /** Starts every registered task on a grid anchored now. */
  start(app: AppHandle): void {
    if (this.#app !== null) return;
    this.#app = app;
    const now = Date.now();
    for (const state of this.#tasks.values()) {
      state.context = null;
      state.runArgs = null;
      this.#activate(state, now);
    }
    this.#arm(now);
  }

  /**
   * Stops scheduling, then waits up to `graceMs` for runs in progress to
   * settle. Resolves with the number of runs still going when the wait ended.
   * Leaves no timer behind.
   */
  async stop(graceMs: number): Promise<number> {
    this.#app = null;
    this.#disarm();
    this.#queue.clear();
    for (const state of this.#tasks.values()) state.active = false;
    if (this.#inFlight.size === 0) return 0;
    let graceTimer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise<void>((resolve) => {
          graceTimer = setTimeout(resolve, graceMs);
        }),
      ]);
    } finally {
      clearTimeout(graceTimer);
    }
    return this.#inFlight.size;
  }

  setInterval(state: TaskState, seconds: unknown): void {
    if (state.kind === 'once') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `task "${state.name}" is a one-time task and has no interval; cancel it and schedule another`,
      );
    }
    const intervalMs = intervalToMs(seconds);
    const previousScheduled = slotTime(state.anchor, state.intervalMs, state.index - 1);
    state.intervalMs = intervalMs;
    if (!state.active) return;
    const now = Date.now();
    const next = regrid(previousScheduled, intervalMs, now);
    state.anchor = next.anchor;
    state.index = next.index;
    if (!state.paused) this.#enqueue(state, now);
  }

  pause(state: TaskState): void {
    state.paused = true;
    this.#queue.remove(state);
  }

  resume(state: TaskState): void {
    if (!state.paused) return;
    state.paused = false;
    if (!state.active) return;
    const now = Date.now();
    if (state.kind === 'interval') {
      state.index = Math.max(state.index, firstSlotAfter(state.anchor, state.intervalMs, now));
    }
    this.#enqueue(state, now);
  }

  trigger(state: TaskState): Promise<RunOutcome> {
    if (this.#app === null) {
      return Promise.reject(
        new DaebusError(
          'NOT_RUNNING',
          `task "${state.name}" cannot be triggered: the service is not running`,
        ),
      );
    }
    // A one-time task runs once: triggering it is that run.
    if (state.kind === 'once') this.remove(state);
    return Promise.resolve(this.#execute(state, Date.now()));
  }

  remove(state: TaskState): void {
    if (this.#tasks.get(state.name) !== state) return;
    this.#tasks.delete(state.name);
    this.#queue.remove(state);
    state.active = false;
  }

  #add(state: TaskState): BackgroundTask {
    validateName('task', state.name);
    if (this.#tasks.has(state.name)) {
      throw new DaebusError(
        'DUPLICATE_NAME',
        `a task named "${state.name}" already exists; task names must be unique within a service`,
      );
    }
    state.handle = new BackgroundTask(state, this);
    this.#tasks.set(state.name, state);
    if (this.#app !== null) this.#activate(state, Date.now());
    return state.handle;
  }

  #activate(state: TaskState, now: number): void {
    state.active = true;
    state.anchor = now;
    state.index = state.immediate ? 0 : 1;
    if (!state.paused) this.#enqueue(state, now);
  }

  #enqueue(state: TaskState, now: number): void {
    // A one-time task resumed after its moment runs right away.
    const due = Math.max(
      slotTime(state.anchor, state.intervalMs, state.index),
      state.kind === 'once' ? now : 0,
    );
    this.#queue.schedule(state, due);
    this.#arm(now);
  }

  /** Makes sure a timer fires by the time the first task is due (and within MAX_WAIT_MS). */
  #arm(now: number): void {
    const top = this.#queue.peek();
    if (top === undefined || this.#app === null) {
      this.#disarm();
      return;
    }
    const wait = Math.min(Math.max(Math.ceil(top.due - now), 0), MAX_WAIT_MS);
    const at = now + wait;
    if (this.#timer !== null && this.#timerAt <= at) return;
    this.#disarm();
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, wait);
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (
      let top = this.#queue.peek();
      top !== undefined && top.due <= now;
      top = this.#queue.peek()
    ) {
      this.#queue.pop();
      const scheduledAt = top.due;
      if (top.kind === 'once') {
        this.remove(top);
      } else {
        const next = afterFire(top.anchor, top.intervalMs, top.index, now);
        top.index = next.nextIndex;
        if (next.missed > 0) this.#onMissed(top, next.missed);
        this.#queue.schedule(top, slotTime(top.anchor, top.intervalMs, top.index));
      }
      void this.#execute(top, scheduledAt);
    }
    // Synchronous runs took time: measure the next wait from the clock as it is now.
    this.#arm(Date.now());
  };

  /**
   * Runs a task once under the overlap rule. Synchronous task bodies finish
   * here with no promise allocated; async ones settle later.
   */
  #execute(state: TaskState, _scheduledAt: number): RunOutcome | Promise<RunOutcome> {
    const app = this.#app!;
    if (state.running) {
      state.skipped++;
      this.#complaints.warn(
        app.log,
        `skip:${state.name}`,
        { task: state.name, skipped: state.skipped },
        `task "${state.name}" skipped a run: the previous run is still going`,
      );
      return 'skipped';
    }
    state.running = true;
    const startedAt = Date.now();
    let result: unknown;
    try {
      result = contextStorage.run(
        state.context ?? this.#contextFor(state, app),
        state.fn,
        state.runArgs ?? this.#argsFor(state, app),
      );
    } catch (err) {
      return this.#finish(state, app, startedAt, true, err);
    }
    if (
      result === null ||
      typeof result !== 'object' ||
      typeof (result as PromiseLike<unknown>).then !== 'function'
    ) {
      return this.#finish(state, app, startedAt, false, undefined);
    }
    const settled = Promise.resolve(result).then(
      () => this.#finish(state, app, startedAt, false, undefined),
      (err: unknown) => this.#finish(state, app, startedAt, true, err),
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return settled;
  }

  #finish(
    state: TaskState,
    app: AppHandle,
    startedAt: number,
    failed: boolean,
    err: unknown,
  ): RunOutcome {
    const endedAt = Date.now();
    state.running = false;
    state.runs++;
    state.lastRunAt = startedAt;
    state.lastDurationMs = endedAt - startedAt;
    if (!failed) {
      state.lastError = null;
      return 'succeeded';
    }
    state.failures++;
    state.lastError = errorMessage(err);
    app.log.error(
      {
        task: state.name,
        err: err instanceof Error ? err : new Error(state.lastError),
        failures: state.failures,
      },
      `task "${state.name}" failed: ${state.lastError}`,
    );
    return 'failed';
  }

  #onMissed(state: TaskState, missed: number): void {
    state.missed += missed;
    const app = this.#app;
    if (app === null) return;
    this.#complaints.warn(
      app.log,
      `miss:${state.name}`,
      { task: state.name, missed, total_missed: state.missed },
      `task "${state.name}" woke late and missed ${missed} scheduled run${missed === 1 ? '' : 's'}; it runs once now and keeps its schedule`,
    );
  }

  #contextFor(state: TaskState, app: AppHandle): TaskContext {
    let logger: Logger | undefined;
    const context: TaskContext = {
      kind: 'task',
      app,
      taskName: state.name,
      get logger() {
        logger ??= app.log.child({ task: state.name });
        return logger;
      },
    };
    state.context = context;
    return context;
  }

  #argsFor(state: TaskState, app: AppHandle) {
    const context = state.context ?? this.#contextFor(state, app);
    const args = {
      signal: app.shutdownSignal,
      task: state.handle,
      get logger() {
        return context.logger;
      },
    };
    state.runArgs = args;
    return args;
  }
}

export type { TaskKind };
