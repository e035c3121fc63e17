import type { TransportStatus } from './transport.js';

type StatusListener = (status: TransportStatus, detail?: Error) => void;

/** Holds a transport's status and tells listeners of each change (never the same status twice). */
export class StatusEmitter {
  #status: TransportStatus = 'connecting';
  readonly #listeners = new Set<StatusListener>();

  get status(): TransportStatus {
    return this.#status;
  }

  set(status: TransportStatus, detail?: Error): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#listeners) {
      try {
        listener(status, detail);
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
