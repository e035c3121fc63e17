import { hostname } from 'node:os';
import type { AppHandle } from '../context/app-handle.js';
import { HEARTBEAT_CHANNEL } from '../protocol/names.js';
import { VERSION } from '../version.js';

/** What each running service publishes on `daebus:heartbeat`. */
export interface HeartbeatMessage {
  service: string;
  instance: string;
  pid: number;
  host: string;
  started_at: string;
  ts: string;
  version: string;
  /** The heartbeat period in seconds, so a listener knows when an instance is overdue. */
  interval: number;
}

/** The Redis key under which an instance's latest heartbeat is kept (with an expiry). */
export function instanceKey(service: string, instance: string): string {
  return `daebus:instance:${service}:${instance}`;
}

/** The pattern that matches every instance key. */
export const INSTANCE_KEY_PATTERN = 'daebus:instance:*';

/** An instance key outlives its last heartbeat by this many periods. */
const KEY_TTL_PERIODS = 3;

/**
 * Publishes a heartbeat right away and then every `intervalSeconds`, from a
 * `setTimeout` chain. On Redis it also keeps the latest heartbeat under
 * {@link instanceKey} with an expiry of three periods, so that a tool can
 * list the live instances at once. A failed publish (Redis down) is skipped
 * quietly: the transport's status change is what gets logged.
 */
export class Heartbeat {
  readonly #app: AppHandle;
  readonly #instance: string;
  readonly #intervalMs: number;
  readonly #startedAt: string;
  #timer: NodeJS.Timeout | null = null;

  constructor(app: AppHandle, instance: string, intervalSeconds: number, startedAt: Date) {
    this.#app = app;
    this.#instance = instance;
    this.#intervalMs = intervalSeconds * 1000;
    this.#startedAt = startedAt.toISOString();
  }

  start(): void {
    this.#beat();
  }

  /** Stops beating and removes the instance key (when it can). */
  async stop(): Promise<void> {
    const wasBeating = this.#timer !== null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const client = this.#app.cacheClient;
    if (wasBeating && client !== null && client.status === 'ready') {
      await client.del(instanceKey(this.#app.service, this.#instance)).catch(() => undefined);
    }
  }

  readonly #beat = (): void => {
    const message: HeartbeatMessage = {
      service: this.#app.service,
      instance: this.#instance,
      pid: process.pid,
      host: hostname(),
      started_at: this.#startedAt,
      ts: new Date().toISOString(),
      version: VERSION,
      interval: this.#intervalMs / 1000,
    };
    const json = JSON.stringify(message);
    this.#app.publish(HEARTBEAT_CHANNEL, json).catch(() => undefined);
    const client = this.#app.cacheClient;
    if (client !== null && client.status === 'ready') {
      const ttl = Math.max(1, Math.ceil((KEY_TTL_PERIODS * this.#intervalMs) / 1000));
      client
        .set(instanceKey(this.#app.service, this.#instance), json, 'EX', ttl)
        .catch(() => undefined);
    }
    this.#timer = setTimeout(this.#beat, this.#intervalMs);
  };
}
