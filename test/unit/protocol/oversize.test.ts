import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/app/options.js';
import { exceedsBytes, peekReplyAddress } from '../../../src/protocol/oversize.js';

describe('exceedsBytes', () => {
  it('counts UTF-8 bytes, not UTF-16 units', () => {
    expect(exceedsBytes('a'.repeat(10), 10)).toBe(false);
    expect(exceedsBytes('a'.repeat(11), 10)).toBe(true);
    // "é" is two bytes, "€" three, "😀" (two UTF-16 units) four.
    expect(exceedsBytes('é'.repeat(5), 10)).toBe(false);
    expect(exceedsBytes('é'.repeat(6), 11)).toBe(true);
    expect(exceedsBytes('€'.repeat(4), 12)).toBe(false);
    expect(exceedsBytes('€'.repeat(4), 11)).toBe(true);
    expect(exceedsBytes('😀'.repeat(3), 12)).toBe(false);
    expect(exceedsBytes('😀'.repeat(3), 11)).toBe(true);
    expect(exceedsBytes('', 1)).toBe(false);
  });
});

describe('peekReplyAddress', () => {
  const big = 'x'.repeat(100_000);

  it('finds the envelope before the payload (TypeScript callers)', () => {
    const raw = JSON.stringify({
      action: 'a',
      reply_to: 'caller:1',
      request_id: 'r1',
      payload: { blob: big },
    });
    expect(peekReplyAddress(raw)).toEqual({ replyTo: 'caller:1', requestId: 'r1' });
  });

  it('finds the envelope after the payload (Python callers)', () => {
    const raw = JSON.stringify({
      action: 'a',
      payload: { blob: big },
      reply_to: 'caller:2',
      request_id: 'r2',
      service: 's',
    });
    expect(peekReplyAddress(raw)).toEqual({ replyTo: 'caller:2', requestId: 'r2' });
  });

  it('takes numeric request ids, escaped strings and spaces', () => {
    const raw = `{ "action" : "a", "payload" : "${big}", "reply_to" : "caller:\\"q\\"", "request_id" : 42 }`;
    expect(peekReplyAddress(raw)).toEqual({ replyTo: 'caller:"q"', requestId: 42 });
    const head = `{"request_id": -7.5e1, "reply_to": "c", "payload": "${big}"}`;
    expect(peekReplyAddress(head)).toEqual({ replyTo: 'c', requestId: -75 });
  });

  it('ignores keys nested in the payload and look-alikes inside strings', () => {
    const nested = JSON.stringify({
      action: 'a',
      payload: { reply_to: 'inner', request_id: 'inner', text: '"reply_to": "fake"', blob: big },
    });
    expect(peekReplyAddress(nested)).toEqual({ replyTo: null, requestId: null });
    const tail = JSON.stringify({
      action: 'a',
      payload: { blob: big, text: '"reply_to": "fake"', reply_to: 'inner' },
    });
    expect(peekReplyAddress(tail)).toEqual({ replyTo: null, requestId: null });
  });

  it('takes the last of duplicate keys, as JSON.parse does', () => {
    const raw = `{"reply_to": "first", "payload": "${big}", "reply_to": "last"}`;
    expect(peekReplyAddress(raw).replyTo).toBe('last');
  });

  it('finds nothing in garbage, and refuses empty or overlong values', () => {
    for (const raw of [
      '',
      '{',
      '"reply_to": "x"',
      '\\'.repeat(50_000),
      `["${big}"]`,
      '}'.repeat(9000),
    ]) {
      expect(peekReplyAddress(raw)).toEqual({ replyTo: null, requestId: null });
    }
    expect(peekReplyAddress(`{"reply_to": "", "payload": "${big}"}`).replyTo).toBeNull();
    const long = 'c'.repeat(600);
    expect(peekReplyAddress(`{"reply_to": "${long}", "payload": "${big}"}`).replyTo).toBeNull();
    expect(peekReplyAddress(`{"reply_to": 5, "request_id": true}`)).toEqual({
      replyTo: null,
      requestId: null,
    });
  });

  it('reads a bounded part of the message whatever its size', () => {
    const huge = `{"payload": "${'\\"'.repeat(2_000_000)}", "reply_to": "caller:h"}`;
    const started = performance.now();
    expect(peekReplyAddress(huge).replyTo).toBe('caller:h');
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('the maxPayloadBytes option', () => {
  it('defaults to 1 MiB and refuses what is not a positive integer', () => {
    expect(resolveOptions().maxPayloadBytes).toBe(1_048_576);
    expect(resolveOptions({ maxPayloadBytes: 10 }).maxPayloadBytes).toBe(10);
    expect(() => resolveOptions({ maxPayloadBytes: -5 })).toThrow(
      'maxPayloadBytes must be a positive integer, got -5',
    );
    expect(() => resolveOptions({ maxPayloadBytes: 1.5 })).toThrow('got 1.5');
    expect(() => resolveOptions({ maxPayloadBytes: '1mb' as unknown as number })).toThrow(
      'got "1mb"',
    );
  });
});
