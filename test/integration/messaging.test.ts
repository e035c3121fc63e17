import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  broadcast,
  Daebus,
  DaebusError,
  logger,
  request,
  response,
  type TaskReply,
  type TasksReply,
  VERSION,
} from '../../src/index.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, type WireReply, waitFor } from '../harness/wire-client.js';
import { TASK_FIELDS } from '../harness/wire-fields.js';
import { type CapturedRecord, captureLogger, delay, ISO_UTC, runOn } from './support.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

function errorOf(reply: WireReply): { error: string; code?: string } {
  expect(reply.status).toBe('error');
  expect(reply.final).toBe(true);
  return reply.payload as { error: string; code?: string };
}

describe.each(['memory', 'redis'] as const)('messaging over the %s transport', (kind) => {
  const service = `messaging_${kind}`;
  const events = `events_${kind}`;
  const news = `news_${kind}`;
  const captured = captureLogger();
  const broadcasts: unknown[] = [];
  const listenSeen: Array<{ channel: string; responseError: string | null }> = [];
  let controlledRuns = 0;
  let tickerRuns = 0;
  let doubleSend: { finishedAfterFirst: boolean; secondResolved: boolean } | null = null;
  let app: Daebus;
  let client: WireClient;
  let startedAt = 0;

  beforeAll(async () => {
    app = new Daebus('messaging', {
      logger: captured.logger,
      handleSignals: false,
      heartbeatInterval: 0.2,
    });
    app.action('echo', (payload) => ({ echo: payload }));
    app.action('nothing', () => undefined);
    app.action('throws', () => {
      throw new Error('boom: the disk is on fire');
    });
    app.action('rejects', async () => {
      await delay(1);
      throw new TypeError('async boom');
    });
    app.action('bigint', () => ({ big: 10n }));
    app.action('cycle', () => {
      const node: Record<string, unknown> = { name: 'loop' };
      node.self = node;
      return node;
    });
    app.action('stream', async (payload: { steps: number }) => {
      for (let step = 1; step <= payload.steps; step++) {
        await response.send({ step }, { final: false });
      }
      return { done: true, steps: payload.steps };
    });
    app.action('custom_error', async () => {
      await response.error(new Error('no such widget'), { code: 'NOT_FOUND' });
    });
    app.action('plain_error', () => response.error('just a string'));
    app.action('send_twice', async () => {
      await response.send({ n: 1 });
      const finishedAfterFirst = response.finished;
      await response.send({ n: 2 });
      doubleSend = { finishedAfterFirst, secondResolved: true };
      return { n: 3 };
    });
    app.action('announce', async (payload: Record<string, unknown>) => ({
      receivers: await broadcast.send(news, payload),
    }));
    app.action('context', async (payload: { n: number; wait: number }, context) => {
      await delay(payload.wait);
      const seen = request.payload as { n: number };
      logger.info({ n: seen.n }, 'context seen');
      await delay(Math.floor(Math.random() * 5));
      const body = { n: seen.n, request_id: request.requestId, via: context.request.requestId };
      if (seen.n % 2 === 0) return body;
      await response.send(body);
      return undefined;
    });
    app.listen(events, (message) => {
      if ((message as { explode?: boolean }).explode) throw new Error('listener exploded');
      let responseError: string | null = null;
      try {
        void response.send({});
      } catch (err) {
        responseError = err instanceof DaebusError ? err.code : String(err);
      }
      listenSeen.push({ channel: request.channel, responseError });
      broadcasts.push(message);
    });
    app.background('ticker', 0.1, () => {
      tickerRuns++;
    });
    app.background('failing', 0.1, () => {
      throw new Error('task exploded');
    });
    app.background('controlled', 3600, () => {
      controlledRuns++;
    });
    app.after(600, () => undefined, { name: 'later' });
    startedAt = Date.now();
    await app.run(runOn(kind, service, server));
    client = await WireClient.connect(kind, server.url);
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  describe('requests and replies', () => {
    it('answers a request with a final success reply that echoes request_id', async () => {
      const onReplyTo = await client.collect(client.replyTo);
      try {
        const exchange = await client.exchange(service, {
          action: 'echo',
          payload: { detail: 'full' },
          service,
        });
        expect(exchange.progress).toEqual([]);
        expect(exchange.final).toEqual({
          status: 'success',
          payload: { echo: { detail: 'full' } },
          request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          final: true,
        });
        // The client matched the reply by the request_id it sent: it was echoed.
        expect(onReplyTo.messages).toEqual([exchange.final]);
      } finally {
        await onReplyTo.stop();
      }
    });

    it('parses a payload that is a JSON string, and keeps one that is not JSON', async () => {
      const parsed = await client.call(service, 'echo', '{"a": 1, "b": [true, null]}');
      expect(parsed.payload).toEqual({ echo: { a: 1, b: [true, null] } });
      const plain = await client.call(service, 'echo', 'hello there');
      expect(plain.payload).toEqual({ echo: 'hello there' });
    });

    it('uses the other top-level fields as the payload when payload is missing', async () => {
      // Python's send_to_service(payload, action) puts the payload's fields at the top level.
      const { final } = await client.exchange(service, {
        action: 'echo',
        service,
        name: 'disk',
        threshold: 0.9,
        tags: ['a'],
      });
      expect(final.status).toBe('success');
      expect(final.payload).toEqual({ echo: { name: 'disk', threshold: 0.9, tags: ['a'] } });
    });

    it('sends the reply to <service>.responses when the request has no reply_to', async () => {
      const responses = await client.collect(`${service}.responses`);
      try {
        await client.publishRaw(
          service,
          JSON.stringify({ action: 'echo', payload: { k: 1 }, request_id: 'no-reply-to' }),
        );
        await client.publishRaw(
          service,
          JSON.stringify({ action: 'no_such_action', request_id: 'no-reply-to-unknown' }),
        );
        // A handler that returns nothing with nowhere to reply sends nothing at all.
        await client.publishRaw(
          service,
          JSON.stringify({ action: 'nothing', request_id: 'no-reply-to-nothing' }),
        );
        await client.publishRaw(
          service,
          JSON.stringify({ action: 'echo', payload: {}, request_id: 'marker' }),
        );
        await waitFor(
          () => responses.messages.some((m) => (m as WireReply).request_id === 'marker'),
          'the marker reply on <service>.responses',
        );
        const byId = new Map(responses.messages.map((m) => [(m as WireReply).request_id, m]));
        expect(byId.get('no-reply-to')).toEqual({
          status: 'success',
          payload: { echo: { k: 1 } },
          request_id: 'no-reply-to',
          final: true,
        });
        expect(byId.get('no-reply-to-unknown')).toMatchObject({
          status: 'error',
          payload: { code: 'UNKNOWN_ACTION' },
        });
        expect(byId.has('no-reply-to-nothing')).toBe(false);
        expect(responses.messages).toHaveLength(3);
      } finally {
        await responses.stop();
      }
    });

    it('replies UNKNOWN_ACTION to an unknown action', async () => {
      const final = await client.call(service, 'does_not_exist');
      expect(final.request_id).toEqual(expect.any(String));
      const error = errorOf(final);
      expect(error.code).toBe('UNKNOWN_ACTION');
      expect(error.error).toContain('does_not_exist');
      expect(error.error).toContain(service);
    });

    it('replies HANDLER_ERROR with the message when a handler throws or rejects', async () => {
      const thrown = errorOf(await client.call(service, 'throws'));
      expect(thrown).toEqual({ error: 'boom: the disk is on fire', code: 'HANDLER_ERROR' });
      const rejected = errorOf(await client.call(service, 'rejects'));
      expect(rejected).toEqual({ error: 'async boom', code: 'HANDLER_ERROR' });
      const failure = captured.records.find((r) => r.msg.includes('boom: the disk is on fire'));
      expect(failure).toMatchObject({ level: 50, action: 'throws' });
    });

    it("sends the handler's return value as the reply", async () => {
      expect(await client.ok(service, 'echo', { x: [1, 2, 3] })).toEqual({
        echo: { x: [1, 2, 3] },
      });
    });

    it('replies {} when the handler returns nothing and sends nothing', async () => {
      const reply = await client.call(service, 'nothing');
      expect(reply).toMatchObject({ status: 'success', payload: {}, final: true });
    });

    it('replies HANDLER_ERROR when the result holds a BigInt or a cycle', async () => {
      const big = errorOf(await client.call(service, 'bigint'));
      expect(big.code).toBe('HANDLER_ERROR');
      expect(big.error).toMatch(/JSON/);
      expect(big.error).toMatch(/BigInt/i);
      const cycle = errorOf(await client.call(service, 'cycle'));
      expect(cycle.code).toBe('HANDLER_ERROR');
      expect(cycle.error).toMatch(/circular/i);
    });

    it('streams non-final messages, then one final message', async () => {
      const { progress, final } = await client.exchange(service, {
        action: 'stream',
        payload: { steps: 3 },
      });
      const id = final.request_id;
      expect(progress).toEqual(
        [1, 2, 3].map((step) => ({
          status: 'success',
          payload: { step },
          request_id: id,
          final: false,
        })),
      );
      expect(final).toEqual({
        status: 'success',
        payload: { done: true, steps: 3 },
        request_id: id,
        final: true,
      });
    });

    it('sends response.error(err, { code }) as a final error reply', async () => {
      expect(errorOf(await client.call(service, 'custom_error'))).toEqual({
        error: 'no such widget',
        code: 'NOT_FOUND',
      });
      expect(errorOf(await client.call(service, 'plain_error'))).toEqual({
        error: 'just a string',
        code: 'HANDLER_ERROR',
      });
    });

    it('drops a second final send (and the return value after it)', async () => {
      const onReplyTo = await client.collect(client.replyTo);
      try {
        const final = await client.call(service, 'send_twice');
        expect(final.payload).toEqual({ n: 1 });
        // Replies to one caller arrive in order: once this one is here, a second
        // reply to "send_twice" would have arrived before it.
        await client.call(service, 'echo');
        const twice = onReplyTo.messages.filter(
          (m) => (m as WireReply).request_id === final.request_id,
        );
        expect(twice).toHaveLength(1);
        expect(doubleSend).toEqual({ finishedAfterFirst: true, secondResolved: true });
        expect(captured.records.some((r) => r.msg.includes('already finished'))).toBe(true);
      } finally {
        await onReplyTo.stop();
      }
    });

    it('drops messages that are not JSON, not objects or have no action, and keeps serving', async () => {
      const responses = await client.collect(`${service}.responses`);
      const onReplyTo = await client.collect(client.replyTo);
      try {
        for (const raw of [
          'this is not json {',
          '[1, 2, 3]',
          '"a string"',
          '42',
          'null',
          '{"payload": {"x": 1}}',
          '{"action": 5, "request_id": "numeric-action"}',
          '{"action": "", "request_id": "empty-action"}',
        ]) {
          await client.publishRaw(service, raw);
        }
        await client.publishRaw(
          service,
          JSON.stringify({ action: 'echo', payload: {}, request_id: 'still-serving' }),
        );
        await waitFor(
          () => responses.messages.some((m) => (m as WireReply).request_id === 'still-serving'),
          'the reply sent after the bad messages',
        );
        expect(responses.messages).toEqual([
          { status: 'success', payload: { echo: {} }, request_id: 'still-serving', final: true },
        ]);
        expect(onReplyTo.messages).toEqual([]);
        expect(await client.ok(service, 'echo', { ok: 1 })).toEqual({ echo: { ok: 1 } });
        const warnings = captured.records.filter((r) => r.level === 40).map((r) => r.msg);
        expect(warnings.some((m) => m.includes('not JSON'))).toBe(true);
      } finally {
        await responses.stop();
        await onReplyTo.stop();
      }
    });

    it('replies BAD_REQUEST to an object with reply_to but no action', async () => {
      const onReplyTo = await client.collect(client.replyTo);
      const { final } = await client.exchange(service, { payload: { x: 1 } });
      await onReplyTo.stop();
      expect(final.request_id).toEqual(expect.any(String));
      expect(onReplyTo.messages).toEqual([final]);
      const error = errorOf(final);
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.error).toContain('action');
    });
  });

  describe('broadcast and listen', () => {
    it('delivers broadcasts to listen handlers, and broadcast.send reaches subscribers', async () => {
      broadcasts.length = 0;
      await client.publishRaw(events, JSON.stringify({ type: 'data_refreshed', seq: 1 }));
      await waitFor(() => broadcasts.length === 1, 'the listen handler to run');
      expect(broadcasts).toEqual([{ type: 'data_refreshed', seq: 1 }]);
      expect(listenSeen.at(-1)).toEqual({ channel: events, responseError: 'NO_CONTEXT' });

      const collected = await client.collect(news);
      try {
        const reply = await client.ok(service, 'announce', { cpu: 0.5, note: 'hi' });
        expect(reply).toEqual({ receivers: 1 });
        await waitFor(() => collected.messages.length === 1, 'the broadcast');
        expect(collected.messages).toEqual([{ cpu: 0.5, note: 'hi' }]);
      } finally {
        await collected.stop();
      }
    });

    it('ignores bad broadcasts and a throwing listener, and keeps listening', async () => {
      broadcasts.length = 0;
      for (const raw of ['not json', '[1, 2]', '7', 'null', '"text"']) {
        await client.publishRaw(events, raw);
      }
      await client.publishRaw(events, JSON.stringify({ explode: true }));
      await client.publishRaw(events, JSON.stringify({ seq: 2 }));
      await waitFor(() => broadcasts.length >= 1, 'the good broadcast');
      expect(broadcasts).toEqual([{ seq: 2 }]);
      expect(captured.records.some((r) => r.msg.includes('listener exploded'))).toBe(true);
      expect(captured.records.some((r) => r.msg.includes('broadcast is not JSON'))).toBe(true);
    });

    it('subscribes a listen channel added while running', async () => {
      const late = `late_${kind}`;
      const received: unknown[] = [];
      app.listen(late, (message) => {
        received.push(message);
      });
      await waitFor(
        async () => (await client.publishRaw(late, JSON.stringify({ probe: true }))) > 0,
        'the late listen channel to be subscribed',
      );
      await waitFor(() => received.length > 0, 'the late listener to run');
      expect(received[0]).toEqual({ probe: true });
    });
  });

  describe('reserved actions', () => {
    it('daebus:ping replies service, instance, pid, host, version and uptime_s', async () => {
      const ping = await client.ok<Record<string, unknown>>(service, 'daebus:ping');
      expect(ping).toMatchObject({
        service,
        instance: app.instance,
        pid: process.pid,
        host: hostname(),
        version: VERSION,
      });
      expect(typeof ping.uptime_s).toBe('number');
      expect(ping.uptime_s).toBeGreaterThanOrEqual(0);
    });

    it('daebus:tasks lists every task with the fields of PROTOCOL.md', async () => {
      await waitFor(
        () => tickerRuns >= 1 && (app.backgroundTasks.failing?.stats.failures ?? 0) >= 1,
        'the ticker and failing tasks to run',
      );
      const reply = await client.ok<TasksReply>(service, 'daebus:tasks');
      expect(reply.service).toBe(service);
      expect(reply.instance).toBe(app.instance);
      const byName = new Map(reply.tasks.map((t) => [t.name, t]));
      expect([...byName.keys()].sort()).toEqual(['controlled', 'failing', 'later', 'ticker']);
      for (const task of reply.tasks) {
        for (const field of TASK_FIELDS) expect(task).toHaveProperty(field);
      }
      const ticker = byName.get('ticker')!;
      expect(ticker).toMatchObject({
        kind: 'interval',
        interval: 0.1,
        cron: null,
        paused: false,
        failures: 0,
        skipped: 0,
        last_error: null,
      });
      expect(ticker.runs).toBeGreaterThanOrEqual(1);
      expect(ticker.last_run_at).toMatch(ISO_UTC);
      expect(ticker.next_run_at).toMatch(ISO_UTC);
      expect(typeof ticker.last_duration_ms).toBe('number');
      expect(typeof ticker.running).toBe('boolean');
      expect(typeof ticker.missed).toBe('number');
      const failing = byName.get('failing')!;
      expect(failing.failures).toBeGreaterThanOrEqual(1);
      expect(failing.last_error).toBe('task exploded');
      const later = byName.get('later')!;
      expect(later).toMatchObject({ kind: 'once', interval: null, cron: null, runs: 0 });
      expect(later.last_run_at).toBeNull();
      const nextRun = Date.parse(later.next_run_at ?? 'missing');
      expect(Math.abs(nextRun - (startedAt + 600_000))).toBeLessThan(2_000);
    });

    it('daebus:task pauses, resumes, triggers and re-times a task', async () => {
      const task = app.backgroundTasks.controlled!;
      const paused = await client.ok<TaskReply>(service, 'daebus:task', {
        name: 'controlled',
        op: 'pause',
      });
      expect(paused).toMatchObject({
        service,
        instance: app.instance,
        op: 'pause',
        task: { name: 'controlled', paused: true, next_run_at: null },
      });
      expect(task.paused).toBe(true);

      const resumed = await client.ok<TaskReply>(service, 'daebus:task', {
        name: 'controlled',
        op: 'resume',
      });
      expect(resumed.task.paused).toBe(false);
      expect(resumed.task.next_run_at).toMatch(ISO_UTC);
      expect(task.paused).toBe(false);

      const before = controlledRuns;
      const triggered = await client.ok<TaskReply>(service, 'daebus:task', {
        name: 'controlled',
        op: 'trigger',
      });
      expect(triggered.op).toBe('trigger');
      await waitFor(() => controlledRuns === before + 1, 'the triggered run');

      const retimed = await client.ok<TaskReply>(service, 'daebus:task', {
        name: 'controlled',
        op: 'interval',
        value: 2,
      });
      expect(retimed.task.interval).toBe(2);
      expect(task.interval).toBe(2);
      const fromString = await client.ok<TaskReply>(service, 'daebus:task', {
        name: 'controlled',
        op: 'interval',
        value: '1800',
      });
      expect(fromString.task.interval).toBe(1800);
      expect(task.interval).toBe(1800);
    });

    it('daebus:task answers TASK_NOT_FOUND and BAD_REQUEST', async () => {
      const cases: Array<[unknown, string, RegExp]> = [
        [{ name: 'ghost', op: 'pause' }, 'TASK_NOT_FOUND', /ghost/],
        [{ op: 'pause' }, 'BAD_REQUEST', /name/],
        [{ name: 'controlled', op: 'explode' }, 'BAD_REQUEST', /explode/],
        [{ name: 'controlled' }, 'BAD_REQUEST', /op/],
        [{ name: 'controlled', op: 'interval', value: -5 }, 'BAD_REQUEST', /-5/],
        [{ name: 'controlled', op: 'interval', value: 'soon' }, 'BAD_REQUEST', /interval/],
        [{ name: 'controlled', op: 'interval' }, 'BAD_REQUEST', /interval/],
        [{ name: 'later', op: 'interval', value: 5 }, 'BAD_REQUEST', /one-time/],
      ];
      for (const [payload, code, message] of cases) {
        const error = errorOf(await client.call(service, 'daebus:task', payload));
        expect(error.code, JSON.stringify(payload)).toBe(code);
        expect(error.error, JSON.stringify(payload)).toMatch(message);
      }
      expect(app.backgroundTasks.controlled!.interval).toBe(1800);
      const unknown = errorOf(await client.call(service, 'daebus:nonsense'));
      expect(unknown.code).toBe('UNKNOWN_ACTION');
    });

    it('publishes a heartbeat on daebus:heartbeat', async () => {
      const beats = await client.collect('daebus:heartbeat');
      try {
        const mine = () =>
          beats.messages.filter((m) => (m as { instance?: string }).instance === app.instance);
        await waitFor(() => mine().length >= 2, 'two heartbeats');
        const [first, second] = mine() as Array<Record<string, unknown>>;
        expect(first).toMatchObject({ service, instance: app.instance, pid: process.pid });
        expect(first!.host).toBe(hostname());
        expect(first!.started_at).toMatch(ISO_UTC);
        expect(first!.ts).toMatch(ISO_UTC);
        expect(second!.started_at).toBe(first!.started_at);
        const gap = Date.parse(second!.ts as string) - Date.parse(first!.ts as string);
        expect(gap).toBeGreaterThanOrEqual(150);
        expect(Date.parse(first!.ts as string)).toBeGreaterThanOrEqual(
          Date.parse(first!.started_at as string),
        );
      } finally {
        await beats.stop();
      }
    });
  });

  describe('instances', () => {
    const multi = `multi_${kind}`;
    const seen: Record<'a' | 'b', Array<string | number>> = { a: [], b: [] };
    const apps: Daebus[] = [];

    beforeAll(async () => {
      for (const name of ['a', 'b'] as const) {
        const replica = new Daebus('replica', {
          logger: captureLogger().logger,
          handleSignals: false,
        });
        replica.action('whoami', () => {
          seen[name].push(request.requestId!);
          return { instance: name };
        });
        await replica.run(runOn(kind, multi, server, { instance: `${kind}-replica-${name}` }));
        apps.push(replica);
      }
    });

    afterAll(async () => {
      await Promise.all(apps.map((a) => a.close()));
    });

    it('the service channel reaches every instance', async () => {
      const final = await client.call(multi, 'whoami');
      expect(final.status).toBe('success');
      const id = final.request_id!;
      await waitFor(() => seen.a.includes(id) && seen.b.includes(id), 'both replicas to answer');
    });

    it('<service>@<instance> reaches only that instance', async () => {
      const toA = await client.call(`${multi}@${kind}-replica-a`, 'whoami');
      expect(toA.payload).toEqual({ instance: 'a' });
      const toB = await client.call(`${multi}@${kind}-replica-b`, 'whoami');
      expect(toB.payload).toEqual({ instance: 'b' });
      const onlyA = toA.request_id!;
      const onlyB = toB.request_id!;
      // Each replica handles its messages in order: had b received the request
      // to a (published first), it would have recorded it before its own.
      expect(seen.a).toContain(onlyA);
      expect(seen.a).not.toContain(onlyB);
      expect(seen.b).toContain(onlyB);
      expect(seen.b).not.toContain(onlyA);

      const ping = await client.ok<{ instance: string }>(
        `${multi}@${kind}-replica-b`,
        'daebus:ping',
      );
      expect(ping.instance).toBe(`${kind}-replica-b`);
      expect(apps[1]!.instance).toBe(`${kind}-replica-b`);
    });
  });

  describe('concurrency', () => {
    it('gives each of 200 concurrent requests its own request, response and logger', async () => {
      const count = 200;
      const exchanges = await Promise.all(
        Array.from({ length: count }, (_, n) =>
          client.exchange(
            service,
            { action: 'context', payload: { n, wait: Math.floor(Math.random() * 10) } },
            15_000,
          ),
        ),
      );
      const nById = new Map<string, number>();
      exchanges.forEach(({ progress, final }, n) => {
        expect(progress).toEqual([]);
        expect(final.status).toBe('success');
        expect(final.payload).toEqual({
          n,
          request_id: final.request_id,
          via: final.request_id,
        });
        nById.set(final.request_id!, n);
      });
      expect(nById.size).toBe(count);
      const lines = captured.records.filter(
        (r): r is CapturedRecord & { request_id: string; n: number } =>
          r.msg === 'context seen' && nById.has(r.request_id as string),
      );
      expect(lines).toHaveLength(count);
      for (const line of lines) {
        expect(line.action).toBe('context');
        expect(line.n).toBe(nById.get(line.request_id));
      }
    });

    it('maxConcurrency caps the handlers running at once; the rest queue and are answered', async () => {
      const limited = new Daebus('limited', {
        logger: captureLogger().logger,
        handleSignals: false,
        maxConcurrency: 3,
      });
      let active = 0;
      let peak = 0;
      limited.action('hold', async (payload: { i: number }) => {
        active++;
        peak = Math.max(peak, active);
        await delay(15);
        active--;
        return { i: payload.i };
      });
      await limited.run(runOn(kind, `limited_${kind}`, server));
      try {
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            client.call(`limited_${kind}`, 'hold', { i }, 10_000),
          ),
        );
        expect(replies.map((r) => r.payload)).toEqual(
          Array.from({ length: 20 }, (_, i) => ({ i })),
        );
        expect(peak).toBe(3);
        expect(active).toBe(0);
      } finally {
        await limited.close();
      }
    });

    it('refuses requests past maxQueue with OVERLOADED', async () => {
      const tight = new Daebus('tight', {
        logger: captureLogger().logger,
        handleSignals: false,
        maxConcurrency: 1,
        maxQueue: 1,
      });
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started = 0;
      tight.action('wait', async () => {
        started++;
        await gate;
        return { ok: true };
      });
      await tight.run(runOn(kind, `tight_${kind}`, server));
      try {
        const first = client.call(`tight_${kind}`, 'wait');
        await waitFor(() => started === 1, 'the first request to start');
        const second = client.call(`tight_${kind}`, 'wait');
        const third = await client.call(`tight_${kind}`, 'wait');
        expect(errorOf(third).code).toBe('OVERLOADED');
        release();
        expect((await first).status).toBe('success');
        expect((await second).status).toBe('success');
      } finally {
        release();
        await tight.close();
      }
    });
  });
});

