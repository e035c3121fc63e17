/**
 * Malformed messages for the fuzz test, from a seeded PRNG so that a failure
 * can be replayed (FUZZ_SEED). Values are built as JSON text, not objects, so
 * that `__proto__` keys, duplicate keys and broken syntax reach the wire as
 * written.
 */

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Where a message goes: the service channel, the instance channel, or a listen channel. */
export type Target = 'service' | 'instance' | 'listen';

/** One message to publish; a Buffer is sent as raw bytes (binary garbage). */
export interface FuzzMessage {
  target: Target;
  data: string | Buffer;
  /** What kind of malformation it is, to check that every kind was tried. */
  kind: string;
}

/** Channels the generated envelopes point their replies at. */
export interface FuzzChannels {
  junkReplyTo: string;
  service: string;
  listen: string;
}

export const DEPTH = 10_000;
/** Over the default maxPayloadBytes (1 MiB). */
const OVER_LIMIT = 1_100_000;

const POLLUTERS = [
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"__proto__":{"__proto__":{"polluted":"yes"}}}',
  '{"prototype":{"polluted":"yes"},"__proto__":null}',
  '[{"__proto__":{"polluted":"yes"}}]',
];

const ACTIONS = [
  'noop',
  'echo_missing',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'prototype',
  'daebus:ping',
  'daebus:tasks',
  'daebus:task',
  'daebus:nope',
  'daebus:',
];

const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'polluted', 'valueOf', ''];

export class FuzzGenerator {
  readonly #r: () => number;
  readonly #channels: FuzzChannels;

  constructor(seed: number, channels: FuzzChannels) {
    this.#r = prng(seed);
    this.#channels = channels;
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }

  #pick<T>(list: readonly T[]): T {
    return list[this.#int(list.length)]!;
  }

