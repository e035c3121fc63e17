import { randomUUID } from 'node:crypto';
import { DaebusError, type DaebusErrorCode } from '../errors/daebus-error.js';
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

/** One request waiting for its final response. */
export interface PendingRequest {
  /** Who asked, for messages: `<service>.<action>`. */
  readonly label: string;
  /** The caller that owns it, so that closing a caller ends only its own requests. */
  readonly owner: object;
  readonly resolve: (payload: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly onProgress: ((payload: unknown) => void) | undefined;
  /** Clears the timeout and abort listener; called exactly once, when the request ends. */
  readonly cleanup: () => void;
}

/**
 * The reply side of every caller on one transport: one `caller:<uuid>`
 * channel, subscribed once, and the table of requests waiting on it.
 * Entries leave the table when their request ends in any way, so the table
 * stays as large as the number of requests in flight.
 */
export class ReplyRouter {
  readonly replyTo = `caller:${randomUUID()}`;
  readonly #transport: Transport;
  /** Requests in flight by request id; an entry is removed before its promise settles. */
  readonly #pending = new Map<string, PendingRequest>();
  #subscription: Promise<Unsubscribe> | null = null;

  constructor(transport: Transport) {
    this.#transport = transport;
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

  add(requestId: string, pending: PendingRequest): void {
    this.#pending.set(requestId, pending);
  }

  /** Ends one request with an error (timeout, abort, failed publish). */
  fail(requestId: string, err: Error): void {
    const pending = this.#take(requestId);
    pending?.reject(err);
  }

  /** Ends every request of `owner` (or all) with `err`. */
  failAll(err: () => Error, owner?: object): void {
    for (const [id, pending] of this.#pending) {
      if (owner === undefined || pending.owner === owner) this.fail(id, err());
    }
  }

  async close(): Promise<void> {
    this.failAll(() => new DaebusError('CLOSED', 'the caller was closed before the reply came'));
    const subscription = this.#subscription;
    this.#subscription = null;
    if (subscription !== null) await (await subscription.catch(() => async () => undefined))();
  }

  #take(requestId: string): PendingRequest | undefined {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return undefined;
    this.#pending.delete(requestId);
    pending.cleanup();
    return pending;
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
