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

/**
 * Publishes a heartbeat right away and then every `intervalSeconds`, from a
 * `setTimeout` chain. A failed publish (Redis down) is skipped quietly: the
 * transport's status change is what gets logged.
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

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
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
    this.#app.publish(HEARTBEAT_CHANNEL, JSON.stringify(message)).catch(() => undefined);
    this.#timer = setTimeout(this.#beat, this.#intervalMs);
  };
}
