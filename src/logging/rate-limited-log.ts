import type { Logger } from 'pino';

/**
 * Logs a repeated complaint (a bad message, a skipped run) at most `limit`
 * times per window and key; at the next line after a quiet spell it says how
 * many were suppressed. Keeps a flood of bad input from flooding the log.
 */
export class RateLimitedLog {
  readonly #limit: number;
  readonly #windowMs: number;
  /** Per key: when the current window started, lines written and lines suppressed in it. */
  readonly #windows = new Map<string, { start: number; written: number; suppressed: number }>();

  constructor(limit = 5, windowMs = 10_000) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  warn(logger: Logger, key: string, fields: object, message: string): void {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (window === undefined || now - window.start >= this.#windowMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { start: now, written: 0, suppressed: 0 };
      this.#windows.set(key, window);
      if (this.#windows.size > 1000) this.#forgetOld(now);
      if (suppressed > 0) {
        logger.warn({ ...fields, suppressed }, `${suppressed} similar messages were suppressed`);
      }
    }
    if (window.written < this.#limit) {
      window.written++;
      logger.warn(fields, message);
    } else {
      window.suppressed++;
    }
  }

  #forgetOld(now: number): void {
    for (const [key, window] of this.#windows) {
      if (now - window.start >= this.#windowMs) this.#windows.delete(key);
    }
  }
}
