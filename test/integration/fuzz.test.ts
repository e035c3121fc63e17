import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildService, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, type WireReply, waitFor } from '../harness/wire-client.js';
import { type CheckReply, createFuzzApp } from './fixtures/fuzz-app.js';
import { FuzzGenerator, type FuzzMessage, prng, type Target } from './fuzz-messages.js';
import { captureLogger, type TransportKind } from './support.js';

/** Replay a failure with FUZZ_SEED=<seed>. */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const JUNK = 10_000;
/** One valid message after every this many malformed ones. */
const VALID_EVERY = 20;
const INSTANCE = 'fuzz-1';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

/** The prototypes' own keys, to see that nothing was added to them. */
function prototypeShape(): string {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype]
    .map((proto) => Reflect.ownKeys(proto).map(String).sort().join(','))
    .join('|');
}

/** A valid message and what must come of it. */
interface Valid {
  target: Target;
  data: string;
  requestId: string | null;
  expected: unknown;
}

function validMessage(n: number, replyTo: string, random: () => number): Valid {
  const text = ['plain', 'quote " and \\ backslash', 'emoji 😀 é €', 'nul \u0000 line\u2028'][
    n % 4
  ]!;
  const payload = { n, text, nested: { list: [1, 'two', null, { deep: [random()] }] } };
  const requestId = `valid-${n}`;
  switch (n % 4) {
    case 0:
      return {
        target: 'service',
        data: JSON.stringify({ action: 'echo', payload, reply_to: replyTo, request_id: requestId }),
        requestId,
        expected: payload,
      };
    case 1:
      return {
        target: 'instance',
        data: JSON.stringify({ action: 'echo', payload, reply_to: replyTo, request_id: requestId }),
        requestId,
        expected: payload,
      };
    case 2:
      // The Python caller's form: the payload's fields at the top level.
      return {
        target: 'service',
        data: JSON.stringify({
          action: 'echo',
          ...payload,
          reply_to: replyTo,
          request_id: requestId,
        }),
        requestId,
        expected: payload,
      };
    default:
      return {
        target: 'listen',
        data: JSON.stringify({ kind: 'fuzz-valid', n }),
        requestId: null,
        expected: null,
      };
  }
}

interface Outcome {
  valid: Valid[];
  junk: FuzzMessage[];
  validReplies: Map<string, WireReply>;
  junkReplies: WireReply[];
  elapsedMs: number;
}

/**
 * Publishes JUNK malformed messages with a valid one after every VALID_EVERY,
 * waits for every valid request's reply, and returns what happened.
 */
async function attack(
  client: WireClient,
  channels: Record<Target, string>,
  send: (channel: string, data: string | Buffer) => void,
  flush: () => Promise<void>,
): Promise<Outcome> {
  const validReplyTo = `caller:fuzz-valid-${SEED}`;
  const junkReplyTo = `caller:fuzz-junk-${SEED}`;
  const validReplies = new Map<string, WireReply>();
  const junkReplies: WireReply[] = [];
  const offs = [
    await client.transport.subscribe(validReplyTo, (raw) => {
      const reply = JSON.parse(raw) as WireReply;
      validReplies.set(String(reply.request_id), reply);
    }),
    await client.transport.subscribe(junkReplyTo, (raw) => {
      junkReplies.push(JSON.parse(raw) as WireReply);
    }),
  ];
  const generator = new FuzzGenerator(SEED, {
    junkReplyTo,
    service: channels.service,
    listen: channels.listen,
  });
  const random = prng(SEED + 1);
  const valid: Valid[] = [];
  const junk: FuzzMessage[] = [];
  const started = Date.now();
  try {
    for (let i = 0; i < JUNK; i++) {
      const message = generator.next();
      junk.push(message);
      send(channels[message.target], message.data);
      if ((i + 1) % VALID_EVERY === 0) {
        const v = validMessage(valid.length, validReplyTo, random);
        valid.push(v);
        send(channels[v.target], v.data);
      }
      if (i % 100 === 99) {
        await flush();
        // A round trip: the service has read everything sent before it (one connection, in order),
        // so the backlog stays small and Redis never drops the subscriber for a full output buffer.
        await client.call(channels.service, 'noop', {}, 10_000);
      }
    }
    await flush();
    const requests = valid.filter((v) => v.requestId !== null).length;
    await waitFor(
      () => validReplies.size === requests,
      `replies to ${requests} valid requests (have ${validReplies.size}; FUZZ_SEED=${SEED})`,
      20_000,
    );
    // The replies to the last malformed requests were sent before this one's.
    await client.call(channels.service, 'noop');
    return { valid, junk, validReplies, junkReplies, elapsedMs: Date.now() - started };
  } finally {
    for (const off of offs) await off();
  }
}

