import { MemoryTransport } from '../transport/memory/memory-transport.js';
import {
  type RedisSetting,
  redisSettingKey,
  redisTransportFor,
} from '../transport/redis/redis-setting.js';
import type { Transport } from '../transport/transport.js';
import { ReplyRouter } from './reply-router.js';

/** A connection shared by every caller of a process that points at the same place. */
export interface SharedConnection {
  readonly transport: Transport;
  readonly router: ReplyRouter;
  /** Resolves once connected and the reply channel is subscribed. */
  readonly ready: Promise<void>;
}

interface Entry {
  connection: SharedConnection;
  users: number;
  owned: boolean;
}

/** Shared connections by key (the Redis URL and options, or `memory`). */
const shared = new Map<string, Entry>();
/** Connections over transports the user made, by transport. */
const byTransport = new WeakMap<Transport, Entry>();

function open(transport: Transport, owned: boolean): Entry {
  const router = new ReplyRouter(transport);
  const ready = transport.connect().then(async () => {
    await router.ready();
  });
  ready.catch(() => undefined);
  return { connection: { transport, router, ready }, users: 0, owned };
}

/**
 * Takes a share of the connection for `setting`; callers with equal settings
 * in one process use one pair of Redis connections and one reply channel.
 */
export function acquireConnection(
  choice: 'redis' | 'memory' | Transport,
  redis: RedisSetting | undefined,
): { connection: SharedConnection; release: () => Promise<void> } {
  let entry: Entry | undefined;
  let key: string | null = null;
  if (typeof choice === 'object') {
    entry = byTransport.get(choice);
    if (entry === undefined) {
      entry = open(choice, false);
      byTransport.set(choice, entry);
    }
  } else {
    key = choice === 'memory' ? 'memory' : redisSettingKey(redis);
    entry = shared.get(key);
    if (entry === undefined) {
      entry = open(choice === 'memory' ? new MemoryTransport() : redisTransportFor(redis), true);
      shared.set(key, entry);
    }
  }
  const current = entry;
  current.users++;
  let released = false;
  return {
    connection: current.connection,
    release: async () => {
      if (released) return;
      released = true;
      current.users--;
      if (current.users > 0) return;
      if (key !== null && shared.get(key) === current) shared.delete(key);
      else if (typeof choice === 'object') byTransport.delete(choice);
      await current.connection.router.close();
      if (current.owned) await current.connection.transport.close();
    },
  };
}
