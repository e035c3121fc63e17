/**
 * Replica mode (`replicas: 'shared'`): instances of one service split the
 * requests on its channel, each request handled and answered exactly once.
 * First in-process over both transports (three replicas; one leaving and
 * one joining under load; requests without `request_id`; introspection;
 * claims Redis refuses or cannot take), then three real processes of
 * examples/replicas.ts, one stopped and another started under a load of
 * 3,000 requests from three callers.
 */
import { Redis, type Redis as RedisClient, ReplyError } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Daebus,
  DaebusCaller,
  DaebusError,
  MemoryBus,
  MemoryTransport,
  type PingReply,
  RedisTransport,
  type TasksReply,
  type Transport,
} from '../../src/index.js';
import { type ChildService, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, type WireReply, waitFor } from '../harness/wire-client.js';
import { type CapturedRecord, captureLogger, delay, runOn, type TransportKind } from './support.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

/** Handler runs by work id: the instances that ran it, in order. */
type Runs = Map<string, string[]>;

/** An in-process replica whose `work` action records each run in `runs`, and its log lines in `records`. */
function replica(instance: string, runs: Runs, records: CapturedRecord[] = []): Daebus {
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => records.push(JSON.parse(line)) },
  );
  const app = new Daebus('replicas', { handleSignals: false, logger });
  app.action('work', async (payload: { id: string }) => {
    runs.set(payload.id, [...(runs.get(payload.id) ?? []), instance]);
    await delay(1);
    return { instance };
  });
  return app;
}

function workRequest(service: string, replyTo: string, id: string): string {
  return JSON.stringify({
    action: 'work',
    payload: { id },
    reply_to: replyTo,
    request_id: `req-${id}`,
    service,
  });
}

/** The final replies among `messages`, by request id. */
function finalsById(messages: unknown[]): Map<string, WireReply[]> {
  const finals = new Map<string, WireReply[]>();
  for (const message of messages as WireReply[]) {
    if (message.final === false) continue;
    const id = String(message.request_id);
    finals.set(id, [...(finals.get(id) ?? []), message]);
  }
  return finals;
}

/** Checks that each of `ids` ran once and got one final success reply, and nothing else ran. */
function expectExactlyOnce(ids: string[], runs: Runs, messages: unknown[]): void {
  const twice = [...runs].filter(([, by]) => by.length !== 1);
  expect(twice, 'handlers that ran more than once').toEqual([]);
  expect(runs.size).toBe(ids.length);
  const finals = finalsById(messages);
  const notOnce = ids.filter((id) => finals.get(`req-${id}`)?.length !== 1);
  expect(notOnce, 'requests without exactly one final reply').toEqual([]);
  expect(finals.size).toBe(ids.length);
  for (const [, [reply]] of finals) expect(reply!.status).toBe('success');
}

function instancesThatHandled(runs: Runs): Set<string> {
  return new Set([...runs.values()].map((by) => by[0]!));
}

