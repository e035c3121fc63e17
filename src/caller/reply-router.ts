import { randomUUID } from 'node:crypto';
import { DaebusError, type DaebusErrorCode } from '../errors/daebus-error.js';
import { type QueueEntry, TimerQueue } from '../scheduler/timer-queue.js';
import type { Transport, Unsubscribe } from '../transport/transport.js';

/** Codes an error reply may carry that a caller passes on as they are. */
const KNOWN_REMOTE_CODES: ReadonlySet<string> = new Set<DaebusErrorCode>([
  'UNKNOWN_ACTION',
  'HANDLER_ERROR',
  'TIMEOUT',
  'BAD_REQUEST',
  'OVERLOADED',
  'SHUTTING_DOWN',
  'TASK_NOT_FOUND',
  'DISCONNECTED',
]);

/**
 * How long a `SHUTTING_DOWN` reply waits for a reply from another instance
 * before it ends the request: with independent replicas every instance
 * answers, and one that is closing should not win over one that is not.
 */
const SHUTDOWN_REPLY_GRACE_MS = 250;

/** One request waiting for its final response; it waits in the router's deadline queue too. */
export class PendingRequest implements QueueEntry {
  /** The request's deadline (epoch ms): when it fails with TIMEOUT, unless a reply comes. */
  due = Number.NaN;
  // Deadline-queue bookkeeping (see QueueEntry).
  seq = 0;
  heapIndex = -1;
  /** Subscribers the request reached, once its publish is acknowledged (-1 until then). */
  receivers = -1;
  /** Removes the abort listener; set only when the request has a signal. */
  detach: (() => void) | null = null;
  /** A closing instance's SHUTTING_DOWN, held back for a moment in case another instance answers. */
  heldError: DaebusError | null = null;

  constructor(
    readonly requestId: string,
    /** Who asked, for messages: `<target>.<action>`. */
    readonly label: string,
    /** The caller that owns it, so that closing a caller ends only its own requests. */
    readonly owner: object,
    readonly resolve: (payload: unknown) => void,
    readonly reject: (err: Error) => void,
    readonly onProgress: ((payload: unknown) => void) | undefined,
    /** The channel it was published on, for the timeout message. */
    readonly target: string,
    /** Its timeout, for the timeout message. */
    readonly timeoutMs: number,
  ) {}
}

/**
 * The reply side of every caller on one transport: one `caller:<uuid>`
 * channel, subscribed once, the table of requests waiting on it, and their
 * deadlines in a queue watched by a single timer (not one timer per request).
 * Entries leave the table when their request ends in any way, so the table
 * stays as large as the number of requests in flight, and no timer is left
 * once nothing is pending. When the transport loses its connection, every
 * waiting request ends at once with `DISCONNECTED`.
 */
export class ReplyRouter {
  readonly replyTo = `caller:${randomUUID()}`;
  readonly #transport: Transport;
  /** Requests in flight by request id; an entry is removed before its promise settles. */
  readonly #pending = new Map<string, PendingRequest>();
  /** The same requests by deadline. */
  readonly #deadlines = new TimerQueue<PendingRequest>();
  /** Fires at the earliest deadline; null when nothing is pending. */
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #subscription: Promise<Unsubscribe> | null = null;
  /** Stops watching the transport's status; set until `close()`. */
  readonly #offStatus: () => void;

