import { Redis, type RedisOptions } from 'ioredis';
import { DaebusError, errorMessage } from '../../errors/daebus-error.js';
import { ListenerSet, reportListenerError } from '../listener-set.js';
import { StatusEmitter } from '../status-emitter.js';
import type { MessageListener, Transport, TransportStatus, Unsubscribe } from '../transport.js';
import { maskRedisUrl, resolveRedisUrl } from './redis-url.js';

/** How a {@link RedisTransport} reaches Redis. */
export interface RedisTransportOptions {
  /**
   * A `redis://` or `rediss://` URL (user, password and database number may be in it).
   * @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
   */
  url?: string;
  /** Extra ioredis options (TLS, timeouts…); they win over the URL's. */
  options?: RedisOptions;
  /**
   * Seconds to wait for the first connection before `connect()` fails.
   * @default 5
   */
  connectTimeout?: number;
}

/** The longest wait between two reconnection attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * Reconnection delay after `attempt` failures: exponential, capped, and
 * jittered so that a fleet does not reconnect in lock-step.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(attempt, 10));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * The Redis transport: one connection for commands and publishing (also the
 * app's `cache`), one for subscriptions. It reconnects by itself and
 * re-subscribes every channel before it reports `ready` again. While it is
 * not connected, `publish` fails at once with `DISCONNECTED` instead of
 * queueing.
 */
export class RedisTransport implements Transport {
  readonly kind = 'redis';
  readonly #url: string;
  readonly #options: RedisOptions;
  readonly #connectTimeoutMs: number;
  readonly #listeners = new ListenerSet();
  readonly #status = new StatusEmitter();
  #commands: Redis | null = null;
  #subscriber: Redis | null = null;
  #lastError: Error | null = null;

  constructor(options: RedisTransportOptions = {}) {
    this.#url = resolveRedisUrl(options.url);
    this.#options = options.options ?? {};
    const timeout = options.connectTimeout ?? 5;
    if (!(typeof timeout === 'number' && timeout > 0)) {
      throw new DaebusError(
        'INVALID_CONFIG',
        `connectTimeout must be a positive number of seconds, got ${String(timeout)}`,
      );
    }
    this.#connectTimeoutMs = timeout * 1000;
  }

  /** The URL in use, with any password masked. */
  get url(): string {
    return maskRedisUrl(this.#url);
  }

  get status(): TransportStatus {
    return this.#status.status;
  }

  get client(): Redis | null {
    return this.#commands;
  }

  async connect(): Promise<void> {
    if (this.#status.status === 'closed') throw this.#closedError();
    if (this.#commands !== null) return;
    const commands = this.#createClient('commands');
    const subscriber = this.#createClient('subscriber');
    this.#commands = commands;
    this.#subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      this.#listeners.dispatch(channel, message, reportListenerError);
    });
    for (const client of [commands, subscriber]) {
      client.on('ready', () => void this.#onReady());
      client.on('close', () => this.#onLost());
    }
    try {
      await withTimeout(
        Promise.all([waitReady(commands), waitReady(subscriber)]),
        this.#connectTimeoutMs,
      );
    } catch {
      await Promise.all([shutDownClient(commands), shutDownClient(subscriber)]);
      this.#commands = null;
      this.#subscriber = null;
      const reason = this.#lastError ? errorMessage(this.#lastError) : 'no answer';
      throw new DaebusError(
        'DISCONNECTED',
        `cannot reach Redis at ${this.url} within ${this.#connectTimeoutMs / 1000} s (${reason}). ` +
          'Start redis-server there, or point Daebus at another Redis (REDIS_URL, the `redis` option, or `--redis` on the command line).',
        { cause: this.#lastError ?? undefined },
      );
    }
    await this.#onReady();
  }

  async publish(channel: string, message: string): Promise<number> {
    const commands = this.#commands;
    if (commands === null || commands.status !== 'ready') {
      throw this.#status.status === 'closed'
        ? this.#closedError()
        : new DaebusError(
            'DISCONNECTED',
            `cannot publish on "${channel}": not connected to Redis at ${this.url}`,
          );
    }
    try {
      return await commands.publish(channel, message);
    } catch (err) {
      throw new DaebusError(
        'DISCONNECTED',
        `publishing on "${channel}" failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    if (this.#status.status === 'closed') throw this.#closedError();
    if (this.#listeners.add(channel, listener) && this.#subscriber?.status === 'ready') {
      // When this fails because the connection dropped, the reconnect re-subscribes.
      await this.#subscriber.subscribe(channel).catch(() => undefined);
    }
    return async () => {
      if (this.#listeners.delete(channel, listener) && this.#subscriber?.status === 'ready') {
        await this.#subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  onStatus(listener: (status: TransportStatus, detail?: Error) => void): () => void {
    return this.#status.on(listener);
  }

  async close(): Promise<void> {
    if (this.#status.status === 'closed') return;
    this.#status.set('closed');
    this.#status.clear();
    this.#listeners.clear();
    const clients = [this.#commands, this.#subscriber].filter((c): c is Redis => c !== null);
    await Promise.all(clients.map(shutDownClient));
    this.#commands = null;
    this.#subscriber = null;
  }

  #createClient(role: string): Redis {
    const client = new Redis(this.#url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 1,
      // disconnect() between reconnection attempts would otherwise arm a 2 s timer to destroy
      // the already-closed socket, holding the process after close() or a failed connect().
      disconnectTimeout: 0,
      connectionName: `daebus-${role}`,
      retryStrategy: (attempt) => reconnectDelay(attempt),
      ...this.#options,
    });
    client.on('error', (err: Error) => {
      // Connection errors are expected during an outage; the status says what matters.
      this.#lastError = err;
    });
    client.connect().catch(() => undefined);
    return client;
  }

  /** Both connections are up again: restore every subscription, then report ready. */
  async #onReady(): Promise<void> {
    const commands = this.#commands;
    const subscriber = this.#subscriber;
    if (commands?.status !== 'ready' || subscriber?.status !== 'ready') return;
    if (this.#status.status === 'closed') return;
    const channels = this.#listeners.channels();
    if (channels.length > 0) {
      try {
        await subscriber.subscribe(...channels);
      } catch {
        return; // lost again; the next 'ready' retries
      }
    }
    if (commands.status === 'ready' && subscriber.status === 'ready') this.#status.set('ready');
  }

  #onLost(): void {
    const status = this.#status.status;
    if (status === 'ready') this.#status.set('reconnecting', this.#lastError ?? undefined);
  }

  #closedError(): DaebusError {
    return new DaebusError('CLOSED', `the Redis transport to ${this.url} is closed`);
  }
}

/** Quits politely when connected, and resolves only once the socket is gone. */
async function shutDownClient(client: Redis): Promise<void> {
  // Only these states hold a socket; between reconnection attempts there is none to wait for.
  const hasSocket = ['connecting', 'connect', 'ready'].includes(client.status);
  const gone = hasSocket
    ? new Promise<void>((resolve) => client.once('end', () => resolve()))
    : Promise.resolve();
  if (client.status === 'ready') {
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  } else {
    client.disconnect();
  }
  await gone;
  // Without a socket, disconnect() still arms ioredis's disconnectTimeout timer (0 ms, see
  // #createClient): let it fire, so that nothing of the client is left when this resolves.
  if (!hasSocket) await new Promise((resolve) => setTimeout(resolve, 0));
}

function waitReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
