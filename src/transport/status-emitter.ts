import type { StatusListener, TransportStatus } from './transport.js';

/**
 * Holds a transport's status and tells listeners of each change (never the
 * same status twice), and of news about the status it stays in (`again`).
 */
export class StatusEmitter {
  #status: TransportStatus = 'connecting';
  readonly #listeners = new Set<StatusListener>();

  get status(): TransportStatus {
    return this.#status;
  }

  set(status: TransportStatus, detail?: Error): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#notify(detail, false);
  }

  /** Tells listeners why the transport stays in its status (a reason worth a log line). */
  report(detail: Error): void {
    this.#notify(detail, true);
  }

  #notify(detail: Error | undefined, again: boolean): void {
    for (const listener of this.#listeners) {
      try {
        listener(this.#status, detail, again);
      } catch {
        // A status listener must not break the transport; listeners log their own errors.
      }
    }
  }

  on(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clear(): void {
    this.#listeners.clear();
  }
}
