import type { Writable } from 'node:stream';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields a pretty line shows in its prefix, or leaves out as noise. */
const HIDDEN_FIELDS = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'name',
  'instance',
  'service',
  'err',
]);

/**
 * A destination for the structured logger that prints one readable line per
 * record, for a person at a terminal:
 * `12:00:01.234 INFO  monitor_service [task=health_check] Health check completed`.
 * Machines should read the default JSON lines instead.
 */
export function prettyStream(out: Pick<Writable, 'write'> = process.stdout): {
  write(line: string): void;
} {
  return {
    write(line: string): void {
      out.write(formatPrettyLine(line));
    },
  };
}

/** Formats one JSON log record as a readable line (unparseable input passes through). */
export function formatPrettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now());
  const clock = time.toISOString().slice(11, 23);
  const level = LEVEL_NAMES[record.level as number] ?? String(record.level);
  const service = typeof record.service === 'string' ? ` ${record.service}` : '';
  const extras = Object.entries(record)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const tags = extras.length > 0 ? ` [${extras.join(' ')}]` : '';
  const err = record.err as { stack?: string } | undefined;
  const stack = err?.stack ? `\n${indent(err.stack)}` : '';
  return `${clock} ${level}${service}${tags} ${String(record.msg ?? '')}${stack}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
