import { DaebusError } from '../../errors/daebus-error.js';
import { ListenerSet, reportListenerError } from '../listener-set.js';
import { StatusEmitter } from '../status-emitter.js';
import type {
  MessageListener,
  StatusListener,
  Transport,
  TransportStatus,
  Unsubscribe,
} from '../transport.js';
import { MemoryBus } from './memory-bus.js';

/**
 * A transport that keeps every message inside the process: one client of a
 * {@link MemoryBus}. Services and callers in one process talk through it with
 * the same semantics as over Redis, with no server to run.
 */
export class MemoryTransport implements Transport {
  readonly kind = 'memory';
  readonly client = null;
  readonly #bus: MemoryBus;
  readonly #listeners = new ListenerSet();
  readonly #status = new StatusEmitter();
  readonly #receive = (message: string, channel: string): void => {
    this.#listeners.dispatch(channel, message, reportListenerError);
  };

  /** @param bus the bus to join; @default MemoryBus.shared */
  constructor(bus: MemoryBus = MemoryBus.shared) {
    this.#bus = bus;
  }

  /** The bus this transport is a client of. */
  get bus(): MemoryBus {
    return this.#bus;
  }

  get status(): TransportStatus {
    return this.#status.status;
  }

  async connect(): Promise<void> {
    if (this.#status.status === 'closed') throw closedError();
    this.#status.set('ready');
  }

  async publish(channel: string, message: string): Promise<number> {
    if (this.#status.status === 'closed') throw closedError();
    return this.#bus.publish(channel, message);
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    if (this.#status.status === 'closed') throw closedError();
    if (this.#listeners.add(channel, listener)) this.#bus.subscribe(channel, this.#receive);
    return async () => {
      if (this.#listeners.delete(channel, listener)) this.#bus.unsubscribe(channel, this.#receive);
    };
  }

  onStatus(listener: StatusListener): () => void {
    return this.#status.on(listener);
  }

  async close(): Promise<void> {
    for (const channel of this.#listeners.channels()) this.#bus.unsubscribe(channel, this.#receive);
    this.#listeners.clear();
    this.#status.set('closed');
    this.#status.clear();
  }
}

function closedError(): DaebusError {
  return new DaebusError('CLOSED', 'the in-memory transport is closed');
}
