import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStatus,
  broadcast,
  cache,
  Daebus,
  DaebusCaller,
  DaebusError,
  RedisTransport,
  type TransportStatus,
} from '../../src/index.js';
import { startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';
import { captureLogger, waitForExit } from './support.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('a Redis restart', () => {
  const service = 'reconnecting_service';
  const instance = 'reconnect-instance-1';
  const captured = captureLogger();
  const connection: TransportStatus[] = [];
  const statuses: AppStatus[] = [];
  const news: unknown[] = [];
  const late: unknown[] = [];
  /** How each broadcast of the ticker ended: 'ok' or an error code, and how long it took. */
  const broadcasts: Array<{ outcome: string; ms: number }> = [];
  let ticks = 0;
  let app: Daebus;
  let client: WireClient;
  let caller: DaebusCaller;
  let releaseHang: () => void = () => undefined;

  beforeAll(async () => {
    app = new Daebus('reconnect', {
      logger: captured.logger,
      handleSignals: false,
      heartbeatInterval: 0.1,
    });
    app.action('echo', (payload) => ({ echo: payload }));
    app.action('remember', async (payload: { value: string }) => {
      await cache.set('reconnect:value', payload.value, 'EX', 60);
      return { stored: await cache.get('reconnect:value') };
    });
    app.listen('news', (message) => {
      news.push(message);
    });
    app.action('hang', () => new Promise<void>((resolve) => (releaseHang = resolve)));
    app.background('ticker', 0.05, async () => {
      ticks++;
      const started = performance.now();
      try {
        await broadcast.send('ticks', { ticks });
        broadcasts.push({ outcome: 'ok', ms: performance.now() - started });
      } catch (err) {
        const outcome = err instanceof DaebusError ? err.code : String(err);
        broadcasts.push({ outcome, ms: performance.now() - started });
      }
    });
    app.on('connection', (status: TransportStatus) => connection.push(status));
    app.on('status', (status: AppStatus) => statuses.push(status));
    await app.run({ service, redis: server.url, instance });
    caller = new DaebusCaller(service, { redis: server.url, timeout: 5 });
    // A listen channel added while running must come back too.
    app.listen('late_news', (message) => {
      late.push(message);
    });
    client = await WireClient.connect('redis', server.url);
    await waitFor(
      async () => (await client.publishRaw('late_news', JSON.stringify({ probe: 0 }))) > 0,
      'the late listen channel to be subscribed',
    );
  });

  afterAll(async () => {
    releaseHang();
    await caller?.close();
    await client?.close();
    await app?.close();
  });

  async function killAndRestart(): Promise<void> {
    const before = connection.length;
    const statusesBefore = statuses.length;
    // A request in flight when Redis dies ends at once with DISCONNECTED, not by its 5 s timeout.
    const inFlight = caller.request('hang').then(
      () => 'answered',
      (err: DaebusError) => ({ code: err.code, at: performance.now() }),
    );
    await waitFor(() => caller.pendingCount === 1, 'the hanging request to be sent');
    const killedAt = performance.now();
    await server.kill('SIGKILL');
    await waitFor(
      () => connection.length > before && app.cache?.status !== 'ready',
      "the app to notice that Redis is gone ('reconnecting')",
    );
    expect(connection.slice(before)).toEqual(['reconnecting']);
    expect(app.status).toBe('reconnecting');
    expect(statuses.slice(statusesBefore)).toEqual(['reconnecting']);
    const ended = await inFlight;
    expect(ended).toMatchObject({ code: 'DISCONNECTED' });
    expect((ended as { at: number }).at - killedAt).toBeLessThan(500);
    expect(caller.pendingCount).toBe(0);
    releaseHang();
    // A new request while the connection is lost fails fast.
    const asked = performance.now();
    await expect(caller.request('echo', {})).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(performance.now() - asked).toBeLessThan(100);
    const broadcastsBefore = broadcasts.length;
    // Redis stays down until the tasks have demonstrably run without it.
    const ticksWhileDown = ticks;
    await waitFor(
      () => ticks >= ticksWhileDown + 3,
      'the ticker to keep running while Redis is down',
    );
    expect(connection.slice(before)).toEqual(['reconnecting']);
    // Its broadcasts failed at once with DISCONNECTED instead of hanging.
    const down = broadcasts.slice(broadcastsBefore);
    expect(down.length).toBeGreaterThanOrEqual(3);
    for (const { outcome, ms } of down) {
      expect(outcome).toBe('DISCONNECTED');
      expect(ms).toBeLessThan(100);
    }
    await server.restart();
    await waitFor(
      () => connection.length === before + 2,
      "the app to report the connection 'ready' again",
      10_000,
    );
    expect(connection.slice(before)).toEqual(['reconnecting', 'ready']);
    expect(app.status).toBe('running');
    expect(statuses.slice(statusesBefore)).toEqual(['reconnecting', 'running']);
    await waitFor(
      () => client.transport.status === 'ready',
      'the test client to reconnect',
      10_000,
    );
  }

  async function expectServing(round: number): Promise<void> {
    // The service channel.
    expect(await client.ok(service, 'echo', { round })).toEqual({ echo: { round } });
    // The instance channel.
    expect(await client.ok(`${service}@${instance}`, 'echo', { round })).toEqual({
      echo: { round },
    });
    // The command connection (the `cache` global).
    expect(await client.ok(service, 'remember', { value: `v${round}` })).toEqual({
      stored: `v${round}`,
    });
    // Listen channels, the one from before run() and the one added later.
    await client.publishRaw('news', JSON.stringify({ round }));
    await client.publishRaw('late_news', JSON.stringify({ round }));
    await waitFor(
      () =>
        news.some((m) => (m as { round?: number }).round === round) &&
        late.some((m) => (m as { round?: number }).round === round),
      `both listen handlers to get round ${round}`,
    );
    // A caller's reply channel is back too.
    await waitFor(
      async () => (await caller.request('echo', { round }).catch(() => null)) !== null,
      "the caller's requests to be answered again",
    );
    expect(await caller.request('echo', { round })).toEqual({ echo: { round } });
    // The heartbeat publishes again.
    const beats = await client.collect('daebus:heartbeat');
    try {
      await waitFor(() => beats.messages.length > 0, 'a heartbeat');
    } finally {
      await beats.stop();
    }
  }

  it('serves before the restart', async () => {
    await expectServing(0);
    expect(connection).toEqual([]);
  });

  it('reconnects, resubscribes and answers again after Redis is killed and restarted', async () => {
    await killAndRestart();
    await expectServing(1);
    expect(app.status).toBe('running');
    const lost = captured.records.find((r) => r.connection === 'reconnecting');
    expect(lost).toMatchObject({ level: 40, msg: expect.stringContaining('reconnecting') });
    const back = captured.records.find((r) => r.connection === 'ready');
    expect(back).toMatchObject({ level: 30, msg: expect.stringContaining('restored') });
  });

  it('survives a second restart the same way', async () => {
    await killAndRestart();
    await expectServing(2);
    expect(connection).toEqual(['reconnecting', 'ready', 'reconnecting', 'ready']);
  });
});