describe.each(['memory', 'redis'] as const)(
  'replicas: "shared" in one process over %s',
  (kind: TransportKind) => {
    let client: WireClient;

    beforeAll(async () => {
      client = await WireClient.connect(kind, server.url);
    });

    afterAll(async () => {
      await client?.close();
    });

    it('three replicas, 300 requests: each handled once and answered once', async () => {
      const service = `replicas_three_${kind}`;
      const runs: Runs = new Map();
      const apps = ['r0', 'r1', 'r2'].map((instance) => replica(instance, runs));
      await Promise.all(
        apps.map((app, i) =>
          app.run(runOn(kind, service, server, { replicas: 'shared', instance: `r${i}` })),
        ),
      );
      const { messages, stop } = await client.collect(client.replyTo);
      const ids = Array.from({ length: 300 }, (_, i) => `three-${i}`);
      try {
        await Promise.all(
          ids.map((id) => client.publishRaw(service, workRequest(service, client.replyTo, id))),
        );
        await waitFor(() => finalsById(messages).size >= ids.length, '300 final replies', 10_000);
      } finally {
        // Closing drains every claim and handler: anything that would run twice has run by then.
        await Promise.all(apps.map((app) => app.close()));
        await stop();
      }
      expectExactlyOnce(ids, runs, messages);
    });

    it('a replica leaving and another joining under load: each request handled once and answered once', async () => {
      const service = `replicas_churn_${kind}`;
      const runs: Runs = new Map();
      const records: CapturedRecord[] = [];
      const [a, b] = ['a', 'b'].map((instance) => replica(instance, runs, records)) as [
        Daebus,
        Daebus,
      ];
      await a.run(runOn(kind, service, server, { replicas: 'shared', instance: 'a' }));
      await b.run(runOn(kind, service, server, { replicas: 'shared', instance: 'b' }));
      const c = replica('c', runs, records);
      const { messages, stop } = await client.collect(client.replyTo);
      const ids = Array.from({ length: 300 }, (_, i) => `churn-${i}`);
      let leaving: Promise<void> | null = null;
      try {
        for (const [i, id] of ids.entries()) {
          if (i === 100) leaving = a.close();
          // Requests sent before are still in flight while c subscribes.
          if (i === 150)
            await c.run(runOn(kind, service, server, { replicas: 'shared', instance: 'c' }));
          await client.publishRaw(service, workRequest(service, client.replyTo, id));
          await delay(1);
        }
        await waitFor(() => finalsById(messages).size >= ids.length, '300 final replies', 10_000);
        await leaving;
      } finally {
        await Promise.all([a, b, c].map((app) => app.close()));
        await stop();
      }
      expectExactlyOnce(ids, runs, messages);
      expect(a.status).toBe('closed');
      expect(instancesThatHandled(runs).size).toBeGreaterThan(1);
      // The leaving replica drained what it had claimed, and refused nothing.
      expect(records.filter((r) => r.level >= 40).map((r) => r.msg)).toEqual([]);
    });

    it('daebus:* on the service channel is answered once; on an instance channel by that instance', async () => {
      const service = `replicas_introspection_${kind}`;
      const runs: Runs = new Map();
      const apps = ['p0', 'p1', 'p2'].map((instance) => replica(instance, runs));
      await Promise.all(
        apps.map((app, i) =>
          app.run(runOn(kind, service, server, { replicas: 'shared', instance: `p${i}` })),
        ),
      );
      const { messages, stop } = await client.collect(client.replyTo);
      try {
        const pings = await Promise.all(
          ['p0', 'p1', 'p2'].map((instance) =>
            client.ok<PingReply>(`${service}@${instance}`, 'daebus:ping'),
          ),
        );
        expect(pings.map((p) => p.instance)).toEqual(['p0', 'p1', 'p2']);
        const tasks = await client.ok<TasksReply>(`${service}@p2`, 'daebus:tasks');
        expect(tasks.instance).toBe('p2');
        await client.publishRaw(
          service,
          JSON.stringify({
            action: 'daebus:ping',
            reply_to: client.replyTo,
            request_id: 'ping-shared',
            service,
          }),
        );
        await waitFor(() => finalsById(messages).has('ping-shared'), 'the reply to daebus:ping');
        const [final] = finalsById(messages).get('ping-shared')!;
        expect(['p0', 'p1', 'p2']).toContain((final!.payload as PingReply).instance);
      } finally {
        await Promise.all(apps.map((app) => app.close()));
        await stop();
      }
      expect(finalsById(messages).get('ping-shared')).toHaveLength(1);
      // Four requests on instance channels: each answered by its instance alone.
      expect([...finalsById(messages).values()].every((replies) => replies.length === 1)).toBe(
        true,
      );
    });

    it('requests without request_id are claimed by their bytes: an identical message within 5 s is the same request', async () => {
      const service = `replicas_no_id_${kind}`;
      const runs: Runs = new Map();
      const apps = ['n0', 'n1'].map((instance) => replica(instance, runs));
      await Promise.all(
        apps.map((app, i) =>
          app.run(runOn(kind, service, server, { replicas: 'shared', instance: `n${i}` })),
        ),
      );
      try {
        // The Python caller's send_to_service form: fields at the top level, no request_id, no reply_to.
        const one = JSON.stringify({ action: 'work', id: 'no-id-1' });
        await client.publishRaw(service, one);
        await client.publishRaw(service, JSON.stringify({ action: 'work', id: 'no-id-2' }));
        await client.publishRaw(service, one);
        await waitFor(() => runs.size === 2, 'both messages handled');
      } finally {
        await Promise.all(apps.map((app) => app.close()));
      }
      expect(Object.fromEntries(runs)).toEqual({
        'no-id-1': [expect.any(String)],
        'no-id-2': [expect.any(String)],
      });
    });
  },
);

