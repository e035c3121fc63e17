import type { Redis } from 'ioredis';

/**
 * The life of a transport's connection, as an explicit state:
 * `connecting` until the first connection is ready, `ready` while messages
 * flow, `reconnecting` after a loss (subscriptions are restored before it is
 * `ready` again), `closed` after `close()`.
 */
export type TransportStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/**
 * Hears a transport's status: each change, and with `again` true, news
 * about the status it stays in (why it is not back yet).
 */
export type StatusListener = (status: TransportStatus, detail?: Error, again?: boolean) => void;

/** Receives one raw message (a UTF-8 JSON string) and the channel it came on. */
export type MessageListener = (message: string, channel: string) => void;

/** Stops one subscription; resolves once the broker has been told. */
export type Unsubscribe = () => Promise<void>;

/**
 * The small interface between a Daebus app (or caller) and the pub/sub
 * system under it. The Redis and in-memory transports both implement it and
 * pass the same tests.
 */
export interface Transport {
  /** `redis` or `memory`; shows in logs and `daebus:ping`. */
  readonly kind: string;
  /** The current connection state. */
  readonly status: TransportStatus;
  /** The Redis client behind the transport, when there is one (the app's `cache`). */
  readonly client: Redis | null;
  /** Connects; resolves when messages can flow. Rejects with a clear error when it cannot. */
  connect(): Promise<void>;
  /** Publishes one message; resolves with the number of receivers. */
  publish(channel: string, message: string): Promise<number>;
  /** Adds a listener to a channel; several listeners may share a channel. */
  subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe>;
  /**
   * Calls `listener` on every status change, and with `again` true when the
   * transport learns why it stays in its status (Redis refused to restore a
   * subscription, say); returns a function that removes it.
   */
  onStatus(listener: StatusListener): () => void;
  /** Stops all subscriptions and releases every connection and timer. */
  close(): Promise<void>;
}
