import type { Redis } from 'ioredis';

/** Claims a slot that is free or already this instance's (a retry of its own run). */
const RECLAIM_SCRIPT = `local owner = redis.call('get', KEYS[1]) if owner == false or owner == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 else return 0 end`;

/** Shortens a claim's expiry only while this instance still owns it. */
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Claims of exclusive runs, in Redis: one key per service, task and
 * scheduled slot (`daebus:lock:<service>:<task>:<slot ms>`), set only if
 * absent, with an expiry. The replica whose claim lands runs the slot; the
 * others skip it. A replica that dies mid-run blocks nothing: later slots
 * have keys of their own, and its key expires.
 *
 * At the end of a run the claim is released down to a short guard (not
 * deleted), so that a replica whose clock lags a little cannot take the same
 * slot again after the run has finished.
 */
export class ExclusiveLock {
  readonly #client: Redis;
  readonly #service: string;
  readonly #instance: string;

  constructor(client: Redis, service: string, instance: string) {
    this.#client = client;
    this.#service = service;
    this.#instance = instance;
  }

  key(task: string, slot: number): string {
    return `daebus:lock:${this.#service}:${task}:${Math.round(slot)}`;
  }

  /** Tries to claim a slot for `ttlMs`; resolves true when this instance got it. Rejects when Redis cannot be reached. */
  async claim(task: string, slot: number, ttlMs: number): Promise<boolean> {
    const reply = await this.#client.set(
      this.key(task, slot),
      this.#instance,
      'PX',
      Math.max(1, Math.ceil(ttlMs)),
      'NX',
    );
    return reply === 'OK';
  }

  /**
   * Claims a slot again for a retry of this instance's own failed run: the
   * end of that run left the claim in place as a guard, which `claim` would
   * take for another replica's. Resolves false when another replica holds it.
   */
  async reclaim(task: string, slot: number, ttlMs: number): Promise<boolean> {
    const reply = await this.#client.eval(
      RECLAIM_SCRIPT,
      1,
      this.key(task, slot),
      this.#instance,
      Math.max(1, Math.ceil(ttlMs)),
    );
    return reply === 1;
  }

  /** Ends a claim: its expiry shrinks to `guardMs`. Failures are harmless (the key expires anyway). */
  release(task: string, slot: number, guardMs: number): void {
    if (this.#client.status !== 'ready') return;
    this.#client
      .eval(
        RELEASE_SCRIPT,
        1,
        this.key(task, slot),
        this.#instance,
        Math.max(1, Math.ceil(guardMs)),
      )
      .catch(() => undefined);
  }
}