/** A transport on a memory bus whose `client` is a stand-in Redis that fails every claim. */
class FailingClaimsTransport implements Transport {
  readonly kind = 'failing-claims';
  readonly client: RedisClient;
  readonly #inner: MemoryTransport;

  constructor(bus: MemoryBus, claimError: Error) {
    this.#inner = new MemoryTransport(bus);
    this.client = {
      set: () => Promise.reject(claimError),
    } as unknown as RedisClient;
  }

  get status() {
    return this.#inner.status;
  }
  connect() {
    return this.#inner.connect();
  }
  publish(channel: string, message: string) {
    return this.#inner.publish(channel, message);
  }
  subscribe(...args: Parameters<Transport['subscribe']>) {
    return this.#inner.subscribe(...args);
  }
  onStatus(...args: Parameters<Transport['onStatus']>) {
    return this.#inner.onStatus(...args);
  }
  close() {
    return this.#inner.close();
  }
}

describe('replicas: options and failed claims', () => {
  it('refuses a bad replicas value, and a transport it cannot claim on, with INVALID_CONFIG', async () => {
    const app = new Daebus('bad', { handleSignals: false, logger: captureLogger().logger });
    const bad = app.run({
      service: 'replicas_bad',
      transport: 'memory',
      replicas: 'round-robin' as 'shared',
    });
    await expect(bad).rejects.toThrow(DaebusError);
    await expect(bad).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('replicas must be "independent"'),
    });
    await expect(bad).rejects.toThrow(/got "round-robin"/);
    const bare: Transport = new (class extends FailingClaimsTransport {
      override readonly client = null as unknown as RedisClient;
    })(new MemoryBus(), new Error('unused'));
    await expect(
      app.run({ service: 'replicas_bad', transport: bare, replicas: 'shared' }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('needs Redis or the in-memory transport'),
    });
    expect(app.status).toBe('idle');
  });

  it('a claim Redis refuses: no handler runs, and the caller gets DISCONNECTED', async () => {
    const bus = new MemoryBus();
    const transport = new FailingClaimsTransport(
      bus,
      new ReplyError(
        'NOPERM this user has no permissions to access one of the keys used as arguments',
      ),
    );
    const runs: Runs = new Map();
    const app = replica('x', runs);
    const client = new WireClient(new MemoryTransport(bus));
    await client.transport.connect();
    await app.run({ service: 'replicas_refused', transport, replicas: 'shared', instance: 'x' });
    try {
      const reply = await client.call('replicas_refused', 'work', { id: 'refused' });
      expect(reply).toMatchObject({ status: 'error', final: true });
      expect(reply.payload).toMatchObject({
        code: 'DISCONNECTED',
        error: expect.stringMatching(/could not claim the request: Redis refused it \(NOPERM/),
      });
      // The instance channel needs no claim.
      expect(await client.ok('replicas_refused@x', 'work', { id: 'direct' })).toEqual({
        instance: 'x',
      });
    } finally {
      await app.close();
      await transport.close();
      await client.close();
    }
    expect([...runs.keys()]).toEqual(['direct']);
  });

  it('a claim that cannot reach Redis: no handler runs and no reply (another replica may have answered)', async () => {
    const bus = new MemoryBus();
    const transport = new FailingClaimsTransport(bus, new Error('Connection is closed.'));
    const runs: Runs = new Map();
    const records: CapturedRecord[] = [];
    const app = replica('y', runs, records);
    const client = new WireClient(new MemoryTransport(bus));
    await client.transport.connect();
    await app.run({
      service: 'replicas_unreachable',
      transport,
      replicas: 'shared',
      instance: 'y',
    });
    const { messages, stop } = await client.collect(client.replyTo);
    try {
      await client.publishRaw(
        'replicas_unreachable',
        workRequest('replicas_unreachable', client.replyTo, 'lost'),
      );
      await waitFor(
        () =>
          records.some((r) => /could not claim the request: Redis cannot be reached/.test(r.msg)),
        'the failed claim to be logged',
      );
      // A request sent after it, on the instance channel, is answered: nothing more is coming.
      await client.ok('replicas_unreachable@y', 'daebus:ping');
    } finally {
      await app.close();
      await transport.close();
      await stop();
      await client.close();
    }
    expect(finalsById(messages).has('req-lost')).toBe(false);
    expect(runs.size).toBe(0);
  });
});

