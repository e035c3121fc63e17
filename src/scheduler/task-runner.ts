import type { Logger } from 'pino';
import type { AppHandle } from '../context/app-handle.js';
import { type Context, contextStorage, type TaskContext } from '../context/store.js';
import { DaebusError, errorMessage } from '../errors/daebus-error.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { BackgroundTask } from './background-task.js';
import { EndedRuns, type RecordEndedRun } from './ended-runs.js';
import type { ExclusiveLock } from './exclusive-lock.js';
import {
  addToCounter,
  FINISHED_RUN,
  noteFinishedRun,
  noteRun,
  type RunResult,
  readCounter,
} from './run-records.js';
import type { TaskEvent, TaskEventName, TaskEventSink } from './task-events.js';
import type { RunOutcome, TaskRun, TaskState } from './task-state.js';

/** What the runner needs from the scheduler that owns it. */
export interface RunnerHost {
  /** The app runs belong to; null once the scheduler has stopped. */
  readonly app: AppHandle | null;
  readonly events: TaskEventSink;
  /** Claims of exclusive runs; null on a transport without Redis. */
  readonly lock: ExclusiveLock | null;
  /** Queues retry `attempt` of `slot` at `at` (epoch ms). */
  scheduleRetry(state: TaskState, slot: number, attempt: number, at: number): void;
  /** A one-time task's last run has ended: unregister it. */
  onceFinished(state: TaskState): void;
  /** Keeps an async run's promise until it settles, for the shutdown grace period. */
  track(settled: Promise<unknown>): void;
}

/**
 * While runs come due in a burst (the next one within {@link RECORD_GAP_MS}
 * of the end of a timer pass, or already due), successful runs wait to be
 * recorded until the burst has passed, for at most this long (ms) and this
 * many runs: recording them in the middle would delay the runs due next.
 */
const MAX_RECORD_DELAY_MS = 100;
const MAX_WAITING_RUNS = 1 << 16;

/**
 * The gap (ms) before the next due run that lets a pass record its runs:
 * recording a thousand runs takes a few tenths of a millisecond, and the
 * first time (code not compiled yet, records not taken) a few milliseconds.
 */
const RECORD_GAP_MS = 5;

/** The longest an exclusive claim is held, in milliseconds. */
const MAX_CLAIM_MS = 24 * 3600_000;

/** The run object a task function receives; its logger is made only if used. */
class RunArgs implements TaskRun {
  readonly #state: TaskState;
  /** The slot, NaN for a trigger (see TaskRunner). */
  readonly #slot: number;

  constructor(
    state: TaskState,
    readonly signal: AbortSignal,
    readonly runId: number,
    slot: number,
    readonly attempt: number,
  ) {
    this.#state = state;
    this.#slot = slot;
  }

  get scheduledAt(): number | null {
    return Number.isNaN(this.#slot) ? null : this.#slot;
  }

  get task(): BackgroundTask {
    return this.#state.handle;
  }

  get logger(): Logger {
    return this.#state.context!.logger;
  }
}

/** What `AsyncLocalStorage` carries through a task's runs; the logger child is made on first use. */
class TaskRunContext implements TaskContext {
  readonly kind = 'task';
  readonly #state: TaskState;

  constructor(
    state: TaskState,
    readonly app: AppHandle,
  ) {
    this.#state = state;
  }

  get taskName(): string {
    return this.#state.name;
  }

