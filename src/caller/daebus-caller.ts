import { randomUUID } from 'node:crypto';
import type { ActionMap, PayloadOf, ResultOf, UntypedActions } from '../app/contracts.js';
import { DaebusError, errorMessage } from '../errors/daebus-error.js';
import { instanceChannel, validateName } from '../protocol/names.js';
import type { RedisSetting } from '../transport/redis/redis-setting.js';
import type { Transport } from '../transport/transport.js';
import { PendingRequest } from './reply-router.js';
import { acquireConnection, type SharedConnection } from './shared-connections.js';

/** Options of `new DaebusCaller(service, options)`. */
export interface CallerOptions {
  /**
   * Where Redis is.
   * @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
   */
  redis?: RedisSetting;
  /**
   * `redis`, `memory` (services in this process), or a transport of your own.
   * @default 'redis'
   */
  transport?: 'redis' | 'memory' | Transport;
  /**
   * Seconds a request waits for its final reply.
   * @default 5
   */
  timeout?: number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Seconds to wait for the final reply; the caller's `timeout` when not given. */
  timeout?: number;
  /** Receives the payload of each non-final (progress) reply. */
  onProgress?: (payload: unknown) => void;
  /** Aborts the request: it rejects with the signal's reason and leaves nothing behind. */
  signal?: AbortSignal;
  /** Send to one instance of the service (its `<service>@<instance>` channel) instead of all. */
  instance?: string;
}

function checkTimeout(seconds: unknown, where: string): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `${where} must be a positive number of seconds, got ${typeof seconds === 'string' ? JSON.stringify(seconds) : String(seconds)}`,
    );
  }
  return seconds * 1000;
}

/**
 * Calls the actions of one service and waits for their replies, over Redis
 * (or the in-memory transport). Callers in one process that point at the same
 * Redis share one pair of connections and one reply channel.
 *
 * Errors are `DaebusError`s with a stable code: `TIMEOUT`, `UNKNOWN_ACTION`,
 * `HANDLER_ERROR`, `REMOTE_ERROR` (an error reply without a known code),
 * `CLOSED`, `DISCONNECTED` (no connection to Redis: a request waiting when
 * the connection is lost ends with it at once, and so does one made while
 * it is lost), `ACCESS_DENIED` (Redis refused the credentials or the ACL).
 *
 * @example
 * const caller = new DaebusCaller('adaptive_service');
 * const reply = await caller.request('adjust_schedule', { interval: 600 });
 * await caller.close();
 */
export class DaebusCaller<A extends ActionMap<A> = UntypedActions> {
  /** The service this caller talks to. */
  readonly service: string;
  readonly #timeoutMs: number;
  readonly #choice: 'redis' | 'memory' | Transport;
  readonly #redis: RedisSetting | undefined;
  #lease: { connection: SharedConnection; release: () => Promise<void> } | null = null;
  /** The lease whose connection is known to be ready: requests on it skip the wait. */
  #readyLease: object | null = null;
  #closed = false;

  constructor(service: string, options: CallerOptions = {}) {
    this.service = validateName('service', service);
    this.#timeoutMs = checkTimeout(options.timeout ?? 5, 'timeout');
    this.#choice = options.transport ?? 'redis';
    this.#redis = options.redis;
    if (typeof this.#choice === 'string' && this.#choice !== 'redis' && this.#choice !== 'memory') {
      throw new DaebusError(
        'INVALID_CONFIG',
        `transport must be "redis", "memory" or a Transport object, got ${JSON.stringify(this.#choice)}`,
      );
    }
  }

  /** Requests of this process's callers (on this caller's connection) still waiting for a reply. */
  get pendingCount(): number {
    return this.#lease?.connection.router.size ?? 0;
  }

