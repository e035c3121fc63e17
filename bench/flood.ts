/**
 * `npm run bench:flood`: memory of a Daebus service under a flood of
 * 100,000 requests (`--messages N` to change), published as fast as Redis
 * takes them, once with small limits (most requests refused with
 * OVERLOADED at once) and once with the defaults. The service runs in its
 * own process, so that its heap and RSS are its own; this process floods
 * and counts the replies. Uses REDIS_URL when set, else starts a private
 * redis-server.
 *
 * Prints one JSON line per configuration: replies by kind, heap and RSS (MB)
 * before the flood, at its peak, and after it (before and after with a full
 * GC first). A second round caps the service's heap at HEAP_CAP_MB.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/harness/redis-server.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '100000' } } });
const MESSAGES = Number(values.messages);
/**
 * The second round runs the service with V8's old space capped at this: the
 * peak of `heapUsed` counts garbage V8 has not collected yet, while a flood
 * that completes under the cap shows that the live heap stayed below it.
 */
const HEAP_CAP_MB = 48;

interface Memory {
  heap: number;
  rss: number;
}
interface Report {
  type: 'report';
  before: Memory;
  peak: Memory;
  after: Memory;
  runs: number;
}

const mb = (bytes: number) => Number((bytes / 1_048_576).toFixed(1));

function startService(
  url: string,
  service: string,
  maxConcurrency: number,
  maxQueue: number,
  heapCapMb: number | null,
): Promise<ChildProcess> {
  const file = fileURLToPath(new URL('./flood-service.js', import.meta.url));
  const child = fork(file, [url, service, String(maxConcurrency), String(maxQueue)], {
    execArgv: ['--expose-gc', ...(heapCapMb === null ? [] : [`--max-old-space-size=${heapCapMb}`])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code, signal) =>
      reject(new Error(`flood service exited with ${code ?? signal}`)),
    );
  });
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message);
  });
}

/** Publishes `count` requests as fast as Redis takes them; resolves with the replies by kind. */
async function flood(url: string, service: string, count: number) {
  const publisher = new Redis(url);
  const subscriber = new Redis(url);
  const replyTo = `caller:${randomUUID()}`;
  const counts = { success: 0, overloaded: 0, other: 0 };
  let replies = 0;
  let allIn: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allIn = resolve;
  });
  subscriber.on('message', (_channel: string, raw: string) => {
    const reply = JSON.parse(raw) as { status: string; payload: { code?: string } };
    if (reply.status === 'success') counts.success++;
    else if (reply.payload.code === 'OVERLOADED') counts.overloaded++;
    else counts.other++;
    if (++replies === count) allIn();
  });
  await subscriber.subscribe(replyTo);
  const started = performance.now();
  for (let from = 0; from < count; from += 1_000) {
    const pipeline = publisher.pipeline();
    for (let i = from; i < Math.min(count, from + 1_000); i++) {
      pipeline.publish(
        service,
        `{"action":"work","payload":{"i":${i}},"reply_to":"${replyTo}","request_id":"${i}"}`,
      );
    }
    await pipeline.exec();
  }
  const timeout = setTimeout(allIn, 120_000);
  await done;
  clearTimeout(timeout);
  const seconds = (performance.now() - started) / 1000;
  publisher.disconnect();
  subscriber.disconnect();
  return { ...counts, lost: count - replies, seconds: Number(seconds.toFixed(2)) };
}

async function measure(
  url: string,
  maxConcurrency: number,
  maxQueue: number,
  heapCapMb: number | null,
): Promise<void> {
  const service = `flood_${maxConcurrency}_${maxQueue}`;
  const child = await startService(url, service, maxConcurrency, maxQueue, heapCapMb);
  // A service that dies (out of memory under the cap) fails the run instead of hanging it.
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`flood service (heap cap ${heapCapMb} MB) exited with ${code ?? signal}`)),
    ),
  );
  died.catch(() => undefined);
  try {
    await Promise.race([flood(url, service, 2_000), died]); // warm-up: JIT, connections
    await Promise.race([ask(child, 'baseline'), died]);
    const replies = await Promise.race([flood(url, service, MESSAGES), died]);
    const report = await Promise.race([ask<Report>(child, 'report'), died]);
    console.log(
      JSON.stringify({
        bench: 'flood',
        max_concurrency: maxConcurrency,
        max_queue: maxQueue,
        heap_cap_mb: heapCapMb,
        messages: MESSAGES,
        answered: replies.success,
        overloaded: replies.overloaded,
        other: replies.other,
        lost: replies.lost,
        seconds: replies.seconds,
        heap_before_mb: mb(report.before.heap),
        heap_peak_mb: mb(report.peak.heap),
        heap_after_mb: mb(report.after.heap),
        rss_before_mb: mb(report.before.rss),
        rss_peak_mb: mb(report.peak.rss),
        rss_after_mb: mb(report.after.rss),
      }),
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('stop');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  } finally {
    child.kill('SIGKILL');
  }
}

const ownServer = process.env.REDIS_URL === undefined ? await startRedisServer() : null;
const url = process.env.REDIS_URL ?? ownServer!.url;
try {
  for (const heapCapMb of [null, HEAP_CAP_MB]) {
    await measure(url, 4, 50, heapCapMb);
    await measure(url, 100, 10_000, heapCapMb);
  }
} finally {
  await ownServer?.stop();
}