  get logger(): Logger {
    const state = this.#state;
    state.logger ??= this.app.log.child({ task: state.name });
    return state.logger;
  }
}

/** What a task event tells, in the order the runner passes it: the run, and its error and duration when it has them. */
type EventFields = [
  state: TaskState,
  runId: number,
  slot: number,
  startedAt: number | null,
  attempt: number,
  error?: Error,
  durationMs?: number,
];

/** An async run that has not settled yet. */
interface PendingRun {
  readonly state: TaskState;
  readonly runId: number;
  readonly slot: number;
  readonly attempt: number;
  readonly startedAt: number;
  readonly controller: AbortController | null;
  readonly claimed: boolean;
  timer: NodeJS.Timeout | null;
  /** Its outcome is in the statistics (at its end, or at its timeout). */
  recorded: boolean;
  /** The overlap rule no longer counts it (at its end, or when it was found stuck). */
  released: boolean;
}

/**
 * Runs one task once, under its policies: overlap (skip, queue, allow),
 * timeout and stuck detection, retries, exclusive claims, and the
 * statistics, history and events of each run. Synchronous task bodies finish
 * with no promise or timer allocated.
 */
export class TaskRunner {
  readonly #host: RunnerHost;
  readonly #complaints = new RateLimitedLog();
  /** Controllers of the runs with a timeout that have not ended; the shutdown signal aborts them all. */
  readonly #timed = new Set<AbortController>();
  /** The shutdown signal that #timed listens to (one listener, whatever the number of runs). */
  #linked: AbortSignal | null = null;
  /** Synchronous runs that ended well during a timer pass, not recorded yet (see {@link endPass}). */
  readonly #ended = new EndedRuns();
  /** True during a timer pass: successful synchronous runs wait in #ended. */
  #inPass = false;
  /**
   * Whether `task:start` has listeners, asked when a pass begins, and whether
   * `task:success` has, asked when its ended runs are recorded: once per
   * pass rather than once per run. A `task:start` listener that a run adds
   * hears the starts of the next pass on.
   */
  #startWanted = false;
  #successWanted = false;
  /**
   * The context the timer pass began in (none: the scheduler runs its turns
   * in a scope of their own, see contextFreeScope; it is read rather than
   * assumed). Within a pass, each run's context is
   * entered (`enterWith`) rather than scoped (`run`): half the work, with
   * thousands of runs in one pass. The pass's own context is put back before
   * anything else runs: an event listener, the handling of a failure or of a
   * promise, and the end of the pass.
   */
  #passContext: Context | undefined = undefined;
  /** Task functions on the stack: a run started from inside another (a trigger) is scoped. */
  #depth = 0;
  /**
   * The slot of the run that #start starts (NaN for a trigger): set by its
   * callers just before they call it, and read by it before anything else.
   * An argument kept in a field because V8 does not inline #start, and a
   * time (a double) passed to a function that is not inlined is boxed: an
   * allocation per run. With thousands of runs a second, those allocations
   * walk through the young generation's fresh pages of memory, and the
   * first touch of each page is a page fault (15 µs each on the two-core
   * VM this was measured on).
   */
  #startSlot = Number.NaN;
  /**
   * When the last run of this timer pass ended well, if nothing but the
   * scheduler's own bookkeeping (microseconds) has happened since: the next
   * run starts then, and reads the clock once (when it ends), not twice. A
   * clock reading is a call into the runtime, some 50 ns each, for each of
   * thousands of runs. NaN when the next run must read the clock (a fraction
   * from the start, as #startSlot).
   */
  #lastEndedAt = Number.NaN;

  constructor(host: RunnerHost) {
    this.#host = host;
  }

  /**
   * A timer pass begins: until {@link endPass}, a synchronous run that ends
   * well is recorded at the end of the pass, after every due run has started.
   */
  beginPass(): void {
    this.#inPass = true;
    this.#lastEndedAt = Number.NaN;
    this.#passContext = contextStorage.getStore();
    this.#startWanted = this.#host.events.wants('task:start');
  }

