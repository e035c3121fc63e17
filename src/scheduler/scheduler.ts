import type { AsyncResource } from 'node:async_hooks';
import type { Worker } from 'node:worker_threads';
import type { Cron } from 'croner';
import type { AppHandle } from '../context/app-handle.js';
import { contextFreeScope } from '../context/store.js';
import { DaebusError } from '../errors/daebus-error.js';
import { validateName } from '../protocol/names.js';
import { BackgroundTask } from './background-task.js';
import { createCron, nextCronTime } from './cron-schedule.js';
import { ExclusiveLock } from './exclusive-lock.js';
import { firstSlotAfter } from './grid.js';
import {
  advancePastFire,
  placeFirstSlot,
  placeResumeSlot,
  regridInterval,
  setPendingIndex,
  setPendingSlot,
} from './next-run.js';
import { MAX_SLEEP_MS, PreciseWake, preciseNow } from './precise-wake.js';
import { detachRuns } from './run-records.js';
import { detachTimes, SLOT, SLOT_DUE } from './schedule-times.js';
import type { TaskEventSink } from './task-events.js';
import {
  checkJitter,
  intervalToMs,
  type ResolvedTaskOptions,
  resolveSchedule,
  resolveTaskOptions,
} from './task-options.js';
import { type RunnerHost, TaskRunner } from './task-runner.js';
import { type RunOutcome, type TaskFunction, TaskState } from './task-state.js';
import { type QueueEntry, TimerQueue } from './timer-queue.js';
import { NEXT_TURN, planWake } from './wake-plan.js';
import { terminateWorkers, workerTaskFunction } from './worker/worker-runner.js';

/** The longest one timer pass keeps running tasks that come due during it, before it yields to I/O. */
const MAX_PASS_MS = 10;

/** A retry of a failed run, waiting in the timer queue beside the tasks. */
class RetryEntry implements QueueEntry {
  seq = 0;
  heapIndex = -1;

  constructor(
    readonly state: TaskState,
    readonly slot: number,
    readonly attempt: number,
  ) {}
}

const NO_EVENTS: TaskEventSink = { wants: () => false, emit: () => undefined };

/**
 * Runs every task of one app from a single timer over a queue of due times
 * (buckets of tasks due together, ordered by a heap of the distinct times):
 * all tasks due in the same millisecond run in one pass. Where each task goes
 * next is computed by the pure functions of `next-run.ts`; how a run is
 * carried out, by the {@link TaskRunner}.
 */
export class Scheduler implements RunnerHost {
  readonly events: TaskEventSink;
  /** Every registered task by name, started or not; a one-time task leaves once its run has ended. */
  readonly #tasks = new Map<string, TaskState>();
  /** Tasks waiting for their next slot (active, not paused, not done) and pending retries; only those. */
  readonly #queue = new TimerQueue<TaskState | RetryEntry>();
  readonly #runner: TaskRunner;
  /** The app tasks run for; non-null exactly while started. */
  #app: AppHandle | null = null;
  #lock: ExclusiveLock | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Armed instead of #timer when the first entry is due in a moment (see planWake). */
  #nextTurn: NodeJS.Immediate | null = null;
  /** When the armed timer (or next turn) fires (epoch ms); Infinity when none is armed. */
  #timerAt = Number.POSITIVE_INFINITY;
  /** The due time of the entry the armed timer (or next turn) was set for; Infinity when none is armed. */
  #armedFor = Number.POSITIVE_INFINITY;
  /** Sleeps the last moment before a due time, for sub-millisecond precision. */
  readonly #wake = new PreciseWake();
  /**
   * The time (epoch ms) the running timer pass fires its due entries as of,
   * for #fire. A field rather than an argument: a time passed to a function
   * that V8 does not inline is boxed, an allocation per run, and #fire is
   * too large to be inlined into the pass. It holds a fraction from the
   * start (NaN), so that its first time does not change how V8 stores it.
   */
  #passNow = Number.NaN;
  /**
   * Where timer turns run while the scheduler is started: their runs'
   * contexts are entered in it (see contextFreeScope). Made by start() and
   * destroyed by stop(), so that async hooks see it end.
   */
  #turnScope: AsyncResource | null = null;
  /** Async runs that have not settled yet, for the shutdown grace period. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #onceCounter = 0;
  /** Worker threads of this scheduler's worker tasks that are running now. */
  readonly #workers = new Set<Worker>();

