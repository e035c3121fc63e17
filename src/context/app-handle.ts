import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * What per-message and per-task context needs from the running app. The app
 * implements it; the context globals (`broadcast`, `cache`, `directLogger`)
 * reach the app only through it.
 */
export interface AppHandle {
  /** The service name given to `run`. */
  readonly service: string;
  /** This process's instance id. */
  readonly instance: string;
  /** The service's logger, without per-handler bindings (`directLogger`). */
  readonly log: Logger;
  /** The Redis client, or null on the in-memory transport. */
  readonly cacheClient: Redis | null;
  /** Publishes one raw message. */
  publish(channel: string, message: string): Promise<number>;
  /** Aborts when the app starts to close. */
  readonly shutdownSignal: AbortSignal;
}
