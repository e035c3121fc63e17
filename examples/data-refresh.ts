/**
 * Periodic Data Refresh: a cache refreshed every 5 minutes, an event
 * broadcast on each refresh, and an action that serves the cache.
 *
 *   npx tsx examples/data-refresh.ts        (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 */
import { freemem, hostname, loadavg, uptime } from 'node:os';
import { broadcast, Daebus, directLogger } from '../src/index.js';

const app = new Daebus('data-refresh');

// Cache for data.
let cachedData: Record<string, unknown> = {};
let lastUpdate = 0; // Seconds since the epoch, like Python's time.time().

/** A stand-in for a database query or an HTTP call: this machine's own figures. */
async function fetchDataFromSource(): Promise<Record<string, unknown>> {
  return {
    host: hostname(),
    uptime_s: Math.round(uptime()),
    load_average: loadavg(),
    free_memory_mb: Math.round(freemem() / 2 ** 20),
  };
}

app.background('data_refresh', 300, async () => {
  try {
    // Fetch fresh data from the source, then update the cache.
    cachedData = await fetchDataFromSource();
    lastUpdate = Date.now() / 1000;

    // Tell whoever listens on data_events.
    await broadcast.send('data_events', { type: 'data_refreshed', timestamp: lastUpdate });

    directLogger.info('Data cache refreshed successfully');
  } catch (err) {
    directLogger.error({ err }, 'Failed to refresh data');
  }
});

// Action to access the cached data.
app.action('get_data', () => ({ data: cachedData, last_updated: lastUpdate }));

await app.run({ service: 'data_service' });