describe('a socket that reports more than one error', () => {
  it('does not crash the process (ioredis listens for one error per socket)', async () => {
    // As a TLS socket does when its handshake fails and the server's alert follows.
    const transport = new RedisTransport({ url: server.url });
    await transport.connect();
    try {
      const socket = (transport.client as unknown as { stream: NodeJS.EventEmitter }).stream;
      expect(() => {
        for (let i = 1; i <= 3; i++) socket.emit('error', new Error(`socket error ${i}`));
      }).not.toThrow();
    } finally {
      await transport.close();
    }
  });
});

describe('closing while Redis is down', () => {
  it('finishes at once, leaves nothing behind, and the process exits by itself', async () => {
    const child = startChild('test/integration/fixtures/close-leaves-nothing.ts', {
      DAEBUS_TRANSPORT: 'redis',
      REDIS_URL: server.url,
      OUTAGE: '1',
    });
    try {
      const exited = waitForExit(child.process, 15_000, child.output);
      await child.waitForLog((r) => r.msg === 'waiting for outage', 'that it is ready');
      await server.kill('SIGKILL');
      await child.waitForLog((r) => r.msg === 'resources', 'the report after close');
      const reportedAt = Date.now();
      expect(await exited, child.output()).toBe(0);
      expect(Date.now() - reportedAt, child.output()).toBeLessThan(1_000);
      const report = child.logs.find((r) => r.msg === 'resources') as {
        before: string[];
        after: string[];
      };
      expect([...report.after].sort()).toEqual([...report.before].sort());
    } finally {
      child.process.kill('SIGKILL');
      await server.restart();
    }
  });
});
