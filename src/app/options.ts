import type { LevelWithSilent, Logger } from 'pino';
import { DaebusError } from '../errors/daebus-error.js';
import type { LogFormat } from '../logging/logger.js';
import type { Transport } from '../transport/transport.js';
import type { ReplicaMode } from './request-claims.js';

/** Options of `new Daebus(name, options)`. */
export interface DaebusOptions {
  /**
   * Handlers (actions and listens) running at once; more wait in a queue.
   * The Python original's `max_workers`.
   * @default 100
   */
  maxConcurrency?: number;
  /**
   * Messages waiting for a handler slot; past it, requests get an `OVERLOADED` error reply.
   * @default 10000
   */
  maxQueue?: number;
  /**
   * Largest message, in UTF-8 bytes, taken on the service and instance
   * channels and on listen channels. A larger request is refused with
   * `BAD_REQUEST` before it is parsed; a larger broadcast is dropped.
   * @default 1048576 (1 MiB)
   */
  maxPayloadBytes?: number;
  /**
   * Seconds that `close()` waits for running handlers and task runs to finish.
   * @default 10
   */
  shutdownTimeout?: number;
  /**
   * Seconds between two heartbeats on `daebus:heartbeat`.
   * @default 5
   */
  heartbeatInterval?: number;
  /**
   * Close on SIGINT and SIGTERM and exit the process with status 0 (a second signal forces exit).
   * @default true
   */
  handleSignals?: boolean;
  /**
   * On Linux, when the service starts, lower the CPU priority of the
   * process's helper threads (V8's compiler and garbage-collector threads
   * and Node's other start-up threads: the threads the process had when
   * Daebus was loaded) to nice 19, and move them to the idle scheduling
   * class with util-linux's `chrt` (when it is installed), so that on a
   * machine with a spare core the event loop does not wait for them: a
   * burst of compiling would make task runs due in that moment start a few
   * milliseconds late. Only for a machine whose cores other processes never
   * keep all busy: there, the helpers get no CPU time, and the event loop
   * stalls for as long as it waits for one of them (a garbage collection
   * that shares its work with them, the process's exit), up to seconds,
   * and scheduled runs are missed (see "Precision" in the guide). The main
   * thread, and worker threads started later (worker tasks among them),
   * keep their priority. The change lasts as long as the process: raising a
   * priority again needs privileges.
   * @default false
   */
  lowerHelperThreads?: boolean;
  /** Your own pino logger; replaces the one Daebus creates. */
  logger?: Logger;
  /**
   * Level of the logger Daebus creates.
   * @default process.env.LOG_LEVEL ?? 'info'
   */
  logLevel?: LevelWithSilent;
  /**
   * Format of the logger Daebus creates.
   * @default process.env.DAEBUS_LOG_FORMAT ?? (stdout is a terminal ? 'pretty' : 'json')
   */
  logFormat?: LogFormat;
}

import type { RedisSetting } from '../transport/redis/redis-setting.js';

export type { RedisSetting };

/** Options of `app.run(options)`. */
export interface RunOptions {
  /** The service name: the channel requests come on. */
  service: string;
  /**
   * Where Redis is.
   * @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
   */
  redis?: RedisSetting;
  /**
   * `redis`, `memory` (in-process, no server), or a transport of your own.
   * @default 'redis'
   */
  transport?: 'redis' | 'memory' | Transport;
  /**
   * This process's instance id.
   * @default `<host>-<pid>-<random>`
   */
  instance?: string;
  /**
   * How the running instances of this service share the requests that come
   * on its channel:
   *
   * - `'independent'`: every instance handles every request (and each one
   *   answers it), as Python Daebus does.
   * - `'shared'`: the instances are replicas that split the work; each
   *   request is handled and answered by exactly one of them, whichever
   *   claims it first in Redis (a `daebus:claim:<service>:<request_id>` key
   *   that expires after 60 s; a request without `request_id` is keyed by a
   *   hash of the message, so an identical one within 5 s counts as the
   *   same). Replicas may join and leave at any time; a closing replica
   *   takes no new request and leaves it to the others. Requests on an
   *   instance's own channel (`<service>@<instance>`, as `daebus:ping` and
   *   `daebus:tasks` use) are still handled by that instance. Callers need
   *   no change. Needs Redis or the in-memory transport (where apps on one
   *   bus are replicas of each other).
   *
   * @default 'independent'
   * @example
   * await app.run({ service: 'replica_service', replicas: 'shared' });
   */
  replicas?: ReplicaMode;
}

/** {@link DaebusOptions} with every default applied. */
export type ResolvedOptions = Required<Omit<DaebusOptions, 'logger' | 'logLevel' | 'logFormat'>> &
  Pick<DaebusOptions, 'logger' | 'logLevel' | 'logFormat'>;

/** The defaults of {@link DaebusOptions}. */
export const DEFAULTS = {
  maxConcurrency: 100,
  maxQueue: 10_000,
  maxPayloadBytes: 1_048_576,
  shutdownTimeout: 10,
  heartbeatInterval: 5,
  handleSignals: true,
  lowerHelperThreads: false,
} as const;

function positive(name: string, value: unknown, integer: boolean): void {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value > 0 &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `${name} must be a positive ${integer ? 'integer' : 'number of seconds'}, got ${
        typeof value === 'string' ? JSON.stringify(value) : String(value)
      }`,
    );
  }
}

/** Applies the defaults and validates every field once, with messages that show the bad value. */
export function resolveOptions(options: DaebusOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `Daebus options must be an object, got ${String(options)}`,
    );
  }
  const resolved: ResolvedOptions = { ...DEFAULTS, ...stripUndefined(options) };
  positive('maxConcurrency', resolved.maxConcurrency, true);
  if (!(Number.isInteger(resolved.maxQueue) && resolved.maxQueue >= 0)) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `maxQueue must be zero or a positive integer, got ${String(resolved.maxQueue)}`,
    );
  }
  positive('maxPayloadBytes', resolved.maxPayloadBytes, true);
  positive('shutdownTimeout', resolved.shutdownTimeout, false);
  positive('heartbeatInterval', resolved.heartbeatInterval, false);
  for (const name of ['handleSignals', 'lowerHelperThreads'] as const) {
    if (typeof resolved[name] !== 'boolean') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `${name} must be true or false, got ${String(resolved[name])}`,
      );
    }
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
