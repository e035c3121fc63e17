import { readFile } from 'node:fs/promises';
import type { Redis, RedisOptions } from 'ioredis';
import { DaebusError, errorMessage } from '../../errors/daebus-error.js';
import { ListenerSet, reportListenerError } from '../listener-set.js';
import { StatusEmitter } from '../status-emitter.js';
import type {
  MessageListener,
  StatusListener,
  Transport,
  TransportStatus,
  Unsubscribe,
} from '../transport.js';
import { isReplyError, loadIoredis } from './ioredis-loader.js';
import { PublishBatcher } from './publish-batcher.js';
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
   * A PEM file with the certificate(s) of the authority that signed the
   * server's TLS certificate (a private CA, a self-signed certificate). It is
   * read at `connect()` and used as ioredis's `tls.ca`; it needs TLS (a
   * `rediss://` URL or `tls` options).
   * @default process.env.REDIS_CA_FILE
   */
  caFile?: string;
  /**
   * Seconds to wait for the first connection before `connect()` fails.
   * @default 5
   */
  connectTimeout?: number;
}

/**
 * The longest wait between two reconnection attempts, in milliseconds: short
 * enough that a service answers again within about a second of Redis coming
 * back.
 */
export const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * Reconnection delay after `attempt` failures: exponential from 100 ms,
 * capped at {@link MAX_RECONNECT_DELAY_MS}, and jittered (between half and
 * all of that) so that a fleet does not reconnect in lock-step.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(Math.max(attempt, 1), 10));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** Publishes waiting for Redis at which the subscriber stops reading messages… */
const PUBLISH_HIGH_WATER = 2_000;
/** …and the number under which it reads on. */
const PUBLISH_LOW_WATER = 500;

/** How long after Redis refused to restore the subscriptions they are tried again. */
const RESUBSCRIBE_RETRY_MS = 2_000;

/** Errors by which Redis refuses a user: a wrong or missing password, or an ACL without the permission. */
const REFUSAL = /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid password/;

/** True when Redis answered with a refusal of the user (as opposed to a lost connection). */
export function isAccessRefusal(err: unknown): boolean {
  return err instanceof Error && REFUSAL.test(err.message);
}

/** Node's codes for a server certificate that does not verify (OpenSSL's, and the host name check). */
const CERTIFICATE_FAILURES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True for a TLS connection refused because the server's certificate does not verify. */
function isCertificateFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CERTIFICATE_FAILURES.has(code);
}

/** Commands whose arguments hold credentials. */
const SECRET_COMMANDS = new Set(['auth', 'hello', 'migrate', 'acl']);

/**
 * ioredis attaches the failed command to a reply error (`err.command.args`):
 * for AUTH that is the password, which a logger or an uncaught error would
 * print. This blanks such arguments in place.
 */
