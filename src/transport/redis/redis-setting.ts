import type { RedisOptions } from 'ioredis';
import { RedisTransport } from './redis-transport.js';
import { resolveRedisUrl } from './redis-url.js';

/** Redis settings: a URL, or ioredis options (with an optional `url` and `connectTimeout` in seconds). */
export type RedisSetting = string | (RedisOptions & { url?: string; connectTimeout?: number });

/** A Redis transport for a setting. */
export function redisTransportFor(setting: RedisSetting | undefined): RedisTransport {
  if (setting === undefined || typeof setting === 'string')
    return new RedisTransport({ url: setting });
  const { url, connectTimeout, ...options } = setting;
  return new RedisTransport({ url, connectTimeout, options });
}

/** A key that is equal for settings that reach the same Redis the same way. */
export function redisSettingKey(setting: RedisSetting | undefined): string {
  if (setting === undefined || typeof setting === 'string')
    return `redis:${resolveRedisUrl(setting)}`;
  const { url, ...rest } = setting;
  return `redis:${resolveRedisUrl(url)}:${JSON.stringify(rest)}`;
}
