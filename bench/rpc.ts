/**
 * `npm run bench:rpc`: a Daebus caller calling a Daebus service's echo
 * action, beside a baseline of bare ioredis request/response with the same
 * JSON envelope. Each service runs in its own process; the callers run here.
 * Uses REDIS_URL when set, else starts a private redis-server.
 *
 * Prints one JSON line per measurement, then the ratios (daebus over raw).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DaebusCaller } from 'daebus';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/harness/redis-server.js';

type Impl = 'daebus' | 'raw';
interface Measurement {
  bench: 'rpc';
  impl: Impl;
  concurrency: number;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

const PAYLOAD = { sensor: 'temp-1', value: 21.5, tags: ['a', 'b'] };

/** A client that does what a Daebus caller does, with nothing else: the baseline. */
class RawClient {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #replyTo = `caller:${randomUUID()}`;
  readonly #pending = new Map<string, (payload: unknown) => void>();

  constructor(url: string) {
    this.#publisher = new Redis(url);
    this.#subscriber = new Redis(url);
    this.#subscriber.on('message', (_channel: string, raw: string) => {
      const reply = JSON.parse(raw) as { payload: unknown; request_id: string };
      const resolve = this.#pending.get(reply.request_id);
      if (resolve === undefined) return;
      this.#pending.delete(reply.request_id);
      resolve(reply.payload);
    });
  }

  async ready(): Promise<void> {
    await this.#subscriber.subscribe(this.#replyTo);
  }

  request(service: string, action: string, payload: unknown): Promise<unknown> {
    const requestId = randomUUID();
    return new Promise((resolve) => {
      this.#pending.set(requestId, resolve);
      void this.#publisher.publish(
        service,
        JSON.stringify({
          action,
          payload,
          reply_to: this.#replyTo,
          request_id: requestId,
          service,
        }),
      );
    });
  }

  close(): void {
    this.#publisher.disconnect();
    this.#subscriber.disconnect();
  }
}

function startServer(impl: Impl, url: string): Promise<ChildProcess> {
  const file = fileURLToPath(new URL('./rpc-server.js', import.meta.url));
  const child = spawn(process.execPath, [file, impl, url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      if (data.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${impl} server exited with ${code}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(
  impl: Impl,
  call: () => Promise<unknown>,
  concurrency: number,
  requests: number,
): Promise<Measurement> {
  const latencies = new Float64Array(requests);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < requests; i = next++) {
      const started = performance.now();
      await call();
      latencies[i] = performance.now() - started;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return {
    bench: 'rpc',
    impl,
    concurrency,
    requests,
    rps: Math.round(requests / seconds),
    p50_ms: Number(percentile(sorted, 50).toFixed(3)),
    p99_ms: Number(percentile(sorted, 99).toFixed(3)),
  };
}

async function runImpl(impl: Impl, url: string): Promise<Measurement[]> {
  const server = await startServer(impl, url);
  let call: () => Promise<unknown>;
  let close: () => Promise<void> | void;
  if (impl === 'daebus') {
    const caller = new DaebusCaller('bench_daebus', { redis: url, timeout: 30 });
    call = () => caller.request('echo', PAYLOAD);
    close = () => caller.close();
  } else {
    const client = new RawClient(url);
    await client.ready();
    call = () => client.request('bench_raw', 'echo', PAYLOAD);
    close = () => client.close();
  }
  try {
    await measure(impl, call, 50, 5_000); // warm-up: JIT, connections
    const results = [await measure(impl, call, 50, 20_000), await measure(impl, call, 1, 5_000)];
    for (const result of results) console.log(JSON.stringify(result));
    return results;
  } finally {
    await close();
    server.kill('SIGTERM');
  }
}

const ownServer = process.env.REDIS_URL === undefined ? await startRedisServer() : null;
const url = process.env.REDIS_URL ?? ownServer!.url;
try {
  // Two rounds, interleaved, so that machine noise hits both alike; each figure is the better round's.
  const rounds: Record<Impl, Measurement[][]> = { raw: [], daebus: [] };
  for (let round = 0; round < 2; round++) {
    for (const impl of ['raw', 'daebus'] as const) rounds[impl].push(await runImpl(impl, url));
  }
  const best = (impl: Impl, concurrency: number) => {
    const runs = rounds[impl].map((list) => list.find((m) => m.concurrency === concurrency)!);
    return {
      rps: Math.max(...runs.map((m) => m.rps)),
      p50: Math.min(...runs.map((m) => m.p50_ms)),
    };
  };
  console.log(
    JSON.stringify({
      bench: 'rpc-ratio',
      throughput_ratio_c50: Number((best('daebus', 50).rps / best('raw', 50).rps).toFixed(3)),
      p50_ratio_c1: Number((best('daebus', 1).p50 / best('raw', 1).p50).toFixed(3)),
    }),
  );
} finally {
  await ownServer?.stop();
}
