/** Receives one message for one subscribed client. */
export type BusReceiver = (message: string, channel: string) => void;

/**
 * An in-process pub/sub broker with Redis semantics: a message reaches every
 * client subscribed to its channel at the moment it is published, delivery is
 * asynchronous, and `publish` returns the number of receiving clients.
 *
 * Transports that share a bus can talk to each other; `MemoryBus.shared` is
 * the one `transport: 'memory'` uses.
 */
export class MemoryBus {
  /** The process-wide bus used by `transport: 'memory'` and `new MemoryTransport()`. */
  static readonly shared = new MemoryBus();

  readonly #subscribers = new Map<string, Set<BusReceiver>>();

  /** Delivers `message` to the channel's current subscribers on a later microtask. */
  publish(channel: string, message: string): number {
    const receivers = this.#subscribers.get(channel);
    if (receivers === undefined || receivers.size === 0) return 0;
    const snapshot = [...receivers];
    queueMicrotask(() => {
      for (const receive of snapshot) receive(message, channel);
    });
    return snapshot.length;
  }

  subscribe(channel: string, receiver: BusReceiver): void {
    let receivers = this.#subscribers.get(channel);
    if (receivers === undefined) {
      receivers = new Set();
      this.#subscribers.set(channel, receivers);
    }
    receivers.add(receiver);
  }

  unsubscribe(channel: string, receiver: BusReceiver): void {
    const receivers = this.#subscribers.get(channel);
    if (receivers === undefined) return;
    receivers.delete(receiver);
    if (receivers.size === 0) this.#subscribers.delete(channel);
  }

  /** How many clients are subscribed to a channel (Redis `PUBSUB NUMSUB`). */
  subscriberCount(channel: string): number {
    return this.#subscribers.get(channel)?.size ?? 0;
  }
}
