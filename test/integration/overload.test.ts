import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Daebus,
  MemoryTransport,
  type MessageListener,
  RedisTransport,
  type Transport,
} from '../../src/index.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';
import { captureLogger, delay, type TransportKind } from './support.js';

const FLOOD = 100_000;
const MAX_CONCURRENCY = 4;
const MAX_QUEUE = 50;
/** One message in this many carries no reply_to: its reply goes to `<service>.responses`. */
const NO_REPLY_TO_EVERY = 10;

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

/**
 * Watches the service from outside the limiter: a request delivered to the
 * service's listener is refused when the listener published an OVERLOADED
 * reply before returning, else accepted; an accepted request that has not
 * started its handler yet is waiting in the queue.
 */
class WatchingTransport implements Transport {
  readonly inner: Transport;
  readonly #watched: string;
  delivered = 0;
  refused = 0;
  started = 0;
  active = 0;
  maxActive = 0;
  maxWaiting = 0;

  constructor(inner: Transport, watched: string) {
    this.inner = inner;
    this.#watched = watched;
  }

  get kind(): string {
    return this.inner.kind;
  }
  get status() {
    return this.inner.status;
  }
  get client() {
    return this.inner.client;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  publish(channel: string, message: string): Promise<number> {
    if (message.includes('"code":"OVERLOADED"')) this.refused++;
    return this.inner.publish(channel, message);
  }
  subscribe(channel: string, listener: MessageListener) {
    if (channel !== this.#watched) return this.inner.subscribe(channel, listener);
    return this.inner.subscribe(channel, (raw, ch) => {
      this.delivered++;
      listener(raw, ch);
      const waiting = this.delivered - this.refused - this.started;
      if (waiting > this.maxWaiting) this.maxWaiting = waiting;
    });
  }
  onStatus(listener: Parameters<Transport['onStatus']>[0]) {
    return this.inner.onStatus(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Publishes `count` messages from `make(i)`, as fast as the transport takes them. */
async function flood(
  kind: TransportKind,
  client: WireClient,
  service: string,
  count: number,
  make: (i: number) => string,
): Promise<void> {
  if (kind === 'memory') {
    for (let i = 0; i < count; i++) void client.transport.publish(service, make(i));
    return;
  }
  const redis = new Redis(server.url);
  try {
    for (let start = 0; start < count; start += 5_000) {
      const pipeline = redis.pipeline();
      for (let i = start; i < Math.min(count, start + 5_000); i++)
        pipeline.publish(service, make(i));
      await pipeline.exec();
    }
  } finally {
    redis.disconnect();
  }
}

describe.each(['memory', 'redis'] as const)('a flood over the %s transport', (kind) => {
  it(`keeps the queue within maxQueue and answers each of ${FLOOD} requests or refuses it with OVERLOADED`, async () => {
    const service = `flood_${kind}`;
    const { logger, records } = captureLogger();
    const app = new Daebus('flood', {
      maxConcurrency: MAX_CONCURRENCY,
      maxQueue: MAX_QUEUE,
      handleSignals: false,
      logger,
    });
    const watch = new WatchingTransport(
      kind === 'memory' ? new MemoryTransport() : new RedisTransport({ url: server.url }),
      service,
    );
    app.action('work', async (payload: { i: number }) => {
      watch.started++;
      watch.active++;
      watch.maxActive = Math.max(watch.maxActive, watch.active);
      await delay(1);
      watch.active--;
      return { i: payload.i };
    });
    const client = await WireClient.connect(kind, server.url);
    // 0 = no reply yet, 1 = success, 2 = OVERLOADED, 3 = anything else; duplicates counted apart.
    const outcome = new Uint8Array(FLOOD);
    let replies = 0;
    let duplicates = 0;
    const onReply = (raw: string) => {
      const reply = JSON.parse(raw) as {
        status: string;
        payload: { code?: string };
        request_id: string;
      };
      const i = Number(reply.request_id);
      if (!(i >= 0 && i < FLOOD)) return;
      if (outcome[i] !== 0) duplicates++;
      else replies++;
      outcome[i] = reply.status === 'success' ? 1 : reply.payload.code === 'OVERLOADED' ? 2 : 3;
    };
    const offs = [
      await client.transport.subscribe(client.replyTo, onReply),
      await client.transport.subscribe(`${service}.responses`, onReply),
    ];
    try {
      await app.run({ service, transport: watch });
      await flood(kind, client, service, FLOOD, (i) =>
        JSON.stringify({
          action: 'work',
          payload: { i },
          request_id: String(i),
          ...(i % NO_REPLY_TO_EVERY === 0 ? {} : { reply_to: client.replyTo }),
        }),
      );
      await waitFor(() => replies === FLOOD, `${FLOOD} replies (have ${replies})`, 25_000);

      expect(duplicates).toBe(0);
      const counts = [0, 0, 0, 0];
      for (const o of outcome) counts[o]!++;
      expect(counts[3]).toBe(0);
      expect(counts[1]! + counts[2]!).toBe(FLOOD);
      expect(counts[1]).toBe(watch.started);
      expect(counts[2]).toBe(watch.refused);
      expect(counts[2]).toBeGreaterThan(FLOOD / 2);
      expect(watch.delivered).toBe(FLOOD);
      expect(watch.maxWaiting).toBeLessThanOrEqual(MAX_QUEUE);
      expect(watch.maxWaiting).toBeGreaterThan(0);
      expect(watch.maxActive).toBe(MAX_CONCURRENCY);
      // The refusals are not logged one by one.
      expect(records.filter((r) => r.level >= 40).length).toBeLessThan(50);

      // Still serving once the flood is over.
      const after = await client.call(service, 'work', { i: -1 });
      expect(after).toMatchObject({ status: 'success', payload: { i: -1 } });
    } finally {
      for (const off of offs) await off();
      await app.close();
      await client.close();
    }
  });
});