  /** A string with the characters that break naive code: quotes, escapes, NUL, surrogates, emoji. */
  #nastyString(max: number): string {
    const parts = [
      'a',
      'Z',
      '"',
      '\\',
      '\n',
      '\u0000',
      '\u2028',
      'é',
      '€',
      '😀',
      '\ud800',
      '\udfff',
      '{',
      '}',
      ' ',
    ];
    let s = '';
    const n = this.#int(max);
    for (let i = 0; i < n; i++) s += this.#pick(parts);
    return s;
  }

  /** JSON text of a random value, usually of the wrong type for wherever it goes. */
  value(depth = 0): string {
    const roll = this.#int(1000);
    // Big values (huge strings, 10,000-deep nesting) only at the top, and rarely: they are costly to send.
    if (depth === 0 && roll < 5) return JSON.stringify('s'.repeat(20_000 + this.#int(80_000)));
    if (depth === 0 && roll < 15) return `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
    if (depth === 0 && roll < 25) return `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;
    if (roll < 325) {
      return this.#pick([
        'null',
        'true',
        'false',
        '0',
        '-0',
        '1e308',
        '-1.5e-300',
        '12345678901234567890',
        '""',
        '" "',
        '"\\ud800"',
        '"\\u0000"',
        '"[1,2"',
        '"{\\"__proto__\\":{\\"polluted\\":1}}"',
        '"{\\"a\\":"',
      ]);
    }
    if (roll < 525) return JSON.stringify(this.#nastyString(40));
    if (roll < 625) return this.#pick(POLLUTERS);
    if (depth > 3) return String(this.#r());
    if (roll < 800) {
      const items = Array.from({ length: this.#int(5) }, () => this.value(depth + 1));
      return `[${items.join(',')}]`;
    }
    const keys = Array.from({ length: this.#int(5) }, () =>
      this.#r() < 0.3 ? this.#pick(EXTRA_KEYS) : this.#nastyString(8),
    );
    return `{${keys.map((k) => `${JSON.stringify(k)}:${this.value(depth + 1)}`).join(',')}}`;
  }

  /** An envelope whose every field may be missing, of the right type, or of a wrong one. */
  #envelope(): { text: string; kind: string } {
    const fields: string[] = [];
    const add = (key: string, right: () => string) => {
      const roll = this.#int(10);
      if (roll < 3) return; // missing
      fields.push(`${JSON.stringify(key)}:${roll < 7 ? right() : this.value()}`);
    };
    add('action', () => JSON.stringify(this.#pick(ACTIONS)));
    add('payload', () => this.value());
    add('reply_to', () =>
      JSON.stringify(
        this.#pick([
          this.#channels.junkReplyTo,
          this.#channels.junkReplyTo,
          this.#channels.junkReplyTo,
          this.#channels.service,
          this.#channels.listen,
          '',
        ]),
      ),
    );
    add('request_id', () =>
      this.#r() < 0.5 ? JSON.stringify(`junk-${this.#int(1e9)}`) : String(this.#int(1e9)),
    );
    add('service', () => JSON.stringify(this.#nastyString(10)));
    for (let i = this.#int(3); i > 0; i--) {
      fields.push(`${JSON.stringify(this.#pick(EXTRA_KEYS))}:${this.value()}`);
    }
    // Shuffle so that the envelope fields come before and after big values.
    for (let i = fields.length - 1; i > 0; i--) {
      const j = this.#int(i + 1);
      [fields[i], fields[j]] = [fields[j]!, fields[i]!];
    }
    return { text: `{${fields.join(',')}}`, kind: 'envelope' };
  }

  /** One malformed message. */
  next(): FuzzMessage {
    const target: Target = this.#pick(['service', 'service', 'instance', 'listen', 'listen']);
    const roll = this.#int(10_000);
    let data: string | Buffer;
    let kind: string;
    if (roll < 4500) {
      ({ text: data, kind } = this.#envelope());
    } else if (roll < 5500) {
      const { text } = this.#envelope();
      data = text.slice(0, this.#int(text.length));
      kind = 'truncated';
    } else if (roll < 6500) {
      data = this.#pick([
        '',
        ' ',
        '\n',
        'null',
        '[]',
        '"str"',
        '123',
        'NaN',
        'undefined',
        "{'action':'noop'}",
        '{"action":"noop",}',
        '{"action":"noop"}}',
        '{"action":"noop"} trailing',
        '{"action":"noop"',
        '\u0000',
        '\ufeff{"action":"noop"}',
      ]);
      kind = 'syntax';
    } else if (roll < 7200) {
      data = Buffer.from(Array.from({ length: this.#int(200) }, () => this.#int(256)));
      kind = 'binary';
    } else if (roll < 7800) {
      data = this.#nastyString(200);
      kind = 'text';
    } else if (roll < 8500) {
      data = this.value();
      kind = 'not-an-object';
    } else if (roll < 8800) {
      data = this.#pick([
        `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`,
        `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`,
        `{"action":"noop","payload":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`,
        `{"action":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)},"reply_to":"${this.#channels.junkReplyTo}"}`,
        `{"action":"daebus:task","payload":{"name":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)},"op":"pause"},"reply_to":"${this.#channels.junkReplyTo}"}`,
        '['.repeat(DEPTH),
        `{"action":"noop","payload":${'{"a":'.repeat(DEPTH)}`,
      ]);
      kind = 'deep';
    } else if (roll < 9600) {
      data = this.#pick([
        `{"__proto__":{"polluted":"yes"},"action":"noop","reply_to":"${this.#channels.junkReplyTo}"}`,
        `{"action":"noop","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}`,
        `{"action":"noop","payload":${this.#pick(POLLUTERS)}}`,
        `{"action":"noop","payload":${JSON.stringify(this.#pick(POLLUTERS))}}`,
        `{"constructor":{"prototype":{"polluted":"yes"}},"action":"constructor"}`,
        `{"kind":"valid","__proto__":{"polluted":"yes"}}`,
        this.#pick(POLLUTERS),
      ]);
      kind = 'prototype';
    } else if (roll < 9608) {
      data = `{"action":"noop","payload":"${'x'.repeat(OVER_LIMIT)}","reply_to":"${this.#channels.junkReplyTo}","request_id":"too-big"}`;
      kind = 'over-limit';
    } else if (roll < 9640) {
      data = `{"action":"noop","reply_to":"${this.#channels.junkReplyTo}","payload":${JSON.stringify('h'.repeat(100_000 + this.#int(200_000)))}}`;
      kind = 'huge';
    } else {
      const junk = JSON.stringify(this.#channels.junkReplyTo);
      data = this.#pick([
        '{}',
        '{"payload":{}}',
        `{"reply_to":${junk}}`,
        `{"request_id":"x","reply_to":${junk}}`,
        '{"action":""}',
        `{"action":"","reply_to":${junk}}`,
        `{"action":null,"payload":null,"reply_to":${junk},"request_id":null}`,
      ]);
      kind = 'missing';
    }
    return { target, data, kind };
  }
}
