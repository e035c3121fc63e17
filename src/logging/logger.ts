import { type LevelWithSilent, type Logger, pino } from 'pino';
import { DaebusError } from '../errors/daebus-error.js';
import { prettyStream } from './pretty-stream.js';

export type { Logger } from 'pino';

/** How log records are written: JSON lines for machines, or one readable line each. */
export type LogFormat = 'json' | 'pretty';

/** Options of the logger an app creates when it is given none. */
export interface LoggerOptions {
  /**
   * The lowest level written.
   * @default process.env.LOG_LEVEL ?? 'info'
   */
  level?: LevelWithSilent;
  /**
   * `json` (one JSON object per line) or `pretty`.
   * @default process.env.DAEBUS_LOG_FORMAT ?? (stdout is a terminal ? 'pretty' : 'json')
   */
  format?: LogFormat;
}

const LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Creates the base logger of an app: pino, writing synchronously to stdout. */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level)) {
    throw new DaebusError(
      'INVALID_CONFIG',
      `log level must be one of ${LEVELS.join(', ')}, got "${level}" (check LOG_LEVEL)`,
    );
  }
  const format =
    options.format ??
    (process.env.DAEBUS_LOG_FORMAT as LogFormat | undefined) ??
    (process.stdout.isTTY ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') {
    throw new DaebusError(
      'INVALID_CONFIG',
      `log format must be "json" or "pretty", got "${String(format)}" (check DAEBUS_LOG_FORMAT)`,
    );
  }
  const destination =
    format === 'pretty' ? prettyStream() : pino.destination({ dest: 1, sync: true });
  return pino({ name, level, base: { pid: process.pid } }, destination);
}
