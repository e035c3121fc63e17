import { randomUUID } from 'node:crypto';
import { MemoryTransport } from '../../src/transport/memory/memory-transport.js';
import { RedisTransport } from '../../src/transport/redis/redis-transport.js';
import type { Transport } from '../../src/transport/transport.js';

/** One response as it arrived on the wire. */
export interface WireReply {
  status: string;
  payload: unknown;
  request_id: string | null;
  final?: boolean;
}

/** All responses to one request: the progress messages, then the final one. */
export interface WireExchange {
  progress: WireReply[];
  final: WireReply;
}

/**
 * A client written from PROTOCOL.md alone: it publishes raw request JSON and
 * reads raw responses, so tests check the wire, not the library's own caller.
 */
export class WireClient {
  readonly transport: Transport;
  readonly replyTo = `caller:${randomUUID()}`;
  readonly #pending = new Map<
    string,
    { progress: WireReply[]; resolve: (e: WireExchange) => void }
  >();
  #ready: Promise<unknown> | null = null;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** A client on the in-memory transport, or on Redis at `url`. */
  static async connect(kind: 'memory' | 'redis', url?: string): Promise<WireClient> {
    const transport = kind === 'memory' ? new MemoryTransport() : new RedisTransport({ url });
    await transport.connect();
    return new WireClient(transport);
  }

  #listen(): Promise<unknown> {
    this.#ready ??= this.transport.subscribe(this.replyTo, (raw) => {
      const reply = JSON.parse(raw) as WireReply;
      const waiter = reply.request_id === null ? undefined : this.#pending.get(reply.request_id);
      if (waiter === undefined) return;
      if (reply.final === false) {
        waiter.progress.push(reply);
        return;
      }
      this.#pending.delete(reply.request_id!);
      waiter.resolve({ progress: waiter.progress, final: reply });
    });
    return this.#ready;
  }

  /** Sends a request (any fields) and waits for its final response. */
  async exchange(
    channel: string,
    message: Record<string, unknown>,
    timeoutMs = 5_000,
  ): Promise<WireExchange> {
    await this.#listen();
    const requestId = randomUUID();
    const done = new Promise<WireExchange>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(
          new Error(
            `no final response to ${JSON.stringify(message)} on "${channel}" within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#pending.set(requestId, {
        progress: [],
        resolve: (exchange) => {
          clearTimeout(timer);
          resolve(exchange);
        },
      });
    });
    await this.transport.publish(
      channel,
      JSON.stringify({ reply_to: this.replyTo, request_id: requestId, ...message }),
    );
    return done;
  }

  /** Calls `action` on `service` with `payload`; resolves with the final response. */
  async call(
    service: string,
    action: string,
    payload: unknown = {},
    timeoutMs?: number,
  ): Promise<WireReply> {
    return (await this.exchange(service, { action, payload, service }, timeoutMs)).final;
  }

  /** Calls and expects success; resolves with the payload. */
  async ok<T = Record<string, unknown>>(
    service: string,
    action: string,
    payload: unknown = {},
  ): Promise<T> {
    const reply = await this.call(service, action, payload);
    if (reply.status !== 'success')
      throw new Error(`${action} failed: ${JSON.stringify(reply.payload)}`);
    return reply.payload as T;
  }

  /** Publishes a raw string. */
  publishRaw(channel: string, raw: string): Promise<number> {
    return this.transport.publish(channel, raw);
  }

  /** Collects every message on `channel` (parsed as JSON) until `stop()`. */
  async collect(channel: string): Promise<{ messages: unknown[]; stop: () => Promise<void> }> {
    const messages: unknown[] = [];
    const stop = await this.transport.subscribe(channel, (raw) => messages.push(JSON.parse(raw)));
    return { messages, stop };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Polls `check` until it returns true, or fails after `timeoutMs` with `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
