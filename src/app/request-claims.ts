import { createHash } from 'node:crypto';
import { DaebusError, errorMessage } from '../errors/daebus-error.js';
import { serviceChannel } from '../protocol/names.js';
import type { RequestId } from '../protocol/wire-request.js';
import { reportListenerError } from '../transport/listener-set.js';
import type { MemoryBus } from '../transport/memory/memory-bus.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import { isReplyError } from '../transport/redis/ioredis-loader.js';
import { RedisTransport } from '../transport/redis/redis-transport.js';
import type { Transport } from '../transport/transport.js';

/**
 * How the instances of one service share the requests on its channel:
 * `independent` (each instance handles every request, as in Python Daebus)
 * or `shared` (each request is handled by exactly one of them).
 */
export type ReplicaMode = 'independent' | 'shared';

/** How long a claim on a request with a `request_id` lives, in milliseconds. */
export const CLAIM_TTL_MS = 60_000;

/**
 * How long a claim on a request without a `request_id` lives, in
 * milliseconds: such a claim is keyed by the message's bytes, so an identical
 * message sent again within this window counts as the same request.
 */
export const HASHED_CLAIM_TTL_MS = 5_000;

/** Request ids longer than this are hashed, so that a claim key stays short. */
const MAX_ID_IN_KEY = 200;

/**
 * What became of one claim: this replica handles the request (`won`),
 * another one does (`lost`), or the claim failed. A failed claim carries
 * the error and whether the caller should be told (see {@link RequestClaims}).
 */
export type ClaimOutcome = 'won' | 'lost' | { error: DaebusError; tellCaller: boolean };

