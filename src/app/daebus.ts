import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppHandle } from '../context/app-handle.js';
import { registerRunningApp, unregisterRunningApp } from '../context/running-apps.js';
import { prepareContextStorage } from '../context/store.js';
import { DaebusError, errorMessage } from '../errors/daebus-error.js';
import { createLogger } from '../logging/logger.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { instanceChannel, serviceChannel, validateName } from '../protocol/names.js';
import type { BackgroundTask } from '../scheduler/background-task.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { TaskEventMap, TaskEventName } from '../scheduler/task-events.js';
import {
  type AfterOptions,
  type BackgroundOptions,
  checkTaskFunction,
  delayToMs,
  type ScheduleSpec,
} from '../scheduler/task-options.js';
import type { TaskFunction } from '../scheduler/task-state.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import { redisTransportFor } from '../transport/redis/redis-setting.js';
import { RedisTransport } from '../transport/redis/redis-transport.js';
import type {
  MessageListener,
  Transport,
  TransportStatus,
  Unsubscribe,
} from '../transport/transport.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { ActionMap, PayloadOf, ResultOf, UntypedActions } from './contracts.js';
import { type AnyActionHandler, type AnyListenHandler, Dispatcher } from './dispatcher.js';
import type { ActionContext, ListenContext } from './handler-context.js';
import { Heartbeat } from './heartbeat.js';
import { HELPER_THREAD_NICE, lowerHelperThreads } from './helper-threads.js';
import { createInstanceId } from './instance-id.js';
import { reservedActions } from './introspection.js';
import {
  type DaebusOptions,
  type ResolvedOptions,
  type RunOptions,
  resolveOptions,
} from './options.js';
import { RequestClaims, resolveReplicaMode } from './request-claims.js';
import { handleShutdownSignals } from './signals.js';

/** Options of a task that runs in a worker thread. */
export type WorkerTaskOptions = BackgroundOptions & { worker: URL | string };

function isWorkerOptions<T extends { worker?: unknown }>(
  value: unknown,
  options: unknown,
): value is T & { worker: URL | string } {
  return options === undefined && value !== null && typeof value === 'object' && 'worker' in value;
}

/** The events of an app: its status, its connection, and its task runs. */
export type DaebusEvents = TaskEventMap & {
  status: [AppStatus];
  connection: [TransportStatus];
  /** EventEmitter's own: a listener is being added or was removed. */
  newListener: [event: string | symbol, listener: (...args: unknown[]) => void];
  removeListener: [event: string | symbol, listener: (...args: unknown[]) => void];
};

/**
 * Where an app is in its life: `idle` before `run()`, `starting` while it
 * connects, `running`, `reconnecting` while running with the connection to
 * Redis lost (tasks keep running; publishing fails with `DISCONNECTED`; it
 * is `running` again once every subscription is restored), `closing`, and
 * `closed`. Each change is a `status` event.
 */
export type AppStatus = 'idle' | 'starting' | 'running' | 'reconnecting' | 'closing' | 'closed';

/** An action handler: returns the reply (or sends it with `response`). */
export type ActionHandler<P = unknown, R = unknown> = (
  payload: P,
  context: ActionContext<P>,
) => R | undefined | Promise<R | undefined> | Promise<void> | void;

/** A listen handler: receives each broadcast on its channel as a decoded object. */
export type ListenHandler<M = Record<string, unknown>> = (
  message: M,
  context: ListenContext<M>,
) => unknown;

/** A hook run by `run()` once connected, before requests and tasks start. */
export type StartHook = () => unknown;

/** Everything that exists only while the service runs. */
interface Running {
  readonly handle: ServiceHandle;
  readonly transport: Transport;
  readonly ownsTransport: boolean;
  readonly dispatcher: Dispatcher;
  readonly limiter: ConcurrencyLimiter;
  readonly heartbeat: Heartbeat;
  readonly shutdown: AbortController;
  readonly unsubscribes: Unsubscribe[];
  readonly offStatus: () => void;
  removeSignalHandlers: () => void;
  /** The start's lowering of the helper threads, which may still be under way (a short-lived shell). */
  loweringHelpers: Promise<void>;
}

