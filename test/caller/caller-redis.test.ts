import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daebus, DaebusCaller, DaebusError } from '../../src/index.js';
import { freePort, type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { captureLogger } from './support.js';

let server: RedisServer;
/** A plain client for looking at the server: CLIENT LIST, PUBSUB. */
let admin: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url, { connectionName: 'test-admin' });
});

afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

/** How many clients of each name the server has connected now. */
async function clientsByName(): Promise<Record<string, number>> {
  const list = (await admin.client('LIST')) as string;
  const counts: Record<string, number> = {};
  for (const line of list.split('\n')) {
    const name = /\bname=(\S*)/.exec(line)?.[1];
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

async function callerReplyChannels(): Promise<string[]> {
  return (await admin.pubsub('CHANNELS', 'caller:*')) as string[];
}

describe('DaebusCaller when Redis cannot be reached', () => {
  it('fails with DISCONNECTED within the request timeout, and connects once Redis is up', async () => {
    const port = await freePort();
    const caller = new DaebusCaller('late_service', {
      redis: `redis://127.0.0.1:${port}`,
      timeout: 0.5,
    });
    let late: RedisServer | null = null;
    let app: Daebus | null = null;
    try {
      const started = performance.now();
      const err = await caller.request('get_data', {}).then(
        () => null,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(err).toBeInstanceOf(DaebusError);
      expect((err as DaebusError).code, (err as Error).message).toBe('DISCONNECTED');
      expect((err as Error).message).toContain('late_service.get_data');
      expect(elapsed).toBeLessThan(1_500);
      // The connection keeps trying: once Redis and the service are up, requests go through.
      late = await startRedisServer({ port });
      app = new Daebus('late', { logger: captureLogger().logger, handleSignals: false });
      app.action('get_data', () => ({ value: 42 }));
      await app.run({ service: 'late_service', redis: late.url });
      expect(await caller.request('get_data', {}, { timeout: 5 })).toEqual({ value: 42 });
    } finally {
      await caller.close();
      await app?.close();
      await late?.stop();
    }
  });
});

describe('DaebusCaller connections over Redis', () => {
  const service = 'shared_conn_service';
  let app: Daebus;

  beforeAll(async () => {
    app = new Daebus('shared', { logger: captureLogger().logger, handleSignals: false });
    app.action('echo', (payload) => payload);
    await app.run({ service, redis: server.url });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('shares one pair of connections and one reply channel among the callers of a process', async () => {
    const before = await clientsByName();
    const channelsBefore = await callerReplyChannels();
    expect(channelsBefore).toHaveLength(0);
    const callers = [
      new DaebusCaller(service, { redis: server.url }),
      new DaebusCaller(service, { redis: server.url, timeout: 2 }),
      new DaebusCaller('another_service', { redis: server.url }),
    ];
    try {
      await Promise.all(callers.slice(0, 2).map((c, i) => c.request('echo', { i })));
      await callers[2]!.sendMessage('some_channel', { hello: 1 });
      const during = await clientsByName();
      expect((during['daebus-commands'] ?? 0) - (before['daebus-commands'] ?? 0)).toBe(1);
      expect((during['daebus-subscriber'] ?? 0) - (before['daebus-subscriber'] ?? 0)).toBe(1);
      const channels = await callerReplyChannels();
      expect(channels).toHaveLength(1);
      const [, subscribers] = (await admin.pubsub('NUMSUB', channels[0]!)) as [string, number];
      expect(Number(subscribers)).toBe(1);
      // The shared connection stays while any caller holds it.
      await callers[0]!.close();
      expect(await callers[1]!.request('echo', { still: 'up' })).toEqual({ still: 'up' });
      await callers[1]!.close();
      await callers[2]!.close();
      const after = await clientsByName();
      expect(after['daebus-commands'] ?? 0).toBe(before['daebus-commands'] ?? 0);
      expect(after['daebus-subscriber'] ?? 0).toBe(before['daebus-subscriber'] ?? 0);
      expect(await callerReplyChannels()).toHaveLength(0);
      // A new caller after all were closed opens a fresh connection and works.
      const fresh = new DaebusCaller(service, { redis: server.url });
      try {
        expect(await fresh.request('echo', { fresh: true })).toEqual({ fresh: true });
        expect(await callerReplyChannels()).toHaveLength(1);
      } finally {
        await fresh.close();
      }
    } finally {
      await Promise.all(callers.map((c) => c.close()));
    }
  });
});
