/** Where Daebus looks for Redis when it is given no URL: `REDIS_URL`, then this. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The Redis URL to use: the one given, else `REDIS_URL`, else {@link DEFAULT_REDIS_URL}. */
export function resolveRedisUrl(url?: string): string {
  return url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
}

/** A URL fit for a log line: any password is replaced by `***`. */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // Not a URL we can parse: hide everything up to the last "@", where a password could be.
    return url.replace(/\/\/.*@/, '//***@');
  }
}