describe('names and context', () => {
  it('refuses user names that start with daebus:', async () => {
    const app = new Daebus('reserved', { logger: captureLogger().logger, handleSignals: false });
    const refusals: Array<() => unknown> = [
      () => app.action('daebus:ping', () => ({})),
      () => app.action('daebus:custom', () => ({})),
      () => app.listen('daebus:heartbeat', () => undefined),
      () => app.background('daebus:task', 1, () => undefined),
      () => app.after(1, () => undefined, { name: 'daebus:later' }),
    ];
    for (const refuse of refusals) {
      let caught: unknown;
      try {
        refuse();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DaebusError);
      expect((caught as DaebusError).code).toBe('INVALID_NAME');
      expect((caught as DaebusError).message).toContain('reserved prefix "daebus:"');
    }
    await expect(app.run({ service: 'daebus:svc', transport: 'memory' })).rejects.toThrow(
      /reserved prefix/,
    );
    expect(app.status).toBe('idle');
  });

  it('request and response throw a DaebusError outside a handler', () => {
    const uses: Array<[string, () => unknown, RegExp]> = [
      ['request.payload', () => request.payload, /`request` is only available inside/],
      ['request.action', () => request.action, /`request` is only available inside/],
      ['response.send', () => response.send({}), /`response` is only available inside/],
      ['response.error', () => response.error('x'), /`response` is only available inside/],
    ];
    for (const [what, use, message] of uses) {
      let caught: unknown;
      try {
        use();
      } catch (err) {
        caught = err;
      }
      expect(caught, what).toBeInstanceOf(DaebusError);
      expect((caught as DaebusError).code, what).toBe('NO_CONTEXT');
      expect((caught as DaebusError).message, what).toMatch(message);
      expect((caught as DaebusError).message, what).toContain('outside any handler');
    }
  });

  it('request throws inside a task and names the task', async () => {
    const app = new Daebus('tasky', { logger: captureLogger().logger, handleSignals: false });
    let caught: unknown;
    app.background('inspect', 3600, () => {
      try {
        void request.payload;
      } catch (err) {
        caught = err;
      }
    });
    await app.run({ service: 'tasky', transport: 'memory' });
    try {
      expect(await app.backgroundTasks.inspect!.trigger()).toBe('succeeded');
      expect(caught).toBeInstanceOf(DaebusError);
      expect((caught as DaebusError).message).toContain('in task "inspect"');
    } finally {
      await app.close();
    }
  });
});