  constructor(transport: Transport) {
    this.#transport = transport;
    // A reply published while the connection is down is lost: waiting for it would only time out.
    this.#offStatus = transport.onStatus((status, _detail, again) => {
      if (again) return; // news about the same status: pending requests were failed already
      if (status === 'reconnecting') {
        this.failAll(
          (pending) =>
            new DaebusError(
              'DISCONNECTED',
              `${pending.label} failed: the connection to Redis was lost before the reply came`,
            ),
        );
      } else if (status === 'closed') {
        this.failAll(
          (pending) =>
            new DaebusError(
              'CLOSED',
              `${pending.label} failed: the connection was closed before the reply came`,
            ),
        );
      }
    });
  }

  /** Requests in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** Subscribes the reply channel (once). */
  ready(): Promise<Unsubscribe> {
    this.#subscription ??= this.#transport.subscribe(this.replyTo, this.#onReply);
    return this.#subscription;
  }

  /** Registers a request; it fails with TIMEOUT unless its final reply comes within its timeout. */
  add(pending: PendingRequest): void {
    this.#pending.set(pending.requestId, pending);
    this.#setDeadline(pending, Date.now() + pending.timeoutMs);
  }

  /** Makes `at` (epoch ms) the request's deadline, in the queue and on the timer. */
  #setDeadline(pending: PendingRequest, at: number): void {
    pending.due = at;
    this.#deadlines.schedule(pending, at);
    if (this.#timer === null || at < this.#timerAt) this.#arm(at);
  }

  /** Ends one request with an error (timeout, abort, failed publish). */
  fail(requestId: string, err: Error): void {
    const pending = this.#take(requestId);
    pending?.reject(err);
  }

  /** Ends every request of `owner` (or all) with the error `err` makes for it. */
  failAll(err: (pending: PendingRequest) => Error, owner?: object): void {
    for (const [id, pending] of this.#pending) {
      if (owner === undefined || pending.owner === owner) this.fail(id, err(pending));
    }
  }

  async close(): Promise<void> {
    this.#offStatus();
    this.failAll(() => new DaebusError('CLOSED', 'the caller was closed before the reply came'));
    const subscription = this.#subscription;
    this.#subscription = null;
    if (subscription !== null) await (await subscription.catch(() => async () => undefined))();
  }

  #take(requestId: string): PendingRequest | undefined {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return undefined;
    this.#pending.delete(requestId);
    this.#deadlines.remove(pending);
    pending.detach?.();
    if (this.#pending.size === 0) {
      this.#disarm();
      // Removing only marks an entry; with nothing pending, drop what the marks left behind.
      this.#deadlines.clear();
    }
    return pending;
  }

  #arm(at: number): void {
    this.#disarm();
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onDeadline, Math.max(0, at - Date.now()));
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  /** Fails every request whose deadline has passed, then waits for the next deadline. */
  readonly #onDeadline = (): void => {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (
      let due = this.#deadlines.popDue(now);
      due !== undefined;
      due = this.#deadlines.popDue(now)
    ) {
      const nobody =
        due.receivers === 0 ? ` (nobody was subscribed to "${due.target}" when it was sent)` : '';
      this.fail(
        due.requestId,
        due.heldError ??
          new DaebusError(
            'TIMEOUT',
            `${due.label} got no reply within ${due.timeoutMs / 1000} s${nobody}`,
          ),
      );
    }
    const next = this.#deadlines.firstDue();
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  };

  /**
   * An instance that is closing answered SHUTTING_DOWN. With independent
   * replicas a healthy instance may answer too: the error ends the request
   * only if no other final reply comes within SHUTDOWN_REPLY_GRACE_MS.
   */
  #holdShutdown(requestId: string, payload: unknown): void {
    const pending = this.#pending.get(requestId);
    if (pending === undefined || pending.heldError !== null) return;
    pending.heldError = remoteError(pending.label, payload);
    this.#setDeadline(pending, Math.min(pending.due, Date.now() + SHUTDOWN_REPLY_GRACE_MS));
  }

  readonly #onReply = (raw: string): void => {
    let reply: { status?: unknown; payload?: unknown; request_id?: unknown; final?: unknown };
    try {
      reply = JSON.parse(raw);
    } catch {
      return; // not a response of ours
    }
    if (reply === null || typeof reply !== 'object' || typeof reply.request_id !== 'string') return;
    const requestId = reply.request_id;
    if (reply.final === false) {
      const pending = this.#pending.get(requestId);
      if (pending?.onProgress !== undefined) {
        try {
          pending.onProgress(reply.payload);
        } catch {
          // A progress callback's error is the callback's own business; the request goes on.
        }
      }
      return;
    }
    if (
      reply.status === 'error' &&
      (reply.payload as { code?: unknown } | null)?.code === 'SHUTTING_DOWN'
    ) {
      this.#holdShutdown(requestId, reply.payload);
      return;
    }
    const pending = this.#take(requestId);
    if (pending === undefined) return; // late, duplicate or foreign: only the first final counts
    if (reply.status === 'error') {
      pending.reject(remoteError(pending.label, reply.payload));
    } else {
      pending.resolve(reply.payload);
    }
  };
}

/** The error a final error reply turns into, with the remote code when it is a known one. */
export function remoteError(label: string, payload: unknown): DaebusError {
  const body = (payload ?? {}) as { error?: unknown; code?: unknown };
  const message = typeof body.error === 'string' ? body.error : 'unknown error';
  const code =
    typeof body.code === 'string' && KNOWN_REMOTE_CODES.has(body.code)
      ? (body.code as DaebusErrorCode)
      : 'REMOTE_ERROR';
  const error = new DaebusError(code, `${label} failed: ${message}`);
  if (typeof body.code === 'string' && code === 'REMOTE_ERROR') {
    Object.defineProperty(error, 'remoteCode', { value: body.code, enumerable: true });
  }
  return error;
}