  /**
   * Sends `action` with `payload` and resolves with the final reply's
   * payload; progress replies go to `onProgress`. Rejects with a
   * `DaebusError` when the reply is an error, nothing final comes within the
   * timeout, the caller is closed, or Redis cannot be reached.
   */
  request<K extends keyof A & string>(
    action: K,
    payload?: PayloadOf<A, K>,
    options: RequestOptions = {},
  ): Promise<ResultOf<A, K>> {
    let timeoutMs: number;
    try {
      timeoutMs =
        options.timeout === undefined
          ? this.#timeoutMs
          : checkTimeout(options.timeout, 'request timeout');
    } catch (err) {
      return Promise.reject(err);
    }
    const target =
      options.instance === undefined
        ? this.service
        : instanceChannel(this.service, options.instance);
    const label = `${target}.${action}`;
    // Once connected, a request goes out in this tick with no await in between.
    const lease = this.#lease;
    if (lease !== null && lease === this.#readyLease) {
      return this.#send(lease.connection, action, payload, options, target, label, timeoutMs);
    }
    return this.#connection(label, timeoutMs).then((connection) =>
      this.#send(connection, action, payload, options, target, label, timeoutMs),
    );
  }

  #send<R>(
    connection: SharedConnection,
    action: string,
    payload: unknown,
    options: RequestOptions,
    target: string,
    label: string,
    timeoutMs: number,
  ): Promise<R> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { router, transport } = connection;
    if (transport.status !== 'ready') {
      // Lost (or closed) since it was ready: a reply could not come back, so fail now.
      return Promise.reject(
        transport.status === 'closed'
          ? new DaebusError('CLOSED', `${label} failed: the connection is closed`)
          : new DaebusError(
              'DISCONNECTED',
              `${label} failed: the connection to Redis is lost (reconnecting); try again once it is back`,
            ),
      );
    }
    const requestId = randomUUID();
    const message = JSON.stringify({
      action,
      payload: payload ?? {},
      reply_to: router.replyTo,
      request_id: requestId,
      service: this.service,
    });
    return new Promise<R>((resolve, reject) => {
      const pending = new PendingRequest(
        requestId,
        label,
        this,
        resolve as (payload: unknown) => void,
        reject,
        options.onProgress,
        target,
        timeoutMs,
      );
      if (signal !== undefined) {
        const onAbort = () =>
          router.fail(
            requestId,
            signal.reason ?? new DaebusError('CLOSED', `${label} was aborted`),
          );
        signal.addEventListener('abort', onAbort, { once: true });
        pending.detach = () => signal.removeEventListener('abort', onAbort);
      }
      router.add(pending);
      transport.publish(target, message).then(
        (receivers) => {
          pending.receivers = receivers;
        },
        (err: unknown) => router.fail(requestId, asDisconnected(err, label)),
      );
    });
  }

  /** Publishes `payload` (JSON) on any channel; resolves with the number of receivers. */
  async sendMessage(channel: string, payload: unknown): Promise<number> {
    const { transport } = await this.#connection();
    return this.#publish(transport, channel, JSON.stringify(payload), `message on "${channel}"`);
  }

  /**
   * Publishes `payload` on the service's channel without waiting for a reply,
   * as the Python caller's `send_to_service` does: `action`, when given, is
   * added to the payload's top level.
   */
  async sendToService(payload: Record<string, unknown>, action?: string): Promise<number> {
    const { transport } = await this.#connection();
    const message = action === undefined ? payload : { ...payload, action };
    return this.#publish(
      transport,
      this.service,
      JSON.stringify(message),
      `message to "${this.service}"`,
    );
  }

  /** Ends this caller's waiting requests with `CLOSED` and releases its share of the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const lease = this.#lease;
    this.#lease = null;
    if (lease === null) return;
    lease.connection.router.failAll(
      () =>
        new DaebusError(
          'CLOSED',
          `the caller of "${this.service}" was closed before the reply came`,
        ),
      this,
    );
    await lease.release();
  }

  /** The shared connection, once ready; a request waits for it no longer than its timeout. */
  async #connection(
    what = `calling "${this.service}"`,
    limitMs?: number,
  ): Promise<SharedConnection> {
    if (this.#closed) throw new DaebusError('CLOSED', `the caller of "${this.service}" is closed`);
    this.#lease ??= acquireConnection(this.#choice, this.#redis);
    const lease = this.#lease;
    if (lease === this.#readyLease) return lease.connection;
    const tooLate = new DaebusError(
      'DISCONNECTED',
      `${what} failed: not connected within ${(limitMs ?? 0) / 1000} s`,
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        lease.connection.ready,
        new Promise<never>((_, reject) => {
          if (limitMs !== undefined) timer = setTimeout(() => reject(tooLate), limitMs);
        }),
      ]);
      this.#readyLease = lease;
    } catch (err) {
      // Still connecting: this request gives up, the connection keeps trying.
      if (err === tooLate) throw err;
      // Let the next request try again with a fresh connection.
      if (this.#lease === lease) this.#lease = null;
      await lease.release();
      // Keep a telling code (ACCESS_DENIED, INVALID_CONFIG); anything else means no connection.
      const code = err instanceof DaebusError ? err.code : 'DISCONNECTED';
      throw new DaebusError(code, `${what} failed: ${errorMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    return lease.connection;
  }

  async #publish(
    transport: Transport,
    channel: string,
    message: string,
    what: string,
  ): Promise<number> {
    try {
      return await transport.publish(channel, message);
    } catch (err) {
      throw asDisconnected(err, what);
    }
  }
}

function asDisconnected(err: unknown, what: string): DaebusError {
  if (err instanceof DaebusError) return err;
  return new DaebusError('DISCONNECTED', `${what} failed: ${errorMessage(err)}`, { cause: err });
}