/** Checks the `replicas` option of `run()`; the message shows the bad value. */
export function resolveReplicaMode(value: unknown): ReplicaMode {
  if (value === undefined) return 'independent';
  if (value === 'independent' || value === 'shared') return value;
  throw new DaebusError(
    'INVALID_CONFIG',
    `replicas must be "independent" (every instance handles every request) or "shared" ` +
      `(each request is handled by one instance), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
  );
}

/**
 * Claims of requests between the replicas of a service in `shared` mode.
 *
 * Every replica subscribes to `<service>`, so pub/sub hands each request to
 * all of them. Before handling one, a replica sets the key
 * `daebus:claim:<service>:<request_id>` to its instance id, only if the key
 * is absent (Redis `SET … PX <ttl> NX`): the replica whose claim lands
 * handles the request and answers it; the others drop it without a word.
 * Requests that carry no `request_id` (a Python `send_to_service`) are keyed
 * by a hash of the whole message instead, with a shorter expiry, so two
 * identical such messages within {@link HASHED_CLAIM_TTL_MS} count as one.
 * Every key expires on its own; nothing needs cleaning up.
 *
 * Only the service channel is claimed: a request on `<service>@<instance>`
 * is addressed to one replica already. A replica that is closing claims
 * nothing, so the others take the requests it would have had; what it has
 * already claimed, it still handles.
 *
 * When a claim cannot be made, the request is not handled here (a handler
 * never runs twice): on a lost connection this replica stays silent, since
 * another replica may have claimed the request and answered, and its own
 * reply could not get out anyway; when Redis answers but refuses the
 * command (an ACL without the `daebus:claim:*` keys, out of memory, a
 * read-only replica), it refuses every replica alike, so nobody handles
 * the request and the caller is told with `DISCONNECTED` (once by each
 * replica; callers keep the first final reply).
 *
 * The guarantee is at most once: a replica killed outright after claiming
 * a request leaves it unanswered, and its caller times out.
 *
 * On the in-memory transport the claims live in a registry of the
 * {@link MemoryBus}, with the same semantics: apps on one bus are replicas
 * of each other.
 */
export class RequestClaims {
  readonly #service: string;
  readonly #channel: string;
  readonly #instance: string;
  readonly #store: ClaimStore;
  /** Claims sent and not yet settled; `onIdle()` waits until it is zero. */
  #pending = 0;
  /** Resolvers of `onIdle()`, released when `#pending` drops to zero. */
  #idleWaiters: Array<() => void> = [];

  /** Throws `INVALID_CONFIG` for a transport that has neither Redis nor a memory bus behind it. */
  constructor(transport: Transport, service: string, instance: string) {
    this.#service = service;
    this.#channel = serviceChannel(service);
    this.#instance = instance;
    if (transport instanceof MemoryTransport) {
      this.#store = memoryStore(transport.bus);
    } else if (transport instanceof RedisTransport || transport.client !== null) {
      this.#store = redisStore(transport);
    } else {
      throw new DaebusError(
        'INVALID_CONFIG',
        `replicas: "shared" needs Redis or the in-memory transport to claim requests in; ` +
          `the "${transport.kind}" transport has no Redis client`,
      );
    }
  }

  /** True for a channel whose requests must be claimed: the service channel. */
  covers(channel: string): boolean {
    return channel === this.#channel;
  }

  /** The key that claims one request: by its id, or by a hash of the message when it has none. */
  key(raw: string, requestId: RequestId | null): string {
    const prefix = `daebus:claim:${this.#service}:`;
    if (requestId === null) return `${prefix}sha256:${hash(raw)}`;
    const id = String(requestId);
    return id.length > MAX_ID_IN_KEY ? `${prefix}sha256:${hash(id)}` : `${prefix}${id}`;
  }

  /**
   * Claims one request for this instance and hands the outcome to `then`;
   * `onIdle()` counts the claim as in flight until `then` has returned.
   */
  claim(raw: string, requestId: RequestId | null, then: (outcome: ClaimOutcome) => void): void {
    this.#pending++;
    void this.#attempt(raw, requestId)
      .then(then)
      .catch(reportListenerError)
      .finally(() => this.#settle());
  }

  async #attempt(raw: string, requestId: RequestId | null): Promise<ClaimOutcome> {
    try {
      const ttlMs = requestId === null ? HASHED_CLAIM_TTL_MS : CLAIM_TTL_MS;
      return (await this.#store(this.key(raw, requestId), this.#instance, ttlMs)) ? 'won' : 'lost';
    } catch (err) {
      const refused = isReplyError(err);
      const why = refused ? 'Redis refused it' : 'Redis cannot be reached';
      const error = new DaebusError(
        'DISCONNECTED',
        `service "${this.#service}" could not claim the request: ${why} (${errorMessage(err)})`,
        { cause: err },
      );
      return { error, tellCaller: refused };
    }
  }

  /** Resolves once no claim is in flight (what has been won is then in the limiter). */
  onIdle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #settle(): void {
    if (--this.#pending > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Sets `key` to `owner` for `ttlMs` if it is absent; resolves true when it was set. */
type ClaimStore = (key: string, owner: string, ttlMs: number) => Promise<boolean>;

function redisStore(transport: Transport): ClaimStore {
  return async (key, owner, ttlMs) => {
    // Read at each claim: the client exists only once connected.
    const client = transport.client;
    if (client === null) throw new Error('not connected');
    return (await client.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK';
  };
}

/** Claim keys of one bus and when they expire (ms since the epoch), oldest first. */
const memoryClaims = new WeakMap<MemoryBus, Map<string, number>>();

function memoryStore(bus: MemoryBus): ClaimStore {
  let claims = memoryClaims.get(bus);
  if (claims === undefined) {
    claims = new Map();
    memoryClaims.set(bus, claims);
  }
  const registry = claims;
  return async (key, _owner, ttlMs) => {
    const now = Date.now();
    // Expired claims are dropped from the front: no timer is needed, and the map stays bounded.
    for (const [oldKey, expiresAt] of registry) {
      if (expiresAt > now) break;
      registry.delete(oldKey);
    }
    const expiresAt = registry.get(key);
    if (expiresAt !== undefined && expiresAt > now) return false;
    registry.delete(key);
    registry.set(key, now + ttlMs);
    return true;
  };
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
