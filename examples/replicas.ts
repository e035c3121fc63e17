/**
 * Replicas: several processes of one service that split its requests, each
 * request handled by exactly one of them.
 *
 *   npx tsx examples/replicas.ts            (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 *
 * Start it three times against the same Redis and send `work` requests with
 * distinct ids: every field of the hash `replica_service:handled` ends at 1,
 * however many copies run and whichever of them come and go, and each reply
 * says which instance did the work. Callers, Python ones included, publish on
 * `replica_service` as always; the replicas claim each request in Redis
 * (`replicas: 'shared'`), and only the one whose claim lands handles it.
 */
import { cache, Daebus } from '../src/index.js';

interface Actions {
  work: { payload: { id: string | number }; result: { instance: string } };
}

const app = new Daebus<Actions>('replicas');

app.action('work', async ({ id }) => {
  // A handler that ran twice for one request would leave a 2 here.
  await cache.hincrby('replica_service:handled', String(id), 1);
  return { instance: app.instance! };
});

await app.run({ service: 'replica_service', replicas: 'shared' });
