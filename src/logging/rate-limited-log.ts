import type { Logger } from 'pino';

/** The most keys tracked one by one; beyond them only the total limit holds. */
const MAX_KEYS = 1000;

/** One window of a rate limit: when it started, and lines written in it. */
interface Window {
  start: number;
  written: number;
}

/**
 * Logs a repeated complaint (a bad message, a skipped run) at most
 * `perKey` times per window and key, and at most `total` times per window
 * over all keys; the first line after a window with suppressed lines says how
 * many were held back. Keeps a flood of bad input, or ten thousand tasks
 * waking late at once, from flooding the log.
 */
export class RateLimitedLog {
  readonly #perKey: number;
  readonly #total: number;
  readonly #windowMs: number;
  /** Per key: its current window. Old windows are dropped once there are many keys. */
  readonly #windows = new Map<string, Window>();
  #all: Window = { start: Number.NEGATIVE_INFINITY, written: 0 };
  /** Lines held back in the current window, over all keys. */
  #suppressed = 0;
  /** When expired windows were last dropped. */
  #swept = Number.NEGATIVE_INFINITY;

  constructor(perKey = 5, windowMs = 10_000, total = 20) {
    this.#perKey = perKey;
    this.#windowMs = windowMs;
    this.#total = total;
  }

  warn(logger: Logger, key: string, fields: object, message: string): void {
    const now = Date.now();
    if (now - this.#all.start >= this.#windowMs) {
      const suppressed = this.#suppressed;
      this.#all = { start: now, written: 0 };
      this.#suppressed = 0;
      if (suppressed > 0) {
        logger.warn(
          { suppressed },
          `${suppressed} similar warnings were suppressed in the last ${this.#windowMs / 1000} s`,
        );
      }
    }
    let window = this.#windows.get(key);
    if (window === undefined || now - window.start >= this.#windowMs) {
      if (window === undefined && this.#windows.size >= MAX_KEYS) this.#forgetOld(now);
      window = { start: now, written: 0 };
      // Past MAX_KEYS fresh keys, only the total limit applies to new ones.
      if (this.#windows.size < MAX_KEYS || this.#windows.has(key)) this.#windows.set(key, window);
    }
    if (window.written < this.#perKey && this.#all.written < this.#total) {
      window.written++;
      this.#all.written++;
      logger.warn(fields, message);
    } else {
      this.#suppressed++;
    }
  }

  /** Drops expired windows, at most once per window length. */
  #forgetOld(now: number): void {
    if (now - this.#swept < this.#windowMs) return;
    this.#swept = now;
    for (const [key, window] of this.#windows) {
      if (now - window.start >= this.#windowMs) this.#windows.delete(key);
    }
  }
}