  /**
   * The timer pass has started every due run: records the runs that ended
   * meanwhile, unless the next run is due within {@link RECORD_GAP_MS}
   * (`nextDueIn` ms from now; negative when it is due already, infinite when
   * none is queued). Then the next passes start their runs first: the
   * recording waits for a gap, or {@link MAX_RECORD_DELAY_MS} at most.
   */
  endPass(nextDueIn: number): void {
    this.#inPass = false;
    this.#lastEndedAt = Number.NaN;
    this.#restorePassContext();
    const ended = this.#ended;
    if (
      nextDueIn < RECORD_GAP_MS &&
      ended.size < MAX_WAITING_RUNS &&
      Date.now() - ended.oldestEndedAt < MAX_RECORD_DELAY_MS
    )
      return;
    this.#drainEnded();
  }

  /** The timer pass slept until its next run was due: that run reads the clock again. */
  clockMoved(): void {
    this.#lastEndedAt = Number.NaN;
  }

  /** Records the runs that wait, outside a timer pass: their task's statistics are read. */
  recordEnded(): void {
    if (!this.#inPass) this.#drainEnded();
  }

  /** Records the runs that ended well and wait in #ended, oldest first. */
  #drainEnded(): void {
    if (this.#ended.size === 0) return;
    this.#successWanted = this.#host.events.wants('task:success');
    this.#ended.drain(this.#recordSuccess);
  }

  /**
   * Runs (or skips, queues, hands elsewhere) one run of `state` for `slot`
   * (null for a trigger). From here on a slot is a number, NaN for a
   * trigger, and null only in what users see (the run, the events): a
   * value that may be null is kept boxed, and boxing a time allocates, once
   * per run.
   */
  execute(
    state: TaskState,
    slot: number | null,
    attempt: number,
  ): RunOutcome | Promise<RunOutcome> {
    const runSlot = slot ?? Number.NaN;
    if (state.activeRuns > 0) {
      const { overlap, maxConcurrent } = state.options;
      if (overlap === 'queue' && state.queued === null) {
        state.queued = { slot: runSlot, attempt };
        return 'queued';
      }
      if (overlap !== 'allow' || state.activeRuns >= maxConcurrent)
        return this.#skip(state, runSlot);
    }
    const lock = this.#host.lock;
    if (state.options.exclusive && lock !== null && !Number.isNaN(runSlot))
      return this.#claimThenStart(state, runSlot, attempt, lock);
    this.#startSlot = runSlot;
    return this.#start(state, attempt, false);
  }

  #skip(state: TaskState, slot: number): RunOutcome {
    // The warning below may take a while to write.
    this.#lastEndedAt = Number.NaN;
    const skipped = addToCounter(state, 'skipped');
    const app = this.#host.app;
    if (app !== null) {
      this.#complaints.warn(
        app.log,
        `skip:${state.name}`,
        { task: state.name, skipped },
        `task "${state.name}" skipped a run: the previous run is still going`,
      );
    }
    this.#emit('task:skip', state, 0, slot, null, 0);
    return 'skipped';
  }

