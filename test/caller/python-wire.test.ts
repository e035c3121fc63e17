import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daebus, DaebusCaller, DaebusError } from '../../src/index.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { waitFor } from '../harness/wire-client.js';
import { captureLogger, pythonJson, UUID4 } from './support.js';

/**
 * Both directions of PROTOCOL.md against Python Daebus, played with plain
 * Redis clients: the bytes a Python caller publishes (json.dumps with its
 * default separators and ASCII escapes), and the replies a Python server
 * writes (no `final` field, `"progress"` status), over a real redis-server.
 */

let server: RedisServer;
/** Stands in for redis-py: publishes and reads raw strings. */
let python: Redis;
let pythonSubscriber: Redis;
/** Raw messages received by the Python side, by channel. */
const inbox = new Map<string, string[]>();

beforeAll(async () => {
  server = await startRedisServer();
  python = new Redis(server.url, { connectionName: 'python-client' });
  pythonSubscriber = new Redis(server.url, { connectionName: 'python-subscriber' });
  pythonSubscriber.on('message', (channel: string, message: string) => {
    const list = inbox.get(channel) ?? [];
    list.push(message);
    inbox.set(channel, list);
  });
  // A SUBSCRIBE sent before ioredis's ready check would fail that check (subscriber mode) and drop
  // the connection, with the subscription: wait until both are ready.
  await Promise.all(
    [python, pythonSubscriber].map((client) =>
      client.status === 'ready' ? undefined : once(client, 'ready'),
    ),
  );
});

afterAll(async () => {
  await python?.quit();
  await pythonSubscriber?.quit();
  await server?.stop();
});

/** Subscribes the Python side to `channel` and returns the list its messages land in. */
async function pythonListens(channel: string): Promise<string[]> {
  const list: string[] = [];
  inbox.set(channel, list);
  await pythonSubscriber.subscribe(channel);
  return list;
}

