import type { RedisOptions } from 'ioredis';
import { RedisTransport, type RedisTransportOptions } from './redis-transport.js';
import { resolveRedisUrl } from './redis-url.js';

/**
 * Redis settings: a URL, or ioredis options with an optional `url`,
 * `connectTimeout` (seconds) and `caFile` (a PEM file of the authority that
 * signed the server's TLS certificate, read at connect; see
 * {@link RedisTransportOptions}).
 *
 * @example
 * 'redis://monitor:secret@10.0.0.5:6379/0'
 * { url: 'rediss://:secret@cache.internal:6380', caFile: '/etc/redis/ca.crt' }
 */
export type RedisSetting =
  | string
  | (RedisOptions & { url?: string; connectTimeout?: number; caFile?: string });

/** A Redis transport for a setting. */
export function redisTransportFor(setting: RedisSetting | undefined): RedisTransport {
  if (setting === undefined || typeof setting === 'string')
    return new RedisTransport({ url: setting });
  const { url, connectTimeout, caFile, ...options } = setting;
  return new RedisTransport({ url, connectTimeout, caFile, options });
}

/** A key that is equal for settings that reach the same Redis the same way. */
export function redisSettingKey(setting: RedisSetting | undefined): string {
  if (setting === undefined || typeof setting === 'string')
    return `redis:${resolveRedisUrl(setting)}`;
  const { url, ...rest } = setting;
  return `redis:${resolveRedisUrl(url)}:${JSON.stringify(rest)}`;
}
