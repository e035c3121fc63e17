/**
 * The service side of the RPC benchmark, run as its own process:
 * `daebus` (a Daebus service with an `echo` action) or `raw` (bare ioredis
 * with the same JSON envelope). Prints "ready" once subscribed.
 */

import { Daebus } from 'daebus';
import { Redis } from 'ioredis';

const [impl, url] = process.argv.slice(2);

if (impl === 'daebus') {
  const app = new Daebus('bench', { logLevel: 'warn' });
  app.action('echo', (payload) => payload);
  await app.run({ service: 'bench_daebus', redis: url });
} else {
  const subscriber = new Redis(url!);
  const publisher = new Redis(url!);
  subscriber.on('message', (_channel: string, raw: string) => {
    const request = JSON.parse(raw) as { payload: unknown; reply_to: string; request_id: string };
    const reply = JSON.stringify({
      status: 'success',
      payload: request.payload,
      request_id: request.request_id,
      final: true,
    });
    void publisher.publish(request.reply_to, reply);
  });
  await subscriber.subscribe('bench_raw');
  process.once('SIGTERM', () => {
    subscriber.disconnect();
    publisher.disconnect();
  });
}
process.stdout.write('ready\n');