describe('a Python Daebus caller calling a TypeScript service', () => {
  const service = 'data_service';
  const captured = captureLogger();
  const stored: unknown[] = [];
  let app: Daebus;

  beforeAll(async () => {
    app = new Daebus('data', { logger: captured.logger, handleSignals: false });
    app.action('get_data', (payload: { key: string }) => ({
      key: payload.key,
      data: { temperature: 21.5, readings: [1, 2, 3] },
      last_updated: 1700000000.25,
    }));
    app.action('get_status', (payload) => ({ status: 'healthy', got: payload }));
    app.action('store', (payload) => {
      stored.push(payload);
      return { stored: true };
    });
    app.action('crash', () => {
      throw new Error('division by zero');
    });
    app.action('long_job', async (_payload, { response }) => {
      await response.send({ progress: 50 }, { final: false });
      await response.send({ progress: 100 }, { final: false });
      return { result: 'done' };
    });
    await app.run({ service, redis: server.url });
  });

  afterAll(async () => {
    await app?.close();
  });

  /** Publishes `bytes` as the Python caller would, and waits for `count` replies. */
  async function pythonRequest(
    replyTo: string,
    bytes: string,
    count = 1,
  ): Promise<Array<Record<string, unknown>>> {
    const replies = await pythonListens(replyTo);
    expect(await python.publish(service, bytes)).toBe(1);
    await waitFor(() => replies.length >= count, `${count} replies on ${replyTo}`);
    await pythonSubscriber.unsubscribe(replyTo);
    return replies.map((raw) => JSON.parse(raw) as Record<string, unknown>);
  }

  it("answers send_request's exact bytes with a reply in the protocol's format", async () => {
    const replyTo = `caller:${randomUUID()}`;
    const requestId = randomUUID();
    const bytes = `{"action": "get_data", "payload": {"key": "a"}, "reply_to": "${replyTo}", "request_id": "${requestId}", "service": "data_service"}`;
    const [reply] = await pythonRequest(replyTo, bytes);
    expect(Object.keys(reply!)).toEqual(['status', 'payload', 'request_id', 'final']);
    expect(reply).toEqual({
      status: 'success',
      payload: {
        key: 'a',
        data: { temperature: 21.5, readings: [1, 2, 3] },
        last_updated: 1700000000.25,
      },
      request_id: requestId,
      final: true,
    });
  });

  it("decodes json.dumps' \\u escapes, a payload sent as a JSON string, and a missing payload", async () => {
    const escaped = `caller:${randomUUID()}`;
    const id1 = randomUUID();
    const [unicode] = await pythonRequest(
      escaped,
      `{"action": "get_data", "payload": {"key": "caf\\u00e9 \\u2615"}, "reply_to": "${escaped}", "request_id": "${id1}", "service": "data_service"}`,
    );
    expect(unicode).toMatchObject({ status: 'success', request_id: id1, final: true });
    expect((unicode!.payload as { key: string }).key).toBe('café ☕');

    const doubled = `caller:${randomUUID()}`;
    const id2 = randomUUID();
    const [stringPayload] = await pythonRequest(
      doubled,
      `{"action": "get_data", "payload": "{\\"key\\": \\"b\\"}", "reply_to": "${doubled}", "request_id": "${id2}", "service": "data_service"}`,
    );
    expect((stringPayload!.payload as { key: string }).key).toBe('b');

    const bare = `caller:${randomUUID()}`;
    const id3 = randomUUID();
    const [noPayload] = await pythonRequest(
      bare,
      `{"action": "get_status", "reply_to": "${bare}", "request_id": "${id3}", "service": "data_service"}`,
    );
    expect(noPayload).toEqual({
      status: 'success',
      payload: { status: 'healthy', got: {} },
      request_id: id3,
      final: true,
    });
  });

  it('answers an unknown action and a failing handler with an error reply that carries "error"', async () => {
    const replyTo = `caller:${randomUUID()}`;
    const unknownId = randomUUID();
    const [unknown] = await pythonRequest(
      replyTo,
      `{"action": "no_such_action", "payload": {}, "reply_to": "${replyTo}", "request_id": "${unknownId}", "service": "data_service"}`,
    );
    expect(unknown).toEqual({
      status: 'error',
      payload: { error: expect.stringContaining('no_such_action'), code: 'UNKNOWN_ACTION' },
      request_id: unknownId,
      final: true,
    });
    const crashId = randomUUID();
    const [crash] = await pythonRequest(
      replyTo,
      `{"action": "crash", "payload": {}, "reply_to": "${replyTo}", "request_id": "${crashId}", "service": "data_service"}`,
    );
    expect(crash).toEqual({
      status: 'error',
      payload: { error: 'division by zero', code: 'HANDLER_ERROR' },
      request_id: crashId,
      final: true,
    });
  });

  it('streams progress as non-final replies before the final one', async () => {
    const replyTo = `caller:${randomUUID()}`;
    const requestId = randomUUID();
    const replies = await pythonRequest(
      replyTo,
      `{"action": "long_job", "payload": {}, "reply_to": "${replyTo}", "request_id": "${requestId}", "service": "data_service"}`,
      3,
    );
    expect(replies).toEqual([
      { status: 'success', payload: { progress: 50 }, request_id: requestId, final: false },
      { status: 'success', payload: { progress: 100 }, request_id: requestId, final: false },
      { status: 'success', payload: { result: 'done' }, request_id: requestId, final: true },
    ]);
  });

  it("handles send_to_service's form (fields at the top level plus action, no reply_to)", async () => {
    stored.length = 0;
    const responses = await pythonListens(`${service}.responses`);
    // send_to_service({"key": "a", "count": 2}, "store"): payload["action"] = action; json.dumps(payload)
    expect(await python.publish(service, '{"key": "a", "count": 2, "action": "store"}')).toBe(1);
    await waitFor(() => responses.length === 1, 'the reply on data_service.responses');
    expect(stored).toEqual([{ key: 'a', count: 2 }]);
    expect(JSON.parse(responses[0]!)).toEqual({
      status: 'success',
      payload: { stored: true },
      request_id: null,
      final: true,
    });
    // send_to_service(payload) with no action: nothing to route; dropped, and the service goes on.
    const logged = captured.records.length;
    expect(await python.publish(service, '{"key": "b"}')).toBe(1);
    await waitFor(
      () => captured.records.slice(logged).some((r) => r.msg.includes('"action"')),
      'the service to log the message it dropped',
    );
    const replyTo = `caller:${randomUUID()}`;
    const requestId = randomUUID();
    const [after] = await pythonRequest(
      replyTo,
      `{"action": "get_status", "payload": {}, "reply_to": "${replyTo}", "request_id": "${requestId}", "service": "data_service"}`,
    );
    expect(after).toMatchObject({ status: 'success', request_id: requestId });
    expect(stored).toHaveLength(1);
    expect(responses).toHaveLength(1);
    await pythonSubscriber.unsubscribe(`${service}.responses`);
  });
});

