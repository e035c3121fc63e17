import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daebus, DaebusCaller, DaebusError, MemoryBus, MemoryTransport } from '../../src/index.js';
import type { Transport } from '../../src/transport/transport.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { waitFor } from '../harness/wire-client.js';
import {
  captureLogger,
  deferred,
  fullGc,
  pendingTimers,
  rawResponder,
  rawTransport,
  type SeenRequest,
} from './support.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

/** Rejects with what `promise` rejected with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (err) {
    return err;
  }
}

/** Like {@link rejection}, and checks that it is a DaebusError with `code`. */
async function daebusError(promise: Promise<unknown>, code: string): Promise<DaebusError> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(DaebusError);
  expect((err as DaebusError).code, (err as Error).message).toBe(code);
  return err as DaebusError;
}

describe.each(['memory', 'redis'] as const)('DaebusCaller over the %s transport', (kind) => {
  const service = `caller_svc_${kind}`;
  const raw = `caller_raw_${kind}`;
  const silent = `caller_silent_${kind}`;
  const multi = `caller_multi_${kind}`;
  const news = `caller_news_${kind}`;
  const captured = captureLogger();
  const stored: unknown[] = [];
  const heard: unknown[] = [];
  const apps: Daebus[] = [];
  const answeredBy: Record<string, number> = { first: 0, second: 0 };
  let peer: Transport;
  let anchor: DaebusCaller;
  /** What the raw responder on `raw` does with each request, by action. */
  const behaviours = new Map<string, (request: SeenRequest) => unknown>();
  let rawSeen: SeenRequest[];

  const options = () =>
    kind === 'memory' ? { transport: 'memory' as const } : { redis: server.url };

  beforeAll(async () => {
    const app = new Daebus('caller-test', { logger: captured.logger, handleSignals: false });
    app.action('get_data', (payload: { key: string }) => ({
      key: payload.key,
      length: payload.key.length,
    }));
    app.action('count_to', async (payload: { n: number }, { response }) => {
      for (let step = 1; step <= payload.n; step++) await response.send({ step }, { final: false });
      return { counted: payload.n };
    });
    app.action('throws', () => {
      throw new Error('the disk is on fire');
    });
    app.action('echo', (payload) => payload);
    app.action('store', (payload) => {
      stored.push(payload);
      return { stored: stored.length };
    });
    app.listen(news, (message) => {
      heard.push(message);
    });
    await app.run(
      kind === 'memory'
        ? { service, transport: 'memory' }
        : { service, redis: server.url, instance: `only-${kind}` },
    );
    apps.push(app);
    for (const instance of ['first', 'second'] as const) {
      const replica = new Daebus('caller-multi', { logger: captured.logger, handleSignals: false });
      replica.action('whoami', () => {
        answeredBy[instance] = (answeredBy[instance] ?? 0) + 1;
        return { instance };
      });
      await replica.run(
        kind === 'memory'
          ? { service: multi, transport: 'memory', instance }
          : { service: multi, redis: server.url, instance },
      );
      apps.push(replica);
    }
    // Holds the shared connection open and ready, so that a test's short timeout measures the
    // wait for a reply, not the connection set-up of a fresh caller.
    anchor = new DaebusCaller(service, options());
    await anchor.sendMessage('caller_warm_up', {});
    peer = await rawTransport(kind, server);
    rawSeen = (
      await rawResponder(peer, raw, (request) =>
        behaviours.get(String(request.message.action))?.(request),
      )
    ).seen;
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await anchor?.close();
    await peer?.close();
  });

  it('resolves with the payload of the final reply, and leaves no timer behind', async () => {
    const caller = new DaebusCaller(service, options());
    try {
      await caller.request('get_data', { key: 'warm-up' });
      const timers = pendingTimers();
      const signal = new AbortController().signal;
      const reply = await caller.request('get_data', { key: 'abc' }, { signal });
      expect(reply).toEqual({ key: 'abc', length: 3 });
      expect(await caller.request('echo', { nested: { list: [1, 'two', null] } })).toEqual({
        nested: { list: [1, 'two', null] },
      });
      // Each answered request clears its timeout timer and its abort listener.
      for (let i = 0; i < 20; i++) await caller.request('get_data', { key: `k${i}` }, { signal });
      expect(caller.pendingCount).toBe(0);
      expect(pendingTimers()).toBeLessThanOrEqual(timers);
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    } finally {
      await caller.close();
    }
  });

  it('hands each progress payload to onProgress, in order, then resolves with the final one', async () => {
    const caller = new DaebusCaller(service, options());
    try {
      const progress: unknown[] = [];
      const reply = await caller.request(
        'count_to',
        { n: 6 },
        { onProgress: (payload) => progress.push(payload) },
      );
      expect(progress).toEqual([1, 2, 3, 4, 5, 6].map((step) => ({ step })));
      expect(reply).toEqual({ counted: 6 });
      // Without onProgress the progress messages are simply passed over.
      expect(await caller.request('count_to', { n: 3 })).toEqual({ counted: 3 });
    } finally {
      await caller.close();
    }
  });

  it('turns an unknown action into UNKNOWN_ACTION, naming the service and the action', async () => {
    const caller = new DaebusCaller(service, options());
    try {
      const err = await daebusError(caller.request('no_such_action', {}), 'UNKNOWN_ACTION');
      expect(err.message).toContain(service);
      expect(err.message).toContain('no_such_action');
    } finally {
      await caller.close();
    }
  });

  it('turns a handler that throws into HANDLER_ERROR with its message', async () => {
    const caller = new DaebusCaller(service, options());
    try {
      const err = await daebusError(caller.request('throws', {}), 'HANDLER_ERROR');
      expect(err.message).toContain('the disk is on fire');
      expect(err.message).toContain(`${service}.throws`);
    } finally {
      await caller.close();
    }
  });

  it('turns an error reply with no code, or a code it does not know, into REMOTE_ERROR', async () => {
    behaviours.set('no_code', (request) =>
      request.reply(
        JSON.stringify({
          status: 'error',
          payload: { error: 'Task not found' },
          request_id: request.message.request_id,
          final: true,
        }),
      ),
    );
    behaviours.set('odd_code', (request) =>
      request.reply(
        JSON.stringify({
          status: 'error',
          payload: { error: 'the moon is in the way', code: 'LUNAR_ECLIPSE' },
          request_id: request.message.request_id,
        }),
      ),
    );
    behaviours.set('known_code', (request) =>
      request.reply(
        JSON.stringify({
          status: 'error',
          payload: { error: 'payload.key is missing', code: 'BAD_REQUEST' },
          request_id: request.message.request_id,
        }),
      ),
    );
    behaviours.set('bare_error', (request) =>
      request.reply(
        JSON.stringify({ status: 'error', payload: null, request_id: request.message.request_id }),
      ),
    );
    const caller = new DaebusCaller(raw, options());
    try {
      const noCode = await daebusError(caller.request('no_code', {}), 'REMOTE_ERROR');
      expect(noCode.message).toContain('Task not found');
      expect(noCode.message).toContain(`${raw}.no_code`);
      expect(noCode).not.toHaveProperty('remoteCode');

      const odd = await daebusError(caller.request('odd_code', {}), 'REMOTE_ERROR');
      expect(odd.message).toContain('the moon is in the way');
      expect(odd).toHaveProperty('remoteCode', 'LUNAR_ECLIPSE');

      const known = await daebusError(caller.request('known_code', {}), 'BAD_REQUEST');
      expect(known.message).toContain('payload.key is missing');

      const bare = await daebusError(caller.request('bare_error', {}), 'REMOTE_ERROR');
      expect(bare.message).toContain(`${raw}.bare_error`);
      expect(caller.pendingCount).toBe(0);
    } finally {
      await caller.close();
    }
  });

  it('times out with TIMEOUT, naming the service and the action, and leaves nothing behind', async () => {
    const caller = new DaebusCaller(silent, { ...options(), timeout: 5 });
    try {
      const timers = pendingTimers();
      const started = performance.now();
      const nobody = await daebusError(
        caller.request('wait_forever', {}, { timeout: 0.1 }),
        'TIMEOUT',
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(95);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(nobody.message).toContain(`${silent}.wait_forever`);
      expect(nobody.message).toContain('0.1 s');
      expect(nobody.message).toContain('nobody was subscribed');
      expect(caller.pendingCount).toBe(0);
      expect(pendingTimers()).toBeLessThanOrEqual(timers);
    } finally {
      await caller.close();
    }
    // A responder that hears the request but never answers: the same code, without "nobody".
    behaviours.set('ignored', () => undefined);
    const heard = new DaebusCaller(raw, { ...options(), timeout: 0.1 });
    try {
      const err = await daebusError(heard.request('ignored', {}), 'TIMEOUT');
      expect(err.message).toContain(`${raw}.ignored`);
      expect(err.message).not.toContain('nobody');
    } finally {
      await heard.close();
    }
  });

  it('ends a pending request with CLOSED on close(), refuses requests after it, and spares other callers', async () => {
    const held: SeenRequest[] = [];
    behaviours.set('hold', (request) => {
      held.push(request);
    });
    const closing = new DaebusCaller(raw, options());
    const staying = new DaebusCaller(raw, options());
    try {
      const doomed = closing.request('hold', { who: 'closing' });
      const kept = staying.request('hold', { who: 'staying' });
      await waitFor(() => held.length === 2, 'both requests to reach the responder');
      expect(closing.pendingCount).toBe(2);
      await closing.close();
      const closed = await daebusError(doomed, 'CLOSED');
      expect(closed.message).toContain(raw);
      const after = await daebusError(closing.request('hold', {}), 'CLOSED');
      expect(after.message).toContain(raw);
      expect(held).toHaveLength(2); // nothing was published after close
      // The other caller's request is still waiting, and still gets its answer.
      expect(staying.pendingCount).toBe(1);
      const staysRequest = held.find(
        (r) => (r.message.payload as { who: string }).who === 'staying',
      )!;
      await staysRequest.reply(
        JSON.stringify({
          status: 'success',
          payload: { still: 'here' },
          request_id: staysRequest.message.request_id,
          final: true,
        }),
      );
      expect(await kept).toEqual({ still: 'here' });
      await closing.close(); // twice is fine
    } finally {
      await staying.close();
    }
  });

  it('aborts a request with its AbortSignal, and refuses an already-aborted one without sending it', async () => {
    const held: SeenRequest[] = [];
    behaviours.set('abortable', (request) => {
      held.push(request);
    });
    const caller = new DaebusCaller(raw, options());
    try {
      const controller = new AbortController();
      const pending = caller.request('abortable', {}, { signal: controller.signal });
      await waitFor(() => held.length === 1, 'the request to reach the responder');
      const reason = new Error('changed my mind');
      controller.abort(reason);
      expect(await rejection(pending)).toBe(reason);
      expect(caller.pendingCount).toBe(0);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      // A reply after the abort is ignored.
      await held[0]!.reply(
        JSON.stringify({
          status: 'success',
          payload: {},
          request_id: held[0]!.message.request_id,
        }),
      );

      const plain = new AbortController();
      const second = caller.request('abortable', {}, { signal: plain.signal });
      await waitFor(() => held.length === 2, 'the second request to reach the responder');
      plain.abort();
      const err = await rejection(second);
      expect((err as Error).name).toBe('AbortError');

      const seenBefore = rawSeen.length;
      const already = await rejection(
        caller.request('abortable', {}, { signal: AbortSignal.abort(new Error('too late')) }),
      );
      expect((already as Error).message).toBe('too late');
      expect(caller.pendingCount).toBe(0);
      // Prove that nothing was published: a request sent after it is the next one seen.
      behaviours.set('marker', (request) =>
        request.reply(
          JSON.stringify({ status: 'success', payload: 1, request_id: request.message.request_id }),
        ),
      );
      await caller.request('marker', {});
      expect(rawSeen.slice(seenBefore).map((r) => r.message.action)).toEqual(['marker']);
    } finally {
      await caller.close();
    }
  });

  it("prefers another instance's answer to a SHUTTING_DOWN, and passes SHUTTING_DOWN on when none comes", async () => {
    const reply = (request: SeenRequest, status: string, payload: unknown) =>
      request.reply(
        JSON.stringify({ status, payload, request_id: request.message.request_id, final: true }),
      );
    const closing = { error: `service "${raw}" is shutting down`, code: 'SHUTTING_DOWN' };
    behaviours.set('closing_then_healthy', (request) => {
      void reply(request, 'error', closing);
      setTimeout(() => void reply(request, 'success', { from: 'healthy' }), 30);
    });
    behaviours.set('only_closing', (request) => reply(request, 'error', closing));
    const caller = new DaebusCaller(raw, options());
    try {
      expect(await caller.request('closing_then_healthy', {})).toEqual({ from: 'healthy' });
      const err = await daebusError(caller.request('only_closing', {}), 'SHUTTING_DOWN');
      expect(err.message).toContain('is shutting down');
      expect(caller.pendingCount).toBe(0);
    } finally {
      await caller.close();
    }
  });

  it('gets answers from the healthy instance while another independent one closes', async () => {
    const pair = `closing_pair_${kind}`;
    const release = deferred();
    const closingApp = new Daebus('closing', { logger: captured.logger, handleSignals: false });
    let holding = false;
    closingApp.action('hold', () => {
      holding = true;
      return release.promise;
    });
    closingApp.action('echo', (payload) => payload);
    const healthy = new Daebus('healthy', { logger: captured.logger, handleSignals: false });
    healthy.action('echo', (payload) => payload);
    const where = (instance: string) =>
      kind === 'memory'
        ? { service: pair, transport: 'memory' as const, instance }
        : { service: pair, redis: server.url, instance };
    await closingApp.run(where('closing'));
    await healthy.run(where('healthy'));
    apps.push(healthy);
    const caller = new DaebusCaller(pair, options());
    try {
      // A request in flight keeps the closing instance subscribed (and refusing) while it drains.
      const held = caller.request('hold', {}, { instance: 'closing' });
      await waitFor(() => holding, 'the held request to reach the closing instance');
      const closed = closingApp.close();
      await waitFor(() => closingApp.status === 'closing', 'the app to start closing');
      for (let i = 0; i < 5; i++) expect(await caller.request('echo', { i })).toEqual({ i });
      release.resolve();
      await held;
      await closed;
    } finally {
      release.resolve();
      await caller.close();
    }
  });

  it('sends to one instance with the instance option', async () => {
    const caller = new DaebusCaller(multi, options());
    try {
      answeredBy.first = 0;
      answeredBy.second = 0;
      for (let i = 0; i < 5; i++) {
        expect(await caller.request('whoami', {}, { instance: 'second' })).toEqual({
          instance: 'second',
        });
      }
      expect(answeredBy).toEqual({ first: 0, second: 5 });
      expect(await caller.request('whoami', {}, { instance: 'first' })).toEqual({
        instance: 'first',
      });
      expect(answeredBy).toEqual({ first: 1, second: 5 });
      const unknown = await daebusError(
        caller.request('whoami', {}, { instance: 'third', timeout: 0.1 }),
        'TIMEOUT',
      );
      expect(unknown.message).toContain(`${multi}@third.whoami`);
    } finally {
      await caller.close();
    }
  });

  it('counts only the first final reply', async () => {
    behaviours.set('twice', async (request) => {
      const id = request.message.request_id;
      await request.reply(
        JSON.stringify({ status: 'success', payload: { p: 1 }, request_id: id, final: false }),
      );
      await request.reply(
        JSON.stringify({
          status: 'success',
          payload: { answer: 'first' },
          request_id: id,
          final: true,
        }),
      );
      await request.reply(
        JSON.stringify({
          status: 'error',
          payload: { error: 'second final' },
          request_id: id,
          final: true,
        }),
      );
      await request.reply(
        JSON.stringify({ status: 'success', payload: { answer: 'third' }, request_id: id }),
      );
      await request.reply(
        JSON.stringify({ status: 'success', payload: { p: 2 }, request_id: id, final: false }),
      );
    });
    const caller = new DaebusCaller(raw, options());
    try {
      const progress: unknown[] = [];
      const reply = await caller.request('twice', {}, { onProgress: (p) => progress.push(p) });
      expect(reply).toEqual({ answer: 'first' });
      // The late messages arrive and are dropped: a following request gets its own answer.
      behaviours.set('after', (request) =>
        request.reply(
          JSON.stringify({
            status: 'success',
            payload: { after: true },
            request_id: request.message.request_id,
          }),
        ),
      );
      expect(await caller.request('after', {})).toEqual({ after: true });
      expect(progress).toEqual([{ p: 1 }]);
      expect(caller.pendingCount).toBe(0);
    } finally {
      await caller.close();
    }
  });

  it('answers 5,000 requests in flight at once', async () => {
    const caller = new DaebusCaller(service, { ...options(), timeout: 20 });
    try {
      const replies = await Promise.all(
        Array.from({ length: 5_000 }, (_, i) => caller.request('echo', { i })),
      );
      expect(replies).toEqual(Array.from({ length: 5_000 }, (_, i) => ({ i })));
      expect(caller.pendingCount).toBe(0);
    } finally {
      await caller.close();
    }
  });

  it('holds 5,000 requests pending at once and matches each reply to its request', async () => {
    const gate: SeenRequest[] = [];
    let pendingAtGate = -1;
    const caller = new DaebusCaller(raw, { ...options(), timeout: 20 });
    behaviours.set('gated', async (request) => {
      gate.push(request);
      if (gate.length < 5_000) return;
      pendingAtGate = caller.pendingCount;
      // Answer in reverse order: the ids, not the order, pair replies with requests.
      for (const held of gate.reverse()) {
        await held.reply(
          JSON.stringify({
            status: 'success',
            payload: { n: (held.message.payload as { n: number }).n * 2 },
            request_id: held.message.request_id,
          }),
        );
      }
    });
    try {
      const replies = await Promise.all(
        Array.from({ length: 5_000 }, (_, n) => caller.request('gated', { n })),
      );
      expect(pendingAtGate).toBe(5_000);
      expect(replies).toEqual(Array.from({ length: 5_000 }, (_, n) => ({ n: n * 2 })));
      expect(caller.pendingCount).toBe(0);
    } finally {
      await caller.close();
    }
  });

  it('keeps the pending table bounded through 10,000 timeouts', async () => {
    const caller = new DaebusCaller(silent, { ...options(), timeout: 0.05 });
    const batch = async () => {
      const settled = await Promise.allSettled(
        Array.from({ length: 1_000 }, (_, i) => caller.request('nobody_answers', { i })),
      );
      for (const result of settled) {
        expect(result.status).toBe('rejected');
        expect(((result as PromiseRejectedResult).reason as DaebusError).code).toBe('TIMEOUT');
      }
      expect(caller.pendingCount).toBe(0);
    };
    try {
      await batch(); // warm-up, not counted
      const timers = pendingTimers();
      fullGc();
      const before = process.memoryUsage().heapUsed;
      for (let round = 0; round < 10; round++) await batch();
      fullGc();
      const grown = process.memoryUsage().heapUsed - before;
      expect(caller.pendingCount).toBe(0);
      expect(pendingTimers()).toBeLessThanOrEqual(timers);
      // 10,000 leaked requests (promise, closures, timer, map entry) would be several MB.
      expect(grown).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await caller.close();
    }
  });

  it('publishes a broadcast with sendMessage, and reaches a listener', async () => {
    const caller = new DaebusCaller(service, options());
    try {
      heard.length = 0;
      expect(await caller.sendMessage(news, { type: 'data_refreshed', n: 1 })).toBe(1);
      await waitFor(() => heard.length === 1, 'the listener to get the broadcast');
      expect(heard).toEqual([{ type: 'data_refreshed', n: 1 }]);
      expect(await caller.sendMessage(`${news}_nobody`, { type: 'lost' })).toBe(0);
    } finally {
      await caller.close();
    }
  });

  it('sends the send_to_service form with sendToService: fields at the top level plus action', async () => {
    const onChannel: string[] = [];
    const responses: unknown[] = [];
    const offChannel = await peer.subscribe(service, (text) => onChannel.push(text));
    const offResponses = await peer.subscribe(`${service}.responses`, (text) =>
      responses.push(JSON.parse(text)),
    );
    const caller = new DaebusCaller(service, options());
    try {
      stored.length = 0;
      // The service and the peer both hear it.
      expect(await caller.sendToService({ key: 'a', n: 1 }, 'store')).toBe(2);
      await waitFor(() => responses.length === 1, 'the reply on the responses channel');
      expect(onChannel).toEqual(['{"key":"a","n":1,"action":"store"}']);
      expect(stored).toEqual([{ key: 'a', n: 1 }]);
      expect(responses).toEqual([
        { status: 'success', payload: { stored: 1 }, request_id: null, final: true },
      ]);
      // Without an action the payload goes as it is, and the service drops it (no action).
      const warnings = captured.records.length;
      expect(await caller.sendToService({ key: 'b' })).toBe(2);
      await waitFor(
        () =>
          captured.records
            .slice(warnings)
            .some((r) => r.level === 40 && r.msg.includes('"action"')),
        'the service to log the message it dropped',
      );
      expect(onChannel[1]).toBe('{"key":"b"}');
      expect(stored).toHaveLength(1);
      expect(await caller.request('get_data', { key: 'still serving' })).toEqual({
        key: 'still serving',
        length: 13,
      });
    } finally {
      await caller.close();
      await offChannel();
      await offResponses();
    }
  });
});

/**
 * A memory transport on a private bus whose publishes wait for `open()`: the
 * request is then pending while its message is still on the way out.
 */
class GatedTransport extends MemoryTransport {
  readonly started = deferred();
  readonly #gate = deferred();

  constructor() {
    super(new MemoryBus());
  }

  open(): void {
    this.#gate.resolve();
  }

  override async publish(channel: string, message: string): Promise<number> {
    this.started.resolve();
    await this.#gate.promise;
    return super.publish(channel, message);
  }
}

describe('a request that ends while its message is still being published', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });

  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  /** Lets Node run its unhandled-rejection check. */
  const macrotask = () => new Promise((resolve) => setImmediate(resolve));

  it.each([
    ['times out', 'TIMEOUT'],
    ['is aborted', 'AbortError'],
    ['is closed', 'CLOSED'],
  ])('rejects only through its own promise when it %s', async (how, expected) => {
    const transport = new GatedTransport();
    const caller = new DaebusCaller('gated_service', { transport, timeout: 5 });
    const controller = new AbortController();
    try {
      const pending = caller.request(
        'slow_publish',
        {},
        { timeout: how === 'times out' ? 0.05 : 5, signal: controller.signal },
      );
      // The caller's own promise carries the failure; nothing else may reject unhandled.
      const failure = rejection(pending);
      await transport.started.promise;
      expect(caller.pendingCount).toBe(1);
      if (how === 'is aborted') controller.abort();
      if (how === 'is closed') await caller.close();
      await waitFor(() => caller.pendingCount === 0, 'the request to end');
      await macrotask();
      transport.open();
      const err = (await failure) as Error;
      expect(err instanceof DaebusError ? err.code : err.name).toBe(expected);
      await macrotask();
      expect(unhandled).toEqual([]);
    } finally {
      transport.open();
      await caller.close();
      await transport.close();
    }
  });
});