/** The running service as context globals see it (see {@link AppHandle}). */
class ServiceHandle implements AppHandle {
  constructor(
    readonly service: string,
    readonly instance: string,
    readonly log: Logger,
    readonly transport: Transport,
    readonly shutdownSignal: AbortSignal,
  ) {}

  get cacheClient(): Redis | null {
    return this.transport.client;
  }

  publish(channel: string, message: string): Promise<number> {
    return this.transport.publish(channel, message);
  }
}

/**
 * A Daebus service: background tasks (fixed-rate intervals, cron
 * expressions, one-time tasks, worker threads), actions answered over
 * pub/sub, and broadcasts listened to and sent.
 *
 * Events: `status` (the app's {@link AppStatus}), `connection` (the
 * transport's status, after the first connect), and the `task:*` events of
 * task runs (see {@link TaskEventMap}).
 *
 * @example
 * const app = new Daebus('monitor');
 * app.background('health_check', 60, () => directLogger.info('healthy'));
 * app.action('get_status', () => ({ status: 'healthy' }));
 * await app.run({ service: 'monitor_service' });
 */
export class Daebus<A extends ActionMap<A> = UntypedActions> extends EventEmitter<DaebusEvents> {
  /** The app's name (the Python original's `Daebus(__name__)`). */
  readonly name: string;
  /**
   * Every task by name, as in the seed: `app.backgroundTasks['cleanup'].interval = 600`.
   * One-time tasks are listed until their run has ended.
   */
  readonly backgroundTasks: Readonly<Record<string, BackgroundTask>>;
  readonly #options: ResolvedOptions;
  readonly #scheduler = new Scheduler({
    // Without listeners, runs build no events at all.
    wants: (event: TaskEventName) => this.listenerCount(event) > 0,
    emit: (event, payload) => {
      // A listener that throws or rejects must not break the scheduler, nor the listeners after it.
      const complain = (err: unknown): void => {
        this.log.error({ err, event }, `a "${event}" listener threw: ${errorMessage(err)}`);
      };
      for (const listener of this.rawListeners(event)) {
        try {
          const result: unknown = Reflect.apply(listener, this, [payload]);
          if (result instanceof Promise) result.catch(complain);
        } catch (err) {
          complain(err);
        }
      }
    },
  });
  readonly #actions = new Map<string, AnyActionHandler>();
  readonly #listeners = new Map<string, AnyListenHandler[]>();
  readonly #startHooks: StartHook[] = [];
  /** Log lines about a connection that is not back yet: its retries come every few seconds, a line per 30 s says enough. */
  readonly #connectionComplaints = new RateLimitedLog(1, 30_000);
  readonly #closeHooks: StartHook[] = [];
  #baseLogger: Logger | null = null;
  #status: AppStatus = 'idle';
  #running: Running | null = null;
  #closing: Promise<void> | null = null;
  /** Set while `run` is starting the service (see {@link Starting}). */
  #starting: Starting | null = null;

  constructor(name: string, options?: DaebusOptions) {
    super();
    if (typeof name !== 'string' || name === '') {
      throw new DaebusError(
        'INVALID_NAME',
        `app name must be a non-empty string, got ${JSON.stringify(name)}`,
      );
    }
    this.name = name;
    this.#options = resolveOptions(options);
    const scheduler = this.#scheduler;
    this.backgroundTasks = new Proxy(Object.create(null) as Record<string, BackgroundTask>, {
      get: (_target, key) => (typeof key === 'string' ? scheduler.get(key) : undefined),
      has: (_target, key) => typeof key === 'string' && scheduler.get(key) !== undefined,
      ownKeys: () => scheduler.list().map((task) => task.name),
      getOwnPropertyDescriptor: (_target, key) => {
        const task = typeof key === 'string' ? scheduler.get(key) : undefined;
        return task && { value: task, enumerable: true, configurable: true, writable: false };
      },
      set: () => false,
      deleteProperty: () => false,
    });
  }

  /** Where the app is in its life. */
  get status(): AppStatus {
    return this.#status;
  }

  /** The service name given to `run`, or null before. */
  get service(): string | null {
    return this.#running?.handle.service ?? null;
  }

  /** This process's instance id, or null before `run`. */
  get instance(): string | null {
    return this.#running?.handle.instance ?? null;
  }

  /** The service's logger (the `directLogger` of this app). */
  get log(): Logger {
    return this.#running?.handle.log ?? this.#base();
  }

  /** The Redis client (null on the in-memory transport or before `run`). */
  get cache(): Redis | null {
    return this.#running?.transport.client ?? null;
  }

  /**
   * Answers requests for `name`. The handler gets the payload and a context
   * (`request`, `response`, `logger`, `signal`); what it returns is the reply,
   * unless it has sent one with `response.send`.
   *
   * @example
   * app.action('get_data', () => ({ data: cachedData, last_updated: lastUpdate }));
   */
  action<K extends keyof A & string>(
    name: K,
    // NoInfer: K comes from the name alone, so literal types in a returned result are kept.
    handler: NoInfer<ActionHandler<PayloadOf<A, K>, ResultOf<A, K>>>,
  ): this {
    validateName('action', name);
    if (typeof handler !== 'function') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `action "${name}" needs a handler function, got ${typeof handler}`,
      );
    }
    if (this.#actions.has(name)) {
      throw new DaebusError('DUPLICATE_NAME', `action "${name}" already has a handler`);
    }
    this.#actions.set(name, handler as AnyActionHandler);
    return this;
  }

  /**
   * Runs `handler` for every broadcast on `channel` (several handlers may
   * share a channel). Added while running, it subscribes at once.
   */
  listen<M = Record<string, unknown>>(channel: string, handler: ListenHandler<M>): this {
    validateName('channel', channel);
    if (typeof handler !== 'function') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `listener for "${channel}" must be a function, got ${typeof handler}`,
      );
    }
    const handlers = this.#listeners.get(channel);
    if (handlers !== undefined) {
      handlers.push(handler as AnyListenHandler);
      return this;
    }
    const list = [handler as AnyListenHandler];
    this.#listeners.set(channel, list);
    const running = this.#running;
    if (running !== null && (this.#status === 'running' || this.#status === 'reconnecting')) {
      running.transport
        .subscribe(channel, running.dispatcher.listenerFor(list))
        .then((off) => running.unsubscribes.push(off))
        .catch((err: unknown) =>
          this.log.error(
            { err, channel },
            `could not listen on "${channel}": ${errorMessage(err)}`,
          ),
        );
    }
    return this;
  }

  /**
   * Runs `fn` on a schedule: every `schedule` seconds on a fixed-rate grid
   * (run k is due at start + k × interval; the first one interval after
   * start, or at once with `{ immediate: true }`), or on a cron expression
   * with seconds and a time zone. A run that comes due while the previous one
   * is still going is skipped (see `overlap`); a run that throws is logged and
   * counted and the schedule goes on. With `{ worker }` instead of a function,
   * each run happens in a worker thread.
   *
   * @example
   * app.background('health_check', 60, async ({ logger }) => {
   *   logger.info(`Health check completed: ${await checkSystemHealth()}`);
   * });
   * app.background('report', { cron: '0 *\/5 * * * *', timezone: 'Europe/Berlin' }, sendReport);
   * app.background('crunch', 600, { worker: new URL('./crunch.js', import.meta.url), timeout: 120 });
   */
  background(
    name: string,
    schedule: ScheduleSpec,
    fn: TaskFunction,
    options?: BackgroundOptions,
  ): BackgroundTask;
  background(name: string, schedule: ScheduleSpec, options: WorkerTaskOptions): BackgroundTask;
  background(
    name: string,
    schedule: ScheduleSpec,
    fnOrOptions: TaskFunction | WorkerTaskOptions,
    options?: BackgroundOptions,
  ): BackgroundTask {
    // The task's grid starts at the call, before any checking.
    const calledAt = Date.now();
    if (isWorkerOptions(fnOrOptions, options))
      return this.#scheduler.addRecurring(name, schedule, null, fnOrOptions, calledAt);
    checkTaskFunction(name, fnOrOptions);
    return this.#scheduler.addRecurring(
      name,
      schedule,
      fnOrOptions as TaskFunction,
      options,
      calledAt,
    );
  }

  /**
   * Runs `fn` once, `delay` seconds from now (from start when the service is
   * not running yet). The returned task can be cancelled, is listed in
   * `daebus:tasks` until its run has ended, and its errors are logged like any
   * task's. With `{ worker }` instead of a function, it runs in a worker thread.
   *
   * @example
   * const handle = app.after(60, () => directLogger.info('One-time task executed'));
   * handle.cancel();
   */
  after(delay: number, fn: TaskFunction, options?: AfterOptions): BackgroundTask;
  after(delay: number, options: AfterOptions & { worker: URL | string }): BackgroundTask;
  after(
    delay: number,
    fnOrOptions: TaskFunction | (AfterOptions & { worker: URL | string }),
    options?: AfterOptions,
  ): BackgroundTask {
    const calledAt = Date.now();
    const delayMs = delayToMs(delay);
    if (isWorkerOptions(fnOrOptions, options))
      return this.#scheduler.addOnce(fnOrOptions.name, delayMs, null, fnOrOptions, calledAt);
    checkTaskFunction(options?.name ?? 'once', fnOrOptions);
    return this.#scheduler.addOnce(
      options?.name,
      delayMs,
      fnOrOptions as TaskFunction,
      options,
      calledAt,
    );
  }

  /** Runs `fn` during `run()`, once connected and before requests and tasks start. */
  onStart(fn: StartHook): this {
    this.#startHooks.push(fn);
    return this;
  }

  /** Runs `fn` during `close()`, after work has drained and before the connection closes. */
  onClose(fn: StartHook): this {
    this.#closeHooks.push(fn);
    return this;
  }

  /**
   * Starts the service: connects, runs the start hooks, subscribes to the
   * service and instance channels and every `listen` channel, starts the
   * tasks and the heartbeat. Resolves once the service is ready; the process
   * then lives until `close()` (or SIGINT/SIGTERM).
   */
  async run(options: RunOptions): Promise<void> {
    const starting = new Starting();
    try {
      await this.#start(options, starting);
    } finally {
      if (this.#starting === starting) this.#starting = null;
      starting.end();
    }
  }

  async #start(options: RunOptions, starting: Starting): Promise<void> {
    if (this.#status !== 'idle' && this.#status !== 'closed') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `app "${this.name}" is already ${this.#status}; close it before running again`,
      );
    }
    if (options === null || typeof options !== 'object') {
      throw new DaebusError(
        'INVALID_CONFIG',
        'run() needs options: app.run({ service: "my_service" })',
      );
    }
    const service = validateName('service', options.service);
    const instance = validateName('instance', options.instance ?? createInstanceId());
    const replicas = resolveReplicaMode(options.replicas);
    const { transport, ownsTransport } = createTransport(options);
    const claims = replicas === 'shared' ? new RequestClaims(transport, service, instance) : null;
    // Before the status event: a listener that closes the app on 'starting' stops this start too.
    this.#starting = starting;
    this.#setStatus('starting');
    const startedAt = new Date();
    const shutdown = new AbortController();
    const log = this.#base().child({ service, instance });
    const handle = new ServiceHandle(service, instance, log, transport, shutdown.signal);
    const limiter = new ConcurrencyLimiter(this.#options.maxConcurrency, this.#options.maxQueue);
    const dispatcher = new Dispatcher({
      app: handle,
      actions: this.#actions,
      reserved: reservedActions({
        service,
        instance,
        startedAt,
        transport: transport.kind,
        scheduler: this.#scheduler,
      }),
      limiter,
      maxPayloadBytes: this.#options.maxPayloadBytes,
      claims,
    });
    try {
      await transport.connect();
      throwIfClosed(starting, service);
    } catch (err) {
      this.#setStatus(starting.closeRequested ? 'closed' : 'idle');
      if (ownsTransport) await transport.close().catch(() => undefined);
      throw err;
    }
    const running: Running = {
      handle,
      transport,
      ownsTransport,
      dispatcher,
      limiter,
      heartbeat: new Heartbeat(handle, instance, this.#options.heartbeatInterval, startedAt),
      shutdown,
      unsubscribes: [],
      offStatus: transport.onStatus((status, detail, again) =>
        this.#onConnection(status, detail, again),
      ),
      removeSignalHandlers: () => undefined,
      loweringHelpers: Promise.resolve(),
    };
    this.#running = running;
    registerRunningApp(handle);
    try {
      for (const hook of this.#startHooks) {
        await hook();
        throwIfClosed(starting, service);
      }
      const subscriptions: Array<[string, MessageListener]> = [
        [serviceChannel(service), dispatcher.onRequest],
        [instanceChannel(service, instance), dispatcher.onRequest],
      ];
      for (const [channel, handlers] of this.#listeners) {
        subscriptions.push([channel, dispatcher.listenerFor(handlers)]);
      }
      for (const [channel, handler] of subscriptions) {
        running.unsubscribes.push(await transport.subscribe(channel, handler));
        throwIfClosed(starting, service);
      }
    } catch (err) {
      if (!(err instanceof ClosedWhileStarting))
        log.error({ err }, `service "${service}" failed to start: ${errorMessage(err)}`);
      // close() was called meanwhile: what the start hooks opened, the close hooks release.
      if (starting.closeRequested) await this.#runCloseHooks(log);
      await this.#teardown(running);
      this.#setStatus(starting.closeRequested ? 'closed' : 'idle');
      throw err;
    }
    prepareContextStorage();
    if (this.#options.lowerHelperThreads) running.loweringHelpers = lowerHelperThreadsAndLog(log);
    this.#scheduler.start(handle);
    running.heartbeat.start();
    if (this.#options.handleSignals) {
      running.removeSignalHandlers = handleShutdownSignals(
        () => this.close(),
        () => this.log,
      );
    }
    // The connection may have dropped during the start: then the status says so.
    this.#setStatus(transport.status === 'reconnecting' ? 'reconnecting' : 'running');
    log.info(
      {
        transport: transport.kind,
        replicas,
        actions: [...this.#actions.keys()],
        tasks: this.#scheduler.list().map((t) => t.name),
        listens: [...this.#listeners.keys()],
      },
      `service "${service}" running on ${transport instanceof RedisTransport ? transport.url : `the ${transport.kind} transport`}`,
    );
  }

  /**
   * Stops taking work, waits up to `shutdownTimeout` for running handlers and
   * task runs (their `signal` aborts first), runs the close hooks, and
   * releases every timer and connection. Safe to call more than once.
   * Called while `run()` is still starting, it stops the start at its next
   * step: `run()` rejects with `SHUTTING_DOWN`, the close hooks run if the
   * start hooks have, and nothing is left running.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const starting = this.#starting;
    if (starting !== null) {
      starting.closeRequested = true;
      this.#setStatus('closing');
      return starting.ended;
    }
    const running = this.#running;
    if (running === null) return Promise.resolve();
    this.#closing = this.#close(running).finally(() => {
      this.#closing = null;
    });
    return this.#closing;
  }

  async #close(running: Running): Promise<void> {
    const log = running.handle.log;
    this.#setStatus('closing');
    running.dispatcher.stopAccepting();
    await running.heartbeat.stop();
    running.shutdown.abort(
      new DaebusError('SHUTTING_DOWN', `service "${running.handle.service}" is closing`),
    );
    const graceMs = this.#options.shutdownTimeout * 1000;
    const deadline = Date.now() + graceMs;
    const [abandonedRuns, handlersDrained] = await Promise.all([
      this.#scheduler.stop(graceMs),
      waitAtMost(running.dispatcher.onIdle(), Math.max(0, deadline - Date.now())),
    ]);
    // Subscribed until the work has drained, so that a request sent meanwhile
    // gets SHUTTING_DOWN at once instead of waiting for its caller's timeout.
    await Promise.all(running.unsubscribes.splice(0).map((off) => off().catch(() => undefined)));
    if (abandonedRuns > 0 || !handlersDrained) {
      log.warn(
        {
          abandoned_runs: abandonedRuns,
          abandoned_handlers: handlersDrained ? 0 : running.limiter.active + running.limiter.queued,
        },
        `shutdown timeout (${this.#options.shutdownTimeout} s) reached with work still running`,
      );
    }
    await this.#runCloseHooks(log);
    await this.#teardown(running);
    this.#setStatus('closed');
    log.info(`service "${running.handle.service}" closed`);
  }

  /** Runs the close hooks one after another; one that fails is logged and the next runs. */
  async #runCloseHooks(log: Logger): Promise<void> {
    for (const hook of this.#closeHooks) {
      try {
        await hook();
      } catch (err) {
        log.error({ err }, `close hook failed: ${errorMessage(err)}`);
      }
    }
  }

  /** Releases what `run` set up: signals, registration, subscriptions, the transport. */
  async #teardown(running: Running): Promise<void> {
    running.removeSignalHandlers();
    await running.heartbeat.stop();
    running.offStatus();
    unregisterRunningApp(running.handle);
    await Promise.all(running.unsubscribes.splice(0).map((off) => off().catch(() => undefined)));
    if (running.ownsTransport) await running.transport.close().catch(() => undefined);
    // Its shell, if still running (a busy machine), would outlive the service.
    await running.loweringHelpers;
    this.#running = null;
  }

  #onConnection(status: TransportStatus, detail?: Error, again = false): void {
    const log = this.log;
    if (again) {
      // No change, but news: why the connection is not back yet (rate-limited: it may repeat).
      this.#connectionComplaints.warn(
        log,
        `connection:${status}`,
        { connection: status, reason: detail?.message },
        `still ${status}: ${detail?.message ?? 'no reason given'}`,
      );
      return;
    }
    if (status === 'reconnecting') {
      log.warn(
        { connection: status, reason: detail?.message },
        'lost the connection; reconnecting (tasks keep running)',
      );
    } else if (status === 'ready') {
      log.info({ connection: status }, 'connection restored; every subscription is back');
    }
    if (status === 'reconnecting' && this.#status === 'running') this.#setStatus('reconnecting');
    else if (status === 'ready' && this.#status === 'reconnecting') this.#setStatus('running');
    this.emit('connection', status);
  }

  #setStatus(status: AppStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.emit('status', status);
  }

  #base(): Logger {
    this.#baseLogger ??=
      this.#options.logger ??
      createLogger(this.name, { level: this.#options.logLevel, format: this.#options.logFormat });
    return this.#baseLogger;
  }
}

/**
 * A start in progress. `close()` during it sets `closeRequested`, and `run`
 * stops at its next step (after the connection, each start hook and each
 * subscription) instead of starting tasks and requests on a closed app.
 */
class Starting {
  closeRequested = false;
  /** Settles when `run` has ended, started or not: what `close()` during the start waits for. */
  readonly ended: Promise<void>;
  readonly end: () => void;

  constructor() {
    let end!: () => void;
    this.ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    this.end = end;
  }
}

/** What `run` rejects with when `close()` stopped its start. */
class ClosedWhileStarting extends DaebusError {
  constructor(service: string) {
    super('SHUTTING_DOWN', `service "${service}" was closed while starting; it did not start`);
  }
}

/** Stops the start when `close()` was called during it. */
function throwIfClosed(starting: Starting, service: string): void {
  if (starting.closeRequested) throw new ClosedWhileStarting(service);
}

function createTransport(options: RunOptions): { transport: Transport; ownsTransport: boolean } {
  const choice = options.transport ?? 'redis';
  if (typeof choice === 'object' && choice !== null)
    return { transport: choice, ownsTransport: false };
  if (choice === 'memory') return { transport: new MemoryTransport(), ownsTransport: true };
  if (choice !== 'redis') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `transport must be "redis", "memory" or a Transport object, got ${JSON.stringify(choice)}`,
    );
  }
  return { transport: redisTransportFor(options.redis), ownsTransport: true };
}

/** Waits for `promise` at most `ms`; resolves true when it settled in time. */
async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lowers the helper threads (see `helper-threads.ts`) and logs what was done
 * at debug level. Not awaited by the start: the move to the idle class takes
 * a shell and a few milliseconds, and the service need not wait for it; the
 * close waits for it, so that the shell does not outlive the service.
 */
async function lowerHelperThreadsAndLog(log: Logger): Promise<void> {
  const lowered = await lowerHelperThreads();
  if (lowered === null) return;
  const { niced, idle, idleProblem } = lowered;
  const fallback =
    idleProblem === null ? '' : ` (${idleProblem}; they stay at nice ${HELPER_THREAD_NICE})`;
  log.debug(
    { niced, nice: HELPER_THREAD_NICE, idle },
    `helper threads: ${niced} lowered to nice ${HELPER_THREAD_NICE}, ${idle} moved to the idle scheduling class: the event loop comes first${fallback}`,
  );
}
