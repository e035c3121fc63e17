/**
 * Cleanup Jobs: a daily job that deletes log entries and temporary files
 * older than 30 days, then optimizes the database.
 *
 *   npx tsx examples/db-cleanup.ts          (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 */
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daebus, directLogger } from '../src/index.js';

const app = new Daebus('db-cleanup');

const DAY_MS = 24 * 60 * 60 * 1000;

// Stand-ins for the database and the temp folder, with a few old entries so
// the first run has something to do.

/** A log table. Deleting only marks rows, as many databases do; optimizing removes them. */
let logTable = [
  { at: new Date(Date.now() - 60 * DAY_MS), message: 'service started', deleted: false },
  { at: new Date(Date.now() - 40 * DAY_MS), message: 'disk nearly full', deleted: false },
  { at: new Date(Date.now() - 1 * DAY_MS), message: 'backup finished', deleted: false },
];

const tempDir = await mkdtemp(join(tmpdir(), 'daebus-db-cleanup-'));
for (const [name, ageDays] of [
  ['export-old.csv', 45],
  ['upload-old.tmp', 31],
  ['report-new.pdf', 0],
] as const) {
  const file = join(tempDir, name);
  await writeFile(file, `${name}\n`);
  const time = new Date(Date.now() - ageDays * DAY_MS);
  await utimes(file, time, time);
}
app.onClose(() => rm(tempDir, { recursive: true, force: true }));

function deleteOldLogs(cutoff: Date): number {
  let deleted = 0;
  for (const row of logTable) {
    if (!row.deleted && row.at < cutoff) {
      row.deleted = true;
      deleted++;
    }
  }
  return deleted;
}

async function cleanupTempFiles(cutoff: Date): Promise<number> {
  let deleted = 0;
  for (const name of await readdir(tempDir)) {
    const file = join(tempDir, name);
    if ((await stat(file)).mtime < cutoff) {
      await rm(file);
      deleted++;
    }
  }
  return deleted;
}

function optimizeDatabase(): void {
  logTable = logTable.filter((row) => !row.deleted);
}

// Run daily (24 hours).
app.background('db_cleanup', 86400, async () => {
  try {
    // Calculate the cutoff date (e.g., 30 days ago).
    const cutoff = new Date(Date.now() - 30 * DAY_MS);

    const deletedLogs = deleteOldLogs(cutoff);
    directLogger.info(`Deleted ${deletedLogs} old log entries`);

    const deletedFiles = await cleanupTempFiles(cutoff);
    directLogger.info(`Deleted ${deletedFiles} temporary files`);

    optimizeDatabase();
    directLogger.info('Database optimization completed');
  } catch (err) {
    directLogger.error({ err }, 'Database cleanup failed');
  }
});

await app.run({ service: 'db_service' });
