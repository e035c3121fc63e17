import type { MessageListener } from './transport.js';

/**
 * Which listeners each channel has. A transport subscribes a channel at the
 * broker when its first listener arrives, and unsubscribes it when the last
 * one leaves; after a reconnect it re-subscribes every channel listed here.
 */
export class ListenerSet {
  readonly #byChannel = new Map<string, Set<MessageListener>>();

  /** Adds a listener; returns true when the channel had none before. */
  add(channel: string, listener: MessageListener): boolean {
    let listeners = this.#byChannel.get(channel);
    const isNew = listeners === undefined;
    if (listeners === undefined) {
      listeners = new Set();
      this.#byChannel.set(channel, listeners);
    }
    listeners.add(listener);
    return isNew;
  }

  /** Removes a listener; returns true when the channel has none left. */
  delete(channel: string, listener: MessageListener): boolean {
    const listeners = this.#byChannel.get(channel);
    if (listeners === undefined || !listeners.delete(listener)) return false;
    if (listeners.size > 0) return false;
    this.#byChannel.delete(channel);
    return true;
  }

  /** Hands a message to every listener of its channel; a throwing listener does not stop the others. */
  dispatch(channel: string, message: string, onListenerError: (err: unknown) => void): void {
    const listeners = this.#byChannel.get(channel);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(message, channel);
      } catch (err) {
        onListenerError(err);
      }
    }
  }

  /** Every channel that has at least one listener. */
  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  has(channel: string): boolean {
    return this.#byChannel.has(channel);
  }

  clear(): void {
    this.#byChannel.clear();
  }
}

/**
 * The last resort for a listener that threw: a process warning, so that the
 * error is seen and the transport keeps delivering. Daebus's own listeners
 * catch their errors; this only sees a user's listener on a bare transport.
 */
export function reportListenerError(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), {
    type: 'DaebusListenerError',
  });
}
