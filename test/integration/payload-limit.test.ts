import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Daebus } from '../../src/index.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';
import { captureLogger, runOn } from './support.js';

const LIMIT = 1_000;

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A request of exactly `bytes` UTF-8 bytes: its payload padded with "é" (two bytes) and "a". */
function requestOf(bytes: number, replyTo: string | null, requestId: string): string {
  const head = JSON.stringify({
    action: 'echo',
    ...(replyTo === null ? {} : { reply_to: replyTo }),
    request_id: requestId,
    payload: { pad: '' },
  });
  const room = bytes - Buffer.byteLength(head);
  const pad = 'é'.repeat(Math.floor(room / 2)) + 'a'.repeat(room % 2);
  const raw = head.replace('"pad":""', `"pad":"${pad}"`);
  expect(Buffer.byteLength(raw)).toBe(bytes);
  return raw;
}

describe.each(['memory', 'redis'] as const)('maxPayloadBytes over the %s transport', (kind) => {
  it('refuses a larger request with BAD_REQUEST before parsing it, takes one at the limit, drops a larger broadcast', async () => {
    const service = `limit_${kind}`;
    const news = `limit_news_${kind}`;
    const { logger, records } = captureLogger();
    const app = new Daebus('limit', { maxPayloadBytes: LIMIT, handleSignals: false, logger });
    const heard: unknown[] = [];
    app.action('echo', (payload: { pad: string }) => ({ length: payload.pad.length }));
    app.listen(news, (message) => {
      heard.push(message);
    });
    const client = await WireClient.connect(kind, server.url);
    try {
      await app.run(runOn(kind, service, server));

      const replies = await client.collect(client.replyTo);
      await client.publishRaw(service, requestOf(LIMIT, client.replyTo, 'at-limit'));
      await waitFor(() => replies.messages.length === 1, 'the reply at the limit');
      expect(replies.messages.shift()).toMatchObject({ status: 'success', request_id: 'at-limit' });

      // The same request one byte larger, with the envelope after the payload (as Python sends it).
      const over = requestOf(LIMIT + 1, client.replyTo, 'too-big');
      const reordered = `{"payload":${over.slice(over.indexOf('"payload":') + 10, -1)},"action":"echo","reply_to":"${client.replyTo}","request_id":"too-big"}`;
      expect(Buffer.byteLength(reordered)).toBe(LIMIT + 1);
      const parse = vi.spyOn(JSON, 'parse');
      await client.publishRaw(service, over);
      await client.publishRaw(service, requestOf(LIMIT + 1, null, 'no-reply-to'));
      await waitFor(() => replies.messages.length === 1, 'the refusal');
      const parsedBig = parse.mock.calls.some(
        ([text]) => typeof text === 'string' && text.length > 500,
      );
      parse.mockRestore();
      expect(parsedBig).toBe(false);
      await client.publishRaw(service, reordered);
      await waitFor(() => replies.messages.length === 2, 'the second refusal');
      await replies.stop();
      for (const reply of replies.messages) {
        expect(reply).toMatchObject({
          status: 'error',
          request_id: 'too-big',
          final: true,
          payload: {
            code: 'BAD_REQUEST',
            error: `message is ${LIMIT + 1} bytes, over maxPayloadBytes (${LIMIT})`,
          },
        });
      }

      await client.publishRaw(news, JSON.stringify({ pad: 'b'.repeat(LIMIT) }));
      await client.publishRaw(news, JSON.stringify({ small: true }));
      await waitFor(() => heard.length === 1, 'the small broadcast');
      expect(heard).toEqual([{ small: true }]);

      const warnings = records.filter((r) => r.level === 40).map((r) => r.msg);
      expect(warnings).toContain(
        `message is ${LIMIT + 1} bytes, over maxPayloadBytes (${LIMIT}) (on "${service}"); message dropped`,
      );
      expect(warnings.some((m) => m.includes(`(on "${news}")`))).toBe(true);
    } finally {
      await app.close();
      await client.close();
    }
  });
});