  async #claimThenStart(
    state: TaskState,
    slot: number,
    attempt: number,
    lock: ExclusiveLock,
  ): Promise<RunOutcome> {
    // Hold the overlap slot while the claim travels, so that a run due meanwhile sees this one.
    state.activeRuns++;
    let claimed = false;
    let unreachable = false;
    try {
      const ttl = Math.min(
        MAX_CLAIM_MS,
        Math.max(1000, state.slot - slot, state.options.timeoutMs ?? 0),
      );
      // A retry's slot is still claimed by this replica (its guard has not expired): take it again.
      claimed =
        attempt > 0
          ? await lock.reclaim(state.name, slot, ttl)
          : await lock.claim(state.name, slot, ttl);
    } catch (err) {
      unreachable = true;
      const app = this.#host.app;
      if (app !== null) {
        this.#complaints.warn(
          app.log,
          `claim:${state.name}`,
          { task: state.name, err },
          `exclusive task "${state.name}" skipped a run: its claim could not reach Redis (${errorMessage(err)})`,
        );
      }
    }
    state.activeRuns--;
    if (!claimed || this.#host.app === null) {
      if (claimed) lock.release(state.name, slot, 1);
      // A claim that could not reach Redis is no run elsewhere: nobody ran the slot (logged above).
      else if (!unreachable) addToCounter(state, 'elsewhere');
      return 'elsewhere';
    }
    this.#startSlot = slot;
    return this.#start(state, attempt, true);
  }

  /** Starts a run of `state` for the slot in #startSlot. */
  #start(state: TaskState, attempt: number, claimed: boolean): RunOutcome | Promise<RunOutcome> {
    const slot = this.#startSlot;
    const app = this.#host.app!;
    const runId = ++state.started;
    state.activeRuns++;
    const controller =
      state.options.timeoutMs === null ? null : this.#timedController(app.shutdownSignal);
    const signal = controller === null ? app.shutdownSignal : controller.signal;
    const args = new RunArgs(state, signal, runId, slot, attempt);
    const context = state.context ?? this.#contextFor(state, app);
    const startedAt = this.#lastEndedAt > 0 ? this.#lastEndedAt : Date.now();
    this.#lastEndedAt = Number.NaN;
    const entered = this.#inPass && this.#depth === 0;
    if (entered ? this.#startWanted : this.#host.events.wants('task:start')) {
      if (entered) this.#restorePassContext();
      this.#send('task:start', state, runId, slot, startedAt, attempt);
    }
    let result: unknown;
    this.#depth++;
    try {
      if (entered) {
        contextStorage.enterWith(context);
        result = state.fn(args);
      } else {
        result = contextStorage.run(context, state.fn, args);
      }
    } catch (err) {
      this.#depth--;
      if (entered) this.#restorePassContext();
      const endedAt = Date.now();
      if (controller !== null) this.#timed.delete(controller);
      this.#record(state, runId, slot, attempt, startedAt, endedAt, 'error', err);
      this.#release(state, slot, claimed);
      return 'failed';
    }
    this.#depth--;
    if (
      result === null ||
      typeof result !== 'object' ||
      typeof (result as PromiseLike<unknown>).then !== 'function'
    ) {
      const endedAt = Date.now();
      if (controller !== null) this.#timed.delete(controller);
      if (entered) this.#lastEndedAt = endedAt;
      if (this.#inPass) this.#ended.add(state, runId, slot, attempt, startedAt, endedAt);
      else this.#record(state, runId, slot, attempt, startedAt, endedAt, 'success', undefined);
      this.#release(state, slot, claimed);
      return 'succeeded';
    }
    // The promise's reactions are made in the pass's context, as they would be after run().
    if (entered) this.#restorePassContext();
    return this.#awaitRun(
      { state, runId, slot, attempt, startedAt, controller, claimed },
      result as PromiseLike<unknown>,
    );
  }

  /**
   * A run's function returned a promise: watches its timeout (or when it
   * counts as stuck), and records the run when the promise settles. Apart
   * from #start, which synchronous runs go through alone, so that theirs
   * stays short.
   */
  #awaitRun(
    started: Omit<PendingRun, 'timer' | 'recorded' | 'released'>,
    result: PromiseLike<unknown>,
  ): Promise<RunOutcome> {
    const run: PendingRun = { ...started, timer: null, recorded: false, released: false };
    const { timeoutMs, stuckAfterMs } = run.state.options;
    if (timeoutMs !== null) run.timer = setTimeout(() => this.#onTimeout(run), timeoutMs);
    else if (stuckAfterMs !== null) run.timer = setTimeout(() => this.#onStuck(run), stuckAfterMs);
    const settled = Promise.resolve(result).then(
      () => this.#settle(run, false, undefined),
      (err: unknown) => this.#settle(run, true, err),
    );
    this.#host.track(settled);
    return settled;
  }

  /** Puts back the context the timer pass began in (see #passContext). */
  #restorePassContext(): void {
    contextStorage.enterWith(this.#passContext as Context);
  }

  /**
   * A run's own controller, aborted at its timeout or when the app shuts
   * down. Not `AbortSignal.any([shutdown, own])`: on Node 20 that leaves a
   * WeakRef in the long-lived shutdown signal for every run, which is never
   * removed (a leak a soak test shows).
   */
  #timedController(shutdown: AbortSignal): AbortController {
    const controller = new AbortController();
    if (shutdown.aborted) {
      controller.abort(shutdown.reason);
      return controller;
    }
    if (this.#linked !== shutdown) {
      this.#linked = shutdown;
      const timed = this.#timed;
      shutdown.addEventListener(
        'abort',
        () => {
          for (const each of timed) each.abort(shutdown.reason);
          timed.clear();
        },
        { once: true },
      );
    }
    this.#timed.add(controller);
    return controller;
  }

  #settle(run: PendingRun, failed: boolean, err: unknown): RunOutcome {
    if (run.controller !== null) this.#timed.delete(run.controller);
    if (run.timer !== null) clearTimeout(run.timer);
    run.timer = null;
    if (!run.recorded) {
      run.recorded = true;
      this.#record(
        run.state,
        run.runId,
        run.slot,
        run.attempt,
        run.startedAt,
        Date.now(),
        failed ? 'error' : 'success',
        err,
      );
    }
    if (!run.released) {
      run.released = true;
      this.#release(run.state, run.slot, run.claimed);
    }
    return failed ? 'failed' : 'succeeded';
  }

  #onTimeout(run: PendingRun): void {
    const { state } = run;
    const seconds = state.options.timeoutMs! / 1000;
    const error = new DaebusError(
      'TIMEOUT',
      `task "${state.name}" run ${run.runId} timed out after ${seconds} s`,
    );
    addToCounter(state, 'timeouts');
    run.recorded = true;
    run.controller!.abort(error);
    this.#record(
      state,
      run.runId,
      run.slot,
      run.attempt,
      run.startedAt,
      Date.now(),
      'timeout',
      error,
    );
    this.#emit('task:timeout', state, run.runId, run.slot, run.startedAt, run.attempt, error);
    const stuckAfterMs = state.options.stuckAfterMs;
    if (stuckAfterMs !== null)
      run.timer = setTimeout(
        () => this.#onStuck(run),
        Math.max(0, stuckAfterMs - state.options.timeoutMs!),
      );
    else run.timer = null;
  }

  #onStuck(run: PendingRun): void {
    run.timer = null;
    if (run.released) return;
    const { state } = run;
    addToCounter(state, 'stuck');
    const app = this.#host.app;
    app?.log.warn(
      { task: state.name, run_id: run.runId, running_ms: Date.now() - run.startedAt },
      `task "${state.name}" run ${run.runId} is stuck: it has not ended after ${state.options.stuckAfterMs! / 1000} s; the schedule no longer waits for it`,
    );
    this.#emit('task:stuck', state, run.runId, run.slot, run.startedAt, run.attempt);
    run.released = true;
    this.#release(state, run.slot, run.claimed);
  }

  /** Records a successful run that waited for the end of its timer pass. */
  readonly #recordSuccess: RecordEndedRun = (state, numbers, at) => {
    noteFinishedRun(state, numbers, at, 'success', null);
    if (this.#successWanted) {
      this.#send(
        'task:success',
        state,
        numbers[at + FINISHED_RUN.runId]!,
        numbers[at + FINISHED_RUN.slot]!,
        numbers[at + FINISHED_RUN.startedAt]!,
        numbers[at + FINISHED_RUN.attempt]!,
        undefined,
        numbers[at + FINISHED_RUN.durationMs]!,
      );
    }
  };

  /** Writes a finished run into the task's statistics, history and events, and plans its retry. */
  #record(
    state: TaskState,
    runId: number,
    slot: number,
    attempt: number,
    startedAt: number,
    endedAt: number,
    result: RunResult,
    err: unknown,
  ): void {
    // Runs that ended before this one are recorded first: the history keeps their order.
    this.#drainEnded();
    const duration = endedAt - startedAt;
    const error =
      result === 'success' ? undefined : err instanceof Error ? err : new Error(errorMessage(err));
    const message = error === undefined ? null : error.message || errorMessage(err);
    noteRun(state, runId, slot, attempt, startedAt, duration, result, message);
    if (error !== undefined) {
      this.#host.app?.log.error(
        { task: state.name, err: error, run_id: runId, failures: readCounter(state, 'failures') },
        `task "${state.name}" failed: ${message}`,
      );
    }
    this.#emit(
      result === 'success' ? 'task:success' : 'task:error',
      state,
      runId,
      slot,
      startedAt,
      attempt,
      error,
      duration,
    );
    if (result !== 'success' && !Number.isNaN(slot) && attempt < state.options.retryAttempts) {
      this.#host.scheduleRetry(
        state,
        slot,
        attempt + 1,
        endedAt + state.options.retryBackoffMs * 2 ** attempt,
      );
    }
  }

  /**
   * A run no longer holds its overlap slot: start the queued run, finish a
   * one-time task, end the claim.
   */
  #release(state: TaskState, slot: number, claimed: boolean): void {
    state.activeRuns--;
    if (claimed && !Number.isNaN(slot)) {
      const guard = Math.min(60_000, Math.max(1000, (state.slot - slot) / 2));
      this.#host.lock?.release(state.name, slot, guard);
    }
    if (state.activeRuns > 0) return;
    const queued = state.queued;
    if (queued !== null && this.#host.app !== null) {
      state.queued = null;
      void this.execute(state, queued.slot, queued.attempt);
      return;
    }
    if (state.kind === 'once' && state.done && state.pendingRetries === 0)
      this.#host.onceFinished(state);
  }

  /** Emits `event` when someone listens to it. */
  #emit(event: TaskEventName, ...fields: EventFields): void {
    if (this.#host.events.wants(event)) this.#send(event, ...fields);
  }

  /** Builds the event and hands it to the app (whether anyone listens was asked before). */
  #send(
    event: TaskEventName,
    ...[state, runId, slot, startedAt, attempt, error, durationMs]: EventFields
  ): void {
    const payload: TaskEvent = {
      task: state.name,
      runId,
      scheduledAt: Number.isNaN(slot) ? null : new Date(slot),
      startedAt: startedAt === null ? null : new Date(startedAt),
      durationMs: durationMs ?? (startedAt === null ? null : Date.now() - startedAt),
      attempt,
    };
    if (error !== undefined) payload.error = error;
    this.#host.events.emit(event, payload);
  }

  #contextFor(state: TaskState, app: AppHandle): TaskContext {
    const context = new TaskRunContext(state, app);
    state.context = context;
    return context;
  }

  /**
   * Reports scheduled runs that passed while the process could not run them;
   * `slot` is the one the event names (a dropped late run's own slot).
   */
  missed(state: TaskState, count: number, slot = state.slot): void {
    // The warning below may take a while to write.
    this.#lastEndedAt = Number.NaN;
    const totalMissed = addToCounter(state, 'missed', count);
    const app = this.#host.app;
    if (app !== null) {
      this.#complaints.warn(
        app.log,
        `miss:${state.name}`,
        { task: state.name, missed: count, total_missed: totalMissed },
        `task "${state.name}" woke late and missed ${count} scheduled run${count === 1 ? '' : 's'}; it keeps its schedule`,
      );
    }
    const events = this.#host.events;
    if (events.wants('task:miss')) {
      events.emit('task:miss', {
        task: state.name,
        runId: 0,
        scheduledAt: new Date(slot),
        startedAt: null,
        durationMs: null,
        attempt: 0,
        missed: count,
      });
    }
  }
}
