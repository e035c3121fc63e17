import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryTransport } from '../../src/transport/memory/memory-transport.js';
import { RedisTransport } from '../../src/transport/redis/redis-transport.js';
import type { Transport, Unsubscribe } from '../../src/transport/transport.js';
import type { TransportKind } from '../harness/capture-logger.js';
import type { RedisServer } from '../harness/redis-server.js';

export {
  type CapturedRecord,
  captureLogger,
  type TransportKind,
} from '../harness/capture-logger.js';

/** A raw transport of the given kind, connected: a peer that is not a DaebusCaller. */
export async function rawTransport(kind: TransportKind, server: RedisServer): Promise<Transport> {
  const transport =
    kind === 'memory' ? new MemoryTransport() : new RedisTransport({ url: server.url });
  await transport.connect();
  return transport;
}

/** A request as a responder written from PROTOCOL.md sees it. */
export interface SeenRequest {
  readonly raw: string;
  readonly message: Record<string, unknown>;
  /** Publishes `text` (exactly these bytes) on the request's `reply_to`. */
  reply(text: string): Promise<number>;
}

/**
 * A responder that knows nothing of Daebus but PROTOCOL.md: it subscribes to
 * `channel` and hands each request, raw and decoded, to `respond`.
 */
export async function rawResponder(
  transport: Transport,
  channel: string,
  respond: (request: SeenRequest) => unknown,
): Promise<{ seen: SeenRequest[]; stop: Unsubscribe }> {
  const seen: SeenRequest[] = [];
  const stop = await transport.subscribe(channel, (raw) => {
    const message = JSON.parse(raw) as Record<string, unknown>;
    const request: SeenRequest = {
      raw,
      message,
      reply: (text) => transport.publish(String(message.reply_to), text),
    };
    seen.push(request);
    void respond(request);
  });
  return { seen, stop };
}

/**
 * JSON as Python's `json.dumps` writes it by default: `", "` and `": "`
 * separators, and every non-ASCII character escaped as `\uXXXX`.
 */
export function pythonJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([key, item]) => `${pythonJson(key)}: ${pythonJson(item)}`,
    );
    return `{${entries.join(', ')}}`;
  }
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(
      /[\u0080-\uffff]/g,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

/** A version 4 UUID, as Python's `str(uuid.uuid4())` writes it. */
export const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let collect: (() => void) | undefined;

/** Runs a full garbage collection (exposing `gc` to this process on first use). */
export function fullGc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** How many timers this process has pending. */
export function pendingTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/** A promise and the functions that settle it. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