  constructor(events: TaskEventSink = NO_EVENTS) {
    this.events = events;
    this.#runner = new TaskRunner(this);
  }

  get app(): AppHandle | null {
    return this.#app;
  }

  get lock(): ExclusiveLock | null {
    return this.#lock;
  }

  get started(): boolean {
    return this.#app !== null;
  }

  /**
   * Registers a recurring task (`fn` null for a worker task). When the
   * scheduler is started, the task starts as of `calledAt`: the moment it was
   * asked for, not after its options were checked.
   */
  addRecurring(
    name: string,
    schedule: unknown,
    fn: TaskFunction | null,
    options: unknown,
    calledAt = Date.now(),
  ): BackgroundTask {
    validateName('task', name);
    const resolvedSchedule = resolveSchedule(name, schedule);
    const resolved = resolveTaskOptions(name, options);
    const body = this.#body(name, fn, resolved);
    this.#checkUnique(name);
    if (typeof resolvedSchedule === 'number') {
      if (resolved.jitterMs > 0) checkJitter(name, resolved.jitterMs, resolvedSchedule);
      return this.#add(new TaskState(name, 'interval', resolvedSchedule, body, resolved), calledAt);
    }
    const state = new TaskState(name, 'cron', 0, body, resolved);
    setCron(state, resolvedSchedule.expression, resolvedSchedule.timezone, resolvedSchedule.cron);
    return this.#add(state, calledAt);
  }

  /** Registers a one-time task that runs `delayMs` after `calledAt` (or after start). */
  addOnce(
    name: string | undefined,
    delayMs: number,
    fn: TaskFunction | null,
    options: unknown,
    calledAt = Date.now(),
  ): BackgroundTask {
    const taskName = name ?? `once-${++this.#onceCounter}`;
    validateName('task', taskName);
    const resolved = resolveTaskOptions(taskName, options);
    const body = this.#body(taskName, fn, resolved);
    this.#checkUnique(taskName);
    return this.#add(new TaskState(taskName, 'once', delayMs, body, resolved), calledAt);
  }

  /** The task registered under `name`. */
  get(name: string): BackgroundTask | undefined {
    return this.#tasks.get(name)?.handle;
  }

