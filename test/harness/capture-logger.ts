import { type Logger, pino } from 'pino';

/** The two transports the suites run against. */
export type TransportKind = 'memory' | 'redis';

/** One log record written by an in-process app. */
export type CapturedRecord = Record<string, unknown> & { msg: string; level: number };

/** A pino logger that keeps its records in memory, so tests can read them and output stays quiet. */
export function captureLogger(): { logger: Logger; records: CapturedRecord[] } {
  const records: CapturedRecord[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        records.push(JSON.parse(line) as CapturedRecord);
      },
    },
  );
  return { logger, records };
}