export function redactCommandArgs<E>(err: E): E {
  const command = (err as { command?: { name?: unknown; args?: unknown } } | null)?.command;
  if (
    command !== undefined &&
    typeof command.name === 'string' &&
    SECRET_COMMANDS.has(command.name.toLowerCase()) &&
    Array.isArray(command.args)
  ) {
    command.args = command.args.map(() => '***');
  }
  return err;
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
  /** The CA file to read at connect, or null for the system's authorities. */
  readonly #caFile: string | null;
  readonly #connectTimeoutMs: number;
  readonly #listeners = new ListenerSet();
  readonly #status = new StatusEmitter();
  #commands: Redis | null = null;
  /** Coalesces the publishes of one tick on #commands; set with it. */
  #batcher: PublishBatcher | null = null;
  #subscriber: Redis | null = null;
  #lastError: Error | null = null;
  /** Set while `connect()` waits: fails it at once when Redis refuses the credentials. */
  #refuse: ((err: Error) => void) | null = null;
  /** Set while a refused re-subscription waits to be tried again. */
  #resubscribeTimer: NodeJS.Timeout | null = null;

  constructor(options: RedisTransportOptions = {}) {
    this.#url = resolveRedisUrl(options.url);
    this.#options = options.options ?? {};
    checkUrl(this.#url);
    const caFile = options.caFile ?? process.env.REDIS_CA_FILE;
    this.#caFile = caFile === undefined || caFile === '' ? null : caFile;
    if (this.#caFile !== null && !/^rediss:/i.test(this.#url) && !this.#options.tls) {
      throw new DaebusError(
        'INVALID_CONFIG',
        `caFile "${this.#caFile}" is for TLS, but ${this.url} is not a rediss:// URL; ` +
          'use rediss:// (or unset REDIS_CA_FILE)',
      );
    }
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
    const { Redis } = await loadIoredis();
    const tls = await this.#tlsOptions();
    if (this.#commands !== null) return;
    const commands = this.#createClient(Redis, 'commands', tls);
    const subscriber = this.#createClient(Redis, 'subscriber', tls);
    this.#commands = commands;
    this.#batcher = new PublishBatcher(commands);
    this.#subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      this.#listeners.dispatch(channel, message, reportListenerError);
      if (this.#batcher!.outstanding >= PUBLISH_HIGH_WATER) this.#holdMessages(subscriber);
    });
    for (const client of [commands, subscriber]) {
      client.on('ready', () => void this.#onReady());
      client.on('close', () => this.#onLost());
    }
    const refused = new Promise<never>((_, reject) => {
      this.#refuse = reject;
    });
    try {
      await withTimeout(
        Promise.race([Promise.all([waitReady(commands), waitReady(subscriber)]), refused]),
        this.#connectTimeoutMs,
      );
    } catch (err) {
      await Promise.all([shutDownClient(commands), shutDownClient(subscriber)]);
      this.#commands = null;
      this.#subscriber = null;
      if (isAccessRefusal(err)) throw this.#accessDenied(err, 'connect');
      if (isCertificateFailure(err)) {
        throw new DaebusError(
          'DISCONNECTED',
          `Redis at ${this.url} presented a certificate that does not verify (${errorMessage(err)}). ` +
            "When it comes from your own authority or is self-signed, give the authority's certificate " +
            '(the caFile option, or REDIS_CA_FILE); check that the URL names the host the certificate is for.',
          { cause: err },
        );
      }
      const reason = this.#lastError ? errorMessage(this.#lastError) : 'no answer';
      throw new DaebusError(
        'DISCONNECTED',
        `cannot reach Redis at ${this.url} within ${this.#connectTimeoutMs / 1000} s (${reason}). ` +
          'Start redis-server there, or point Daebus at another Redis (REDIS_URL, the `redis` option, or `--redis` on the command line).',
        { cause: this.#lastError ?? undefined },
      );
    } finally {
      this.#refuse = null;
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
      return await this.#batcher!.publish(channel, message);
    } catch (err) {
      if (isAccessRefusal(err)) throw this.#accessDenied(err, `publish on "${channel}"`);
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
      try {
        await this.#subscriber.subscribe(channel);
      } catch (err) {
        // A dropped connection is no failure (the reconnect re-subscribes); a refusal is.
        if (isReplyError(err)) {
          this.#listeners.delete(channel, listener);
          throw this.#accessDenied(err, `subscribe to "${channel}"`);
        }
      }
    }
    return async () => {
      if (this.#listeners.delete(channel, listener) && this.#subscriber?.status === 'ready') {
        await this.#subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  onStatus(listener: StatusListener): () => void {
    return this.#status.on(listener);
  }

  async close(): Promise<void> {
    if (this.#status.status === 'closed') return;
    clearTimeout(this.#resubscribeTimer ?? undefined);
    this.#resubscribeTimer = null;
    this.#status.set('closed');
    this.#status.clear();
    this.#listeners.clear();
    const clients = [this.#commands, this.#subscriber].filter((c): c is Redis => c !== null);
    await Promise.all(clients.map(shutDownClient));
    this.#commands = null;
    this.#subscriber = null;
  }

  /**
   * Stops reading messages while too many publishes (replies, mostly) wait
   * for Redis, and reads on once they have drained: under a flood the backlog
   * stays in Redis, bounded by its `client-output-buffer-limit`, instead of
   * growing this process's memory without bound.
   */
  #holdMessages(subscriber: Redis): void {
    const stream = subscriber.stream;
    if (stream.isPaused()) return;
    stream.pause();
    void this.#batcher!.whenBelow(PUBLISH_LOW_WATER).then(() => stream.resume());
  }

  /** The `tls` option with the CA file's contents, or undefined when there is no CA file. */
  async #tlsOptions(): Promise<RedisOptions['tls']> {
    if (this.#caFile === null) return undefined;
    let ca: Buffer;
    try {
      ca = await readFile(this.#caFile);
    } catch (err) {
      throw new DaebusError(
        'INVALID_CONFIG',
        `cannot read the Redis CA file "${this.#caFile}" (caFile or REDIS_CA_FILE): ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const given = this.#options.tls;
    return { ...(typeof given === 'object' ? given : {}), ca };
  }

  #createClient(RedisClient: typeof Redis, role: string, tls: RedisOptions['tls']): Redis {
    const client = new RedisClient(this.#url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      // A command in flight when the connection drops fails at once (DISCONNECTED) instead of
      // after the first reconnection attempt, and is never sent twice: its caller was told.
      maxRetriesPerRequest: 0,
      // disconnect() between reconnection attempts would otherwise arm a 2 s timer to destroy
      // the already-closed socket, holding the process after close() or a failed connect().
      disconnectTimeout: 0,
      connectionName: `daebus-${role}`,
      // No CLIENT SETINFO on each connect: one command fewer, and none for an ACL to allow.
      disableClientInfo: true,
      retryStrategy: (attempt) => reconnectDelay(attempt),
      ...this.#options,
      ...(tls === undefined ? {} : { tls }),
    });
    client.on('error', (err: Error) => {
      // Connection errors are expected during an outage; the status says what matters.
      this.#lastError = redactCommandArgs(err);
      // Retrying cannot help either of these: fail a connect() that waits at once.
      if (isAccessRefusal(err) || isCertificateFailure(err)) this.#refuse?.(err);
    });
    guardSocketErrors(client);
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
      } catch (err) {
        if (!isAccessRefusal(err)) return; // lost again; the next 'ready' retries
        // Connected, but this user may no longer subscribe (its ACL changed while Redis was
        // away): say so, and try again a little later, so that a fixed ACL brings them back.
        this.#status.report(
          this.#accessDenied(err, `restore the subscriptions (${channels.join(', ')})`),
        );
        clearTimeout(this.#resubscribeTimer ?? undefined);
        this.#resubscribeTimer = setTimeout(() => {
          this.#resubscribeTimer = null;
          void this.#onReady();
        }, RESUBSCRIBE_RETRY_MS);
        return;
      }
    }
    if (commands.status === 'ready' && subscriber.status === 'ready') this.#status.set('ready');
  }

  #onLost(): void {
    const status = this.#status.status;
    if (status === 'ready') this.#status.set('reconnecting', this.#lastError ?? undefined);
  }

  /** Redis refused the user: the message says which URL (masked) and where to look, never the password. */
  #accessDenied(err: unknown, what: string): DaebusError {
    return new DaebusError(
      'ACCESS_DENIED',
      `Redis at ${this.url} refused to ${what}: ${errorMessage(err)}. Check the user name and ` +
        'password (in the URL, redis://user:password@host:port/db, or the username and password ' +
        'options) and that the user\'s ACL allows Daebus\'s channels, keys and commands (README, "Security").',
      { cause: redactCommandArgs(err) },
    );
  }

  #closedError(): DaebusError {
    return new DaebusError('CLOSED', `the Redis transport to ${this.url} is closed`);
  }
}

/**
 * ioredis listens for one `'error'` per socket (`once`). A socket can emit
 * more than one: a TLS handshake that fails, then the server's alert; and
 * an `'error'` event with no listener left would crash the process. This
 * gives every socket the client opens a listener that stays; ioredis still
 * gets (and reports) the first error as before.
 */
function guardSocketErrors(client: Redis): void {
  // `connector` is private in ioredis's types; it opens each socket of the client.
  const connector = (client as unknown as { connector: SocketConnector }).connector;
  const connect = connector.connect.bind(connector);
  connector.connect = (...args) =>
    connect(...args).then((stream) => {
      stream.on('error', ignoreSocketError);
      return stream;
    });
}

interface SocketConnector {
  connect(...args: unknown[]): Promise<NodeJS.EventEmitter>;
}

function ignoreSocketError(): void {
  // The first error of a socket reaches ioredis (and the transport's status); later ones add nothing.
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

/**
 * Refuses a Redis URL that does not parse, before ioredis does: the parser's
 * own error would carry the whole URL, password included. The forms are
 * ioredis's: `redis://…`, `rediss://…`, `//…`, `host:port`; a path (a Unix
 * socket) is left alone.
 */
function checkUrl(url: string): void {
  if (url.startsWith('/') && !url.startsWith('//')) return;
  const full = /^rediss?:\/\//i.test(url)
    ? url
    : url.startsWith('//')
      ? `redis:${url}`
      : `redis://${url}`;
  try {
    new URL(full);
  } catch {
    throw new DaebusError(
      'INVALID_CONFIG',
      `the Redis URL ${maskRedisUrl(full)} is not a valid URL (the form is redis://user:password@host:port/db; ` +
        'percent-encode special characters in the password)',
    );
  }
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
