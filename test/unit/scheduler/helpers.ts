/**
 * Shared set-up for the scheduler's behaviour tests: apps on the in-memory
 * transport with a captured pino logger, a fixed fake start time, a guard
 * against unhandled rejections, and a tiny wire client for `daebus:*` actions.
 */
import { randomUUID } from 'node:crypto';
import { type Logger, pino } from 'pino';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import {
  Daebus,
  type DaebusOptions,
  MemoryTransport,
  type TaskEvent,
  type TaskEventName,
} from '../../../src/index.js';

/** The fake wall-clock time every behaviour test starts at. */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0, 0);

/** Heartbeat period of test apps: 23 days, so its timer never fires within a test. */
export const HEARTBEAT_S = 2_000_000;

/** One decoded pino line. */
export interface LogLine {
  level: number;
  msg: string;
  task?: string;
  service?: string;
  action?: string;
  err?: { type?: string; message: string; stack: string };
  [key: string]: unknown;
}

export const WARN = 40;
export const ERROR = 50;

/** A pino logger whose lines land, decoded, in `lines`. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write(chunk: string) {
        lines.push(JSON.parse(chunk) as LogLine);
      },
    },
  );
  return { logger, lines };
}

interface Harness {
  apps: Daebus[];
  lines: LogLine[];
  unhandled: unknown[];
}

const harness: Harness = { apps: [], lines: [], unhandled: [] };
let serviceCounter = 0;

/** Every line logged by the apps of the current test. */
export function logLines(): LogLine[] {
  return harness.lines;
}

/**
 * A new app with a captured logger, no signal handling and a heartbeat that
 * never fires within a test. `app.close()` runs after the test if the test did not.
 */
export function newApp(options: DaebusOptions = {}): Daebus {
  const { logger, lines } = captureLogger();
  harness.lines = lines;
  const app = new Daebus('scheduler-test', {
    handleSignals: false,
    heartbeatInterval: HEARTBEAT_S,
    logger,
    ...options,
  });
  harness.apps.push(app);
  return app;
}

/** A service name no other test uses, so apps never share a channel on the memory bus. */
export function uniqueService(): string {
  serviceCounter += 1;
  return `sched_svc_${serviceCounter}_${process.pid}`;
}

/** Runs `app` on the in-memory transport under a fresh service name; returns that name. */
export async function runApp(app: Daebus): Promise<string> {
  const service = uniqueService();
  await app.run({ service, transport: 'memory' });
  return service;
}

/**
 * Installs fake timers at {@link T0} before each test (unless `fake` is
 * false), and afterwards closes every app, restores real timers and fails
 * the test if anything escaped as an unhandled rejection.
 */
export function useSchedulerHarness({ fake = true }: { fake?: boolean } = {}): void {
  const onUnhandled = (reason: unknown): void => {
    harness.unhandled.push(reason);
  };
  beforeEach(() => {
    harness.apps = [];
    harness.lines = [];
    harness.unhandled = [];
    process.on('unhandledRejection', onUnhandled);
    if (fake) {
      vi.useFakeTimers();
      vi.setSystemTime(T0);
    }
  });
  afterEach(async () => {
    try {
      for (const app of harness.apps) {
        let closed = false;
        const closing = app.close().then(() => {
          closed = true;
        });
        // A test may leave a run that never settles: let the grace period pass.
        for (let i = 0; i < 120 && !closed && vi.isFakeTimers(); i++) {
          await vi.advanceTimersByTimeAsync(1000);
        }
        await closing;
      }
    } finally {
      vi.useRealTimers();
      // Rejections are reported after the microtask queue drains; one macrotask later they are in.
      await new Promise((resolve) => setImmediate(resolve));
      process.off('unhandledRejection', onUnhandled);
    }
    expect(harness.unhandled).toEqual([]);
  });
}

/** Resolves after `ms` of (fake) time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every task event an app emits. */
export const TASK_EVENT_NAMES: readonly TaskEventName[] = [
  'task:start',
  'task:success',
  'task:error',
  'task:skip',
  'task:miss',
  'task:timeout',
  'task:stuck',
];

/** Every event of `names` (by default all task events) `app` emits, in order, as [name, event]. */
export function collectEvents(
  app: Daebus,
  names: readonly TaskEventName[] = TASK_EVENT_NAMES,
): Array<[TaskEventName, TaskEvent]> {
  const seen: Array<[TaskEventName, TaskEvent]> = [];
  for (const name of names) app.on(name, (event: TaskEvent) => void seen.push([name, event]));
  return seen;
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A small deterministic PRNG (mulberry32), so "random" tests repeat exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Sends one request to `service` over the shared in-memory bus, as a Python
 * caller would, and resolves with the final response object.
 */
export async function requestOverMemory(
  service: string,
  action: string,
  payload: unknown,
): Promise<{ status: string; payload: unknown; request_id: string | null; final?: boolean }> {
  const transport = new MemoryTransport();
  await transport.connect();
  const replyTo = `caller:${randomUUID()}`;
  const requestId = randomUUID();
  const reply = deferred<{
    status: string;
    payload: unknown;
    request_id: string | null;
    final?: boolean;
  }>();
  const off = await transport.subscribe(replyTo, (raw) => {
    const message = JSON.parse(raw) as { final?: boolean; request_id: string | null };
    if (message.final !== false && message.request_id === requestId) {
      reply.resolve(message as never);
    }
  });
  try {
    await transport.publish(
      service,
      JSON.stringify({ action, payload, reply_to: replyTo, request_id: requestId, service }),
    );
    return await reply.promise;
  } finally {
    await off();
    await transport.close();
  }
}

/** The ISO 8601 form of an epoch-millisecond time, as the wire carries it. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