/** What every transport must show after the attack. */
function expectSurvived(outcome: Outcome): void {
  for (const v of outcome.valid) {
    if (v.requestId === null) continue;
    const reply = outcome.validReplies.get(v.requestId);
    expect(reply, `reply to ${v.requestId} (FUZZ_SEED=${SEED})`).toMatchObject({
      status: 'success',
      final: true,
    });
    expect(isDeepStrictEqual(reply!.payload, v.expected), `echo of ${v.requestId}`).toBe(true);
  }
  // Every kind of malformation was tried.
  const kinds = new Set(outcome.junk.map((m) => m.kind));
  for (const kind of ['envelope', 'truncated', 'syntax', 'binary', 'text', 'not-an-object']) {
    expect(kinds).toContain(kind);
  }
  for (const kind of ['deep', 'prototype', 'over-limit', 'huge', 'missing']) {
    expect(kinds).toContain(kind);
  }
  // Every reply to a malformed request is a well-formed final reply.
  for (const reply of outcome.junkReplies) {
    expect(['success', 'error']).toContain(reply.status);
    expect(reply.final).toBe(true);
  }
  // Over-limit requests were refused unparsed, with their reply_to found in the raw text.
  const tooBig = outcome.junk.filter((m) => m.kind === 'over-limit' && m.target !== 'listen');
  const refused = outcome.junkReplies.filter((r) => r.request_id === 'too-big');
  expect(refused).toHaveLength(tooBig.length);
  for (const reply of refused) {
    expect(reply.payload).toMatchObject({ code: 'BAD_REQUEST' });
    expect((reply.payload as { error: string }).error).toMatch(/over maxPayloadBytes \(1048576\)/);
  }
  // Nothing polluted this process either.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

/**
 * At most 20 warnings per 10 s window, plus one "suppressed" summary per
 * window, from each of the two rate-limited logs (the dispatcher's bad
 * messages, the scheduler's late wake-ups while the event loop is busy).
 */
function warnBound(elapsedMs: number): number {
  return 2 * 21 * (Math.ceil(elapsedMs / 10_000) + 1);
}

const CHANNELS = (kind: TransportKind): Record<Target, string> => ({
  service: `fuzz_${kind}`,
  instance: `fuzz_${kind}@${INSTANCE}`,
  listen: `fuzz_news_${kind}`,
});

describe(`fuzz (FUZZ_SEED=${SEED})`, () => {
  it(`a service in a child process over Redis survives ${JUNK} malformed messages`, async () => {
    const channels = CHANNELS('redis');
    const shapeBefore = prototypeShape();
    let child: ChildService | null = null;
    const client = await WireClient.connect('redis', server.url);
    const publisher = new Redis(server.url);
    try {
      child = startChild('test/integration/fixtures/fuzz-service.ts', {
        REDIS_URL: server.url,
        SERVICE: channels.service,
        INSTANCE,
        LISTEN: channels.listen,
      });
      await child.waitForLog((r) => r.msg?.includes('running on') === true, 'that it runs');
      const startupLines = child.logs.length;
      let pipeline = publisher.pipeline();
      const outcome = await attack(
        client,
        channels,
        (channel, data) => void pipeline.publish(channel, data),
        async () => {
          const batch = pipeline;
          pipeline = publisher.pipeline();
          await batch.exec();
        },
      );
      expectSurvived(outcome);
      const check = (await client.ok(channels.service, 'check')) as unknown as CheckReply;
      expect(check).toEqual({
        polluted: null,
        prototypes_unchanged: true,
        listened: outcome.valid.filter((v) => v.target === 'listen').length,
      });
      expect(prototypeShape()).toBe(shapeBefore);
      const lines = child.logs.slice(startupLines);
      const warns = lines.filter((r) => r.level === 40);
      expect(warns.length).toBeGreaterThan(0);
      expect(warns.length).toBeLessThanOrEqual(warnBound(outcome.elapsedMs));
      expect(lines.filter((r) => (r.level ?? 0) >= 50)).toEqual([]);
      expect(child.output()).not.toMatch(/Warning|RangeError|Maximum call stack/);
      expect(child.process.exitCode).toBeNull();
      expect(await child.stop('SIGTERM')).toBe(0);
    } finally {
      if (child !== null && child.process.exitCode === null) child.process.kill('SIGKILL');
      publisher.disconnect();
      await client.close();
    }
  });

  it(`a service in this process over the memory transport survives ${JUNK} malformed messages`, async () => {
    const channels = CHANNELS('memory');
    const shapeBefore = prototypeShape();
    const { logger, records } = captureLogger();
    const app = createFuzzApp(channels.listen, logger);
    const client = await WireClient.connect('memory');
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await app.run({ service: channels.service, instance: INSTANCE, transport: 'memory' });
      const startupLines = records.length;
      const outcome = await attack(
        client,
        channels,
        (channel, data) =>
          void client.transport.publish(
            channel,
            typeof data === 'string' ? data : data.toString('utf8'),
          ),
        () => new Promise((resolve) => setImmediate(resolve)),
      );
      expectSurvived(outcome);
      const check = (await client.ok(channels.service, 'check')) as unknown as CheckReply;
      expect(check).toEqual({
        polluted: null,
        prototypes_unchanged: true,
        listened: outcome.valid.filter((v) => v.target === 'listen').length,
      });
      expect(prototypeShape()).toBe(shapeBefore);
      const lines = records.slice(startupLines);
      const warns = lines.filter((r) => r.level === 40);
      expect(warns.length).toBeGreaterThan(0);
      expect(warns.length).toBeLessThanOrEqual(warnBound(outcome.elapsedMs));
      expect(lines.filter((r) => r.level >= 50)).toEqual([]);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await app.close();
      await client.close();
    }
  });
});