/** One process of examples/replicas.ts and the instance id it logged at start. */
interface Replica {
  readonly child: ChildService;
  readonly instance: string;
}

const SERVICE = 'replica_service';
const CALLERS = 3;
const BURSTS = 20;
const BURST_SIZE = 50;
const BURST_MS = 400;

async function startReplica(): Promise<Replica> {
  const child = startChild('examples/replicas.ts', { REDIS_URL: server.url });
  const running = await child.waitForLog(
    (r) => r.msg === `service "${SERVICE}" running on ${server.url}`,
    'that a replica runs',
    20_000,
  );
  return { child, instance: running.instance as string };
}

describe('replicas: "shared" across processes of examples/replicas.ts', () => {
  const replicas: Replica[] = [];
  const transports: RedisTransport[] = [];
  let spy: RedisClient;
  let redis: RedisClient;

  afterAll(async () => {
    for (const { child } of replicas) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        await child.stop('SIGKILL').catch(() => undefined);
      }
    }
    await Promise.all(transports.map((t) => t.close()));
    spy?.disconnect();
    redis?.disconnect();
  });

  it('3,000 requests from three callers while one replica stops and another starts: each handled once, answered once', async () => {
    replicas.push(...(await Promise.all([startReplica(), startReplica(), startReplica()])));
    const [leaver, ...stayers] = replicas as [Replica, ...Replica[]];
    redis = new Redis(server.url);
    // Every reply to every caller, as it travels on the wire.
    spy = new Redis(server.url);
    const finals = new Map<string, number>();
    let sentinel = false;
    spy.on('pmessage', (_pattern: string, channel: string, raw: string) => {
      if (channel === 'caller:sentinel') {
        sentinel = true;
        return;
      }
      const reply = JSON.parse(raw) as WireReply;
      if (reply.final === false || reply.request_id === undefined) return;
      finals.set(String(reply.request_id), (finals.get(String(reply.request_id)) ?? 0) + 1);
    });
    await spy.psubscribe('caller:*');

    // Three callers, each with connections and a reply channel of its own.
    const callers = Array.from({ length: CALLERS }, () => {
      const transport = new RedisTransport({ url: server.url });
      transports.push(transport);
      return new DaebusCaller<{ work: { payload: { id: string }; result: { instance: string } } }>(
        SERVICE,
        { transport, timeout: 15 },
      );
    });
    const progress = callers.map(() => 0);
    const handledBy = new Map<string, number>();
    const failures: string[] = [];
    let joiner: Promise<Replica> | null = null;

    const drive = async (caller: (typeof callers)[number], k: number): Promise<void> => {
      for (let burst = 0; burst < BURSTS; burst++) {
        // The last bursts wait for the new replica, so that it joins while the load goes on.
        if (burst >= 14) await joiner;
        const started = Date.now();
        const outcomes = await Promise.allSettled(
          Array.from({ length: BURST_SIZE }, (_, i) =>
            caller.request('work', { id: `${k}-${burst * BURST_SIZE + i}` }),
          ),
        );
        for (const outcome of outcomes) {
          if (outcome.status === 'fulfilled') {
            const { instance } = outcome.value;
            handledBy.set(instance, (handledBy.get(instance) ?? 0) + 1);
          } else {
            failures.push(String(outcome.reason));
          }
        }
        progress[k] = burst + 1;
        await delay(Math.max(0, BURST_MS - (Date.now() - started)));
      }
    };
    const churn = async (): Promise<number | string> => {
      await waitFor(() => Math.min(...progress) >= 5, 'a quarter of the load', 20_000);
      joiner = startReplica();
      const exit = await leaver.child.stop('SIGTERM');
      replicas.push(await joiner);
      return exit;
    };
    const [leaverExit] = await Promise.all([churn(), ...callers.map(drive)]);
    const joined = replicas[3]!;

    expect(failures.slice(0, 5), `${failures.length} requests failed`).toEqual([]);
    expect([...handledBy.values()].reduce((sum, n) => sum + n, 0)).toBe(
      CALLERS * BURSTS * BURST_SIZE,
    );
    expect(leaverExit).toBe(0);
    expect(handledBy.get(leaver.instance), 'requests the stopped replica handled').toBeGreaterThan(
      0,
    );
    expect(handledBy.get(joined.instance), 'requests the new replica handled').toBeGreaterThan(0);
    expect(handledBy.size).toBeGreaterThan(1);

    // Introspection still reaches each live instance on its own channel.
    const live = [...stayers, joined];
    const tool = new DaebusCaller(SERVICE, { transport: transports[0]! });
    for (const { instance } of live) {
      const ping = (await tool.request('daebus:ping', {}, { instance })) as PingReply;
      expect(ping).toMatchObject({ service: SERVICE, instance });
      const tasks = (await tool.request('daebus:tasks', {}, { instance })) as TasksReply;
      expect(tasks).toMatchObject({ service: SERVICE, instance, tasks: [] });
    }
    // On the service channel, one of them answers.
    const shared = (await tool.request('daebus:ping')) as PingReply;
    expect(live.map((r) => r.instance)).toContain(shared.instance);
    await tool.close();

    // Every replica exits cleanly; once they have, every reply they sent is on the wire.
    expect(await Promise.all(live.map(({ child }) => child.stop('SIGTERM')))).toEqual([0, 0, 0]);
    await redis.publish('caller:sentinel', '{}');
    await waitFor(() => sentinel, 'the sentinel to reach the spy');
    const requests = CALLERS * BURSTS * BURST_SIZE + 2 * live.length + 1;
    expect(finals.size, 'requests with a final reply').toBe(requests);
    expect([...finals].filter(([, n]) => n !== 1)).toEqual([]);

    // No handler ran twice: every work id was counted exactly once.
    const handled = await redis.hgetall(`${SERVICE}:handled`);
    expect(Object.keys(handled)).toHaveLength(CALLERS * BURSTS * BURST_SIZE);
    expect(Object.entries(handled).filter(([, n]) => n !== '1')).toEqual([]);

    // One claim per service-channel request (instance-channel requests are not claimed), each expiring.
    const claims = await redis.keys(`daebus:claim:${SERVICE}:*`);
    expect(claims).toHaveLength(CALLERS * BURSTS * BURST_SIZE + 1);
    for (const key of claims.slice(0, 20)) {
      const ttl = await redis.pttl(key);
      expect(ttl > 0 && ttl <= 60_000, `${key} expires, PTTL ${ttl}`).toBe(true);
    }
    for (const { child } of replicas) {
      expect(child.logs.filter((r) => (r.level ?? 0) >= 40).map((r) => r.msg)).toEqual([]);
    }
  }, 60_000);
});
