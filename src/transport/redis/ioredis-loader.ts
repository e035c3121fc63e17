import type * as IoRedis from 'ioredis';

/**
 * ioredis, loaded at the first connection to Redis rather than with Daebus:
 * a service or caller on the in-memory transport never loads it. Loaded, its
 * modules add about 1.1 MB to the 2.45 MB of heap such a service holds, and
 * every full garbage collection walks them.
 */
let loaded: typeof IoRedis | null = null;

/** ioredis, loaded on the first call. */
export async function loadIoredis(): Promise<typeof IoRedis> {
  loaded ??= await import('ioredis');
  return loaded;
}

/**
 * True for an error that Redis answered with (ioredis's `ReplyError`), as
 * opposed to a lost connection. False before ioredis is loaded: no such
 * error exists then.
 */
export function isReplyError(err: unknown): boolean {
  return loaded !== null && err instanceof loaded.ReplyError;
}
