/**
 * Error Handling: an hourly cleanup job that catches its own errors.
 *
 *   npx tsx examples/cleanup.ts             (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 */
import { Daebus, directLogger } from '../src/index.js';

const app = new Daebus('cleanup');

const DAY_MS = 24 * 60 * 60 * 1000;

/** A stand-in for a database table: records with their creation time. */
let records = [
  { id: 1, createdAt: Date.now() - 45 * DAY_MS },
  { id: 2, createdAt: Date.now() - 31 * DAY_MS },
  { id: 3, createdAt: Date.now() - 2 * DAY_MS },
  { id: 4, createdAt: Date.now() },
];

/** Deletes the records older than `maxAgeDays`; returns how many went. */
function deleteOldRecords(maxAgeDays = 30): number {
  const cutoff = Date.now() - maxAgeDays * DAY_MS;
  const before = records.length;
  records = records.filter((record) => record.createdAt >= cutoff);
  return before - records.length;
}

app.background('cleanup', 3600, () => {
  try {
    const deleted = deleteOldRecords();
    directLogger.info(`Cleanup completed: ${deleted} records removed`);
  } catch (err) {
    // Handled here, so the log line says what failed. An uncaught error would
    // not stop the scheduler either: Daebus logs it, counts it in the task's
    // `failures`, and runs the task again at its next time.
    directLogger.error({ err }, 'Cleanup failed');
  }
});

await app.run({ service: 'cleanup_service' });