describe('a TypeScript DaebusCaller calling a Python Daebus server', () => {
  const service = 'py_service';
  /** Every request the Python server got, as raw bytes. */
  const received: string[] = [];
  let serverSubscriber: Redis;
  let anchor: DaebusCaller;

  /** What the Python server publishes for each action: Python-style JSON strings. */
  function pythonServer(raw: string): string[] {
    const request = JSON.parse(raw) as {
      action: string;
      payload: Record<string, unknown>;
      request_id: string;
    };
    const reply = (fields: Record<string, unknown>) =>
      pythonJson({ ...fields, request_id: request.request_id });
    switch (request.action) {
      case 'get_status':
        // Python Daebus before streaming: no "final" field at all.
        return [
          reply({ status: 'success', payload: { status: 'healthy', echo: request.payload } }),
        ];
      case 'get_final':
        return [
          pythonJson({
            status: 'success',
            payload: { value: 1.5 },
            request_id: request.request_id,
            final: true,
          }),
        ];
      case 'long_job':
        return [
          pythonJson({
            status: 'progress',
            payload: { pct: 10 },
            request_id: request.request_id,
            final: false,
          }),
          pythonJson({
            status: 'progress',
            payload: { pct: 90 },
            request_id: request.request_id,
            final: false,
          }),
          pythonJson({
            status: 'success',
            payload: { partial: 'rows 1-10' },
            request_id: request.request_id,
            final: false,
          }),
          reply({ status: 'success', payload: { rows: 20 } }),
        ];
      case 'fail':
        return [reply({ status: 'error', payload: { error: 'Task café not found' } })];
      default:
        // Python Daebus logs an unknown action and sends nothing.
        return [];
    }
  }

  beforeAll(async () => {
    serverSubscriber = new Redis(server.url, { connectionName: 'python-server' });
    const publisher = python;
    serverSubscriber.on('message', (_channel: string, raw: string) => {
      received.push(raw);
      const replyTo = (JSON.parse(raw) as { reply_to?: string }).reply_to ?? `${service}.responses`;
      void (async () => {
        for (const message of pythonServer(raw)) await publisher.publish(replyTo, message);
      })();
    });
    await serverSubscriber.subscribe(service);
    // Keeps the shared connection ready, so that short timeouts measure only the wait for replies.
    anchor = new DaebusCaller(service, { redis: server.url });
    await anchor.sendMessage('python_warm_up', {});
  });

  afterAll(async () => {
    await anchor?.close();
    await serverSubscriber?.quit();
  });

  it('sends requests in the envelope a Python server expects', async () => {
    const caller = new DaebusCaller(service, { redis: server.url });
    try {
      received.length = 0;
      await caller.request('get_status', { detail: 'full' });
      expect(received).toHaveLength(1);
      const request = JSON.parse(received[0]!) as Record<string, unknown>;
      expect(Object.keys(request).sort()).toEqual([
        'action',
        'payload',
        'reply_to',
        'request_id',
        'service',
      ]);
      expect(request.action).toBe('get_status');
      expect(request.payload).toEqual({ detail: 'full' });
      expect(request.service).toBe(service);
      expect(request.reply_to).toMatch(/^caller:/);
      expect(String(request.reply_to).slice('caller:'.length)).toMatch(UUID4);
      expect(request.request_id).toMatch(UUID4);
      // A request with no payload still carries one: the Python server reads message["payload"].
      received.length = 0;
      await caller.request('get_status');
      expect((JSON.parse(received[0]!) as { payload: unknown }).payload).toEqual({});
    } finally {
      await caller.close();
    }
  });

  it('resolves with the payload of a reply that has no "final" field, or final true', async () => {
    const caller = new DaebusCaller(service, { redis: server.url });
    try {
      expect(await caller.request('get_status', { n: 1 })).toEqual({
        status: 'healthy',
        echo: { n: 1 },
      });
      expect(await caller.request('get_final', {})).toEqual({ value: 1.5 });
    } finally {
      await caller.close();
    }
  });

  it('hands "progress" replies and non-final successes to onProgress, in order', async () => {
    const caller = new DaebusCaller(service, { redis: server.url });
    try {
      const progress: unknown[] = [];
      const result = await caller.request(
        'long_job',
        {},
        { onProgress: (payload) => progress.push(payload) },
      );
      expect(progress).toEqual([{ pct: 10 }, { pct: 90 }, { partial: 'rows 1-10' }]);
      expect(result).toEqual({ rows: 20 });
    } finally {
      await caller.close();
    }
  });

  it('raises the error of a Python error reply (no code) as REMOTE_ERROR', async () => {
    const caller = new DaebusCaller(service, { redis: server.url });
    try {
      const err = await caller.request('fail', {}).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DaebusError);
      expect((err as DaebusError).code).toBe('REMOTE_ERROR');
      expect((err as Error).message).toContain('Task café not found');
      expect((err as Error).message).toContain('py_service.fail');
    } finally {
      await caller.close();
    }
  });

  it('times out on an action the Python server ignores', async () => {
    const caller = new DaebusCaller(service, { redis: server.url, timeout: 0.2 });
    try {
      const err = await caller.request('no_such_action', {}).then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as DaebusError).code).toBe('TIMEOUT');
      expect((err as Error).message).toContain('py_service.no_such_action');
      expect(caller.pendingCount).toBe(0);
    } finally {
      await caller.close();
    }
  });

  it("sends sendToService in send_to_service's form", async () => {
    const caller = new DaebusCaller(service, { redis: server.url });
    try {
      received.length = 0;
      expect(await caller.sendToService({ key: 'a', count: 2 }, 'store')).toBe(1);
      await waitFor(() => received.length === 1, 'the Python server to get the message');
      expect(JSON.parse(received[0]!)).toEqual({ key: 'a', count: 2, action: 'store' });
      expect(JSON.parse(received[0]!)).not.toHaveProperty('reply_to');
    } finally {
      await caller.close();
    }
  });
});