  /** Every registered task, in registration order. */
  list(): BackgroundTask[] {
    return [...this.#tasks.values()].map((state) => state.handle);
  }

  /** Starts every registered task, as of now. */
  start(app: AppHandle): void {
    if (this.#app !== null) return;
    this.#app = app;
    this.#turnScope = contextFreeScope('DaebusSchedulerTurn');
    this.#lock =
      app.cacheClient === null
        ? null
        : new ExclusiveLock(app.cacheClient, app.service, app.instance);
    const now = Date.now();
    for (const state of this.#tasks.values()) {
      state.context = null;
      state.logger = null;
      this.#activate(state, now);
    }
    this.#arm(now);
  }

  /**
   * Stops scheduling, then waits up to `graceMs` for runs in progress to
   * settle; worker threads still there then are terminated (those of runs
   * still going, and any that outlived a run that ended). Resolves with the
   * number of runs still going when the wait ended. Leaves no timer behind.
   */
  async stop(graceMs: number): Promise<number> {
    this.#runner.recordEnded();
    this.#app = null;
    this.#lock = null;
    this.#disarm();
    this.#turnScope?.emitDestroy();
    this.#turnScope = null;
    this.#queue.clear();
    for (const state of this.#tasks.values()) {
      state.active = false;
      state.queued = null;
      state.pendingRetries = 0;
    }
    if (this.#inFlight.size > 0) await this.#waitForRuns(graceMs);
    const left = this.#inFlight.size;
    if (this.#workers.size > 0) await terminateWorkers(this.#workers);
    return left;
  }

  /** Waits until the runs in progress have settled, or `graceMs` has passed. */
  async #waitForRuns(graceMs: number): Promise<void> {
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
  }

  setInterval(state: TaskState, seconds: unknown): void {
    if (state.kind === 'once') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `task "${state.name}" is a one-time task and has no interval; cancel it and schedule another`,
      );
    }
    const intervalMs = intervalToMs(seconds);
    checkJitter(state.name, state.options.jitterMs, intervalMs);
    this.#reschedule(state, (now) => {
      const { exclusive, startAt } = state.options;
      if (exclusive || (startAt !== null && startAt > now)) {
        // Replicas must agree: stay on the epoch-anchored grid of the new interval.
        // Before startAt, the new grid starts there: no run comes earlier.
        state.kind = 'interval';
        state.intervalMs = intervalMs;
        state.anchor = startAt ?? 0;
        setPendingIndex(state, firstSlotAfter(state.anchor, intervalMs, now));
      } else {
        regridInterval(state, intervalMs, state.lastSlot, now);
      }
      state.cron = null;
    });
  }

  setCron(state: TaskState, expression: unknown, timezone: string | null): void {
    if (state.kind === 'once') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `task "${state.name}" is a one-time task and cannot take a cron schedule`,
      );
    }
    const cron = createCron(state.name, expression, timezone); // validate before changing anything
    this.#reschedule(state, (now) => {
      setCron(state, expression as string, timezone, cron);
      // No run before startAt: the first time is on or after it.
      const next = nextCronTime(cron, Math.max(now, (state.options.startAt ?? 0) - 1));
      if (next === null) state.done = true;
      else setPendingSlot(state, next);
    });
  }

  setTimezone(state: TaskState, timezone: string | null): void {
    if (state.cron === null) {
      throw new DaebusError(
        'INVALID_CONFIG',
        `task "${state.name}" is not a cron task; a time zone applies to cron schedules only`,
      );
    }
    this.setCron(state, state.cron.expression, timezone);
  }

  pause(state: TaskState): void {
    state.paused = true;
    this.#queue.remove(state);
  }

  resume(state: TaskState): void {
    if (!state.paused) return;
    state.paused = false;
    if (!state.active || state.done) return;
    const now = Date.now();
    placeResumeSlot(state, now);
    this.#enqueue(state);
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
    if (this.#tasks.get(state.name) !== state) {
      return Promise.reject(
        new DaebusError(
          'TASK_NOT_FOUND',
          `task "${state.name}" cannot be triggered: it was cancelled or has run`,
        ),
      );
    }
    if (state.kind === 'once') {
      // Run now instead of later: it must not run a second time at its moment.
      state.done = true;
      this.#queue.remove(state);
    }
    return Promise.resolve(this.#runner.execute(state, null, 0));
  }

  remove(state: TaskState): void {
    if (this.#tasks.get(state.name) !== state) return;
    this.#tasks.delete(state.name);
    this.#queue.remove(state);
    state.active = false;
    state.queued = null;
    // Even before its first run is recorded (which may wait for the end of the pass).
    detachRuns(state);
    detachTimes(state);
  }

  // RunnerHost

  scheduleRetry(state: TaskState, slot: number, attempt: number, at: number): void {
    if (!state.active) return;
    // A retry that would come after the next scheduled run is not made.
    if (state.heapIndex >= 0 && at >= state.slotDue) return;
    const retry = new RetryEntry(state, slot, attempt);
    const now = Date.now();
    state.pendingRetries++;
    this.#queue.schedule(retry, at);
    this.#arm(now);
  }

  onceFinished(state: TaskState): void {
    this.remove(state);
  }

  /** Records the runs that ended well and wait (see {@link TaskRunner.endPass}), before statistics are read. */
  recordEnded(): void {
    this.#runner.recordEnded();
  }

  track(settled: Promise<unknown>): void {
    this.#inFlight.add(settled);
    void settled.finally(() => this.#inFlight.delete(settled));
  }

  // Internals

  #body(name: string, fn: TaskFunction | null, options: ResolvedTaskOptions): TaskFunction {
    if (options.worker !== null) {
      if (fn !== null) {
        throw new DaebusError(
          'INVALID_CONFIG',
          `task "${name}" has both a function and a worker module; give one of them`,
        );
      }
      return workerTaskFunction(options.worker, this.#workers);
    }
    if (typeof fn !== 'function') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `task "${name}" needs a function to run (or a worker module), got ${fn === null ? 'null' : typeof fn}`,
      );
    }
    return fn;
  }

  /** Throws when a task named `name` is registered already: checked before its state is made. */
  #checkUnique(name: string): void {
    if (this.#tasks.has(name)) {
      throw new DaebusError(
        'DUPLICATE_NAME',
        `a task named "${name}" already exists; task names must be unique within a service`,
      );
    }
  }

  /** Registers `state` (its name checked unique); a started scheduler starts it as of `calledAt`, when it was asked for. */
  #add(state: TaskState, calledAt: number): BackgroundTask {
    state.handle = new BackgroundTask(state, this);
    this.#tasks.set(state.name, state);
    if (this.#app !== null) this.#activate(state, calledAt);
    return state.handle;
  }

  #activate(state: TaskState, now: number): void {
    state.active = true;
    state.done = false;
    state.scheduledStarts = 0;
    placeFirstSlot(state, now);
    if (!state.paused && !state.done) this.#enqueue(state);
  }

  /** Applies a schedule change: `change` places the new pending slot, then the task is re-queued. */
  #reschedule(state: TaskState, change: (now: number) => void): void {
    if (!state.active) {
      change(Date.now());
      return;
    }
    const now = Date.now();
    // A task that has made its maxRuns stays done; otherwise the new schedule decides.
    state.done = state.scheduledStarts >= state.options.maxRuns;
    this.#queue.remove(state);
    change(now);
    if (!state.paused && !state.done) this.#enqueue(state);
  }

  #enqueue(state: TaskState): void {
    const due = state.slotDue;
    this.#queue.schedule(state, due);
    // The wake-up armed for an entry due no later comes in time for this one too (thousands of
    // tasks registered together need one timer, not a look at it each).
    if (due >= this.#armedFor) return;
    // A fresh reading: the moment a task was placed as of may be a little behind.
    this.#arm(Date.now());
  }

  /** Makes sure the scheduler wakes by the time the first entry is due (see planWake). */
  #arm(now: number): void {
    const due = this.#queue.firstDue();
    if (due === Number.POSITIVE_INFINITY || this.#app === null) {
      this.#disarm();
      return;
    }
    const wait = planWake(due - now, this.#wake);
    const at = wait === NEXT_TURN ? now : now + wait;
    if (this.#timerAt <= at) return;
    this.#disarm();
    this.#timerAt = at;
    this.#armedFor = due;
    if (wait === NEXT_TURN) this.#nextTurn = setImmediate(this.#onTimer);
    else this.#timer = setTimeout(this.#onTimer, wait);
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#nextTurn !== null) clearImmediate(this.#nextTurn);
    this.#timer = null;
    this.#nextTurn = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  /**
   * The timer (or next turn) fired. The turn runs in the scheduler's own
   * async scope (see contextFreeScope): the runs' contexts are entered there,
   * and the timer it arms next carries no context of a handler that armed
   * an earlier one.
   */
  readonly #onTimer = (): void => {
    // Armed only while started (see #arm), and stop() disarms before it drops the scope.
    this.#turnScope!.runInAsyncScope(this.#turn, this);
  };

  #turn(): void {
    // Nothing is armed now (clearing the timer or next turn that fired does nothing).
    this.#disarm();
    // The thread sleeps at most MAX_SLEEP_MS in one turn of the event loop, so I/O waits no longer.
    const turnStarted = performance.now();
    const first = this.#queue.firstDue();
    // The pass runs unless the first entry is not due yet and too far off (or out of sleep budget)
    // to sleep the rest; either way the timer is set again below. A single way out of this
    // function: its optimized code has seen every call in it, and is not thrown away the first
    // time a wake-up comes early.
    if (first === Number.POSITIVE_INFINITY || this.#wake.sleepUntil(first))
      this.#runPass(turnStarted);
    // Measured after the runs: a synchronous run must not make the next wait too short.
    this.#arm(Date.now());
  }

  /** Runs what is due, and what comes due while the pass lasts (up to MAX_PASS_MS). */
  #runPass(turnStarted: number): void {
    const started = preciseNow();
    // The same time as #passNow, kept in a local for popDue too: read from the field and passed
    // on, it was boxed again (about 10 bytes more a run).
    let now = started;
    this.#passNow = now;
    let nextDueIn = Number.POSITIVE_INFINITY;
    this.#runner.beginPass();
    try {
      for (;;) {
        let top = this.#queue.popDue(now);
        if (top === undefined) {
          // Entries that came due while this pass ran, or come due within a moment of its end,
          // go in this pass, not a timer turn (a millisecond or more) later; but a pass never
          // keeps I/O waiting for long.
          if (preciseNow() - started >= MAX_PASS_MS) break;
          const next = this.#queue.firstDue();
          const sleepLeft = MAX_SLEEP_MS - (performance.now() - turnStarted);
          if (next === Number.POSITIVE_INFINITY || !this.#wake.sleepUntil(next, sleepLeft)) break;
          this.#runner.clockMoved();
          now = preciseNow();
          this.#passNow = now;
          top = this.#queue.popDue(now);
          if (top === undefined) break;
        }
        if (top instanceof RetryEntry) {
          top.state.pendingRetries--;
          if (top.state.active) void this.#runner.execute(top.state, top.slot, top.attempt);
        } else {
          this.#fire(top);
        }
      }
      const next = this.#queue.firstDue();
      if (next !== Number.POSITIVE_INFINITY) nextDueIn = next - preciseNow();
    } finally {
      this.#runner.endPass(nextDueIn);
    }
  }

  /**
   * The pending slot of `state` is due (at #passNow): advance its schedule,
   * then run it under its policies. Its times are read from its row, not
   * through its accessors, which are calls of their own until V8 has
   * compiled this (see `next-run.ts`).
   */
  #fire(state: TaskState): void {
    const now = this.#passNow;
    const row = state.times;
    const at = state.timesBase;
    const slot = row[at + SLOT]!;
    // Lateness counts from when this run was due: its slot plus its own jitter.
    const due = row[at + SLOT_DUE]!;
    const missed = advancePastFire(state, now);
    if (missed > 0) this.#runner.missed(state, missed);
    if (!state.done) this.#queue.schedule(state, row[at + SLOT_DUE]!);
    const { misfire, misfireGraceMs, maxRuns } = state.options;
    let outcome: RunOutcome | Promise<RunOutcome>;
    if (misfire === 'skip' && now - due > misfireGraceMs) {
      this.#runner.missed(state, 1, slot);
      outcome = 'skipped';
    } else {
      outcome = this.#runner.execute(state, slot, 0);
    }
    if (outcome !== 'skipped' && ++state.scheduledStarts >= maxRuns) {
      state.done = true;
      this.#queue.remove(state);
    }
    if (state.kind === 'once' && outcome === 'skipped') this.remove(state);
  }
}

/** Makes `state` a cron task with `expression` in `timezone`. */
function setCron(state: TaskState, expression: string, timezone: string | null, cron: Cron): void {
  state.kind = 'cron';
  state.cron = { cron, expression, timezone };
}
