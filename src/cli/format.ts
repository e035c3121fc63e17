/** Formatting helpers for the command line's tables. */

/** A column-aligned table with a header row; empty cells show as `-`. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  const cells = rows.map((row) =>
    row.map((cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell))),
  );
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => row[i]?.length ?? 0)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** `1.5s`, `3m`, `2h`, `4d`: a short duration from seconds. */
export function shortDuration(seconds: number): string {
  const abs = Math.abs(seconds);
  if (abs < 1) return `${Math.round(seconds * 1000)}ms`;
  if (abs < 60) return `${Number(seconds.toFixed(1))}s`;
  if (abs < 3600) return `${Number((seconds / 60).toFixed(1))}m`;
  if (abs < 86400) return `${Number((seconds / 3600).toFixed(1))}h`;
  return `${Number((seconds / 86400).toFixed(1))}d`;
}

/**
 * When a scheduled moment comes: `in 3s`, or `now` once it is due (a run
 * due when the service answered may not have started by the time the
 * answer is printed); null stays null.
 */
export function untilTime(iso: string | null | undefined, now = Date.now()): string | null {
  const relative = relativeTime(iso, now);
  return relative?.endsWith(' ago') ? 'now' : relative;
}

/** `12s ago` or `in 3s` for an ISO time, relative to `now`; null stays null. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string | null {
  if (iso === null || iso === undefined) return null;
  const seconds = (Date.parse(iso) - now) / 1000;
  if (Number.isNaN(seconds)) return iso;
  return seconds >= 0 ? `in ${shortDuration(seconds)}` : `${shortDuration(-seconds)} ago`;
}
