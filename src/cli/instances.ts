import type { HeartbeatMessage } from '../app/heartbeat.js';
import { INSTANCE_KEY_PATTERN } from '../app/heartbeat.js';
import type { CliContext } from './cli-context.js';

/** Every live instance, from the heartbeat keys the services keep in Redis. */
export async function liveInstances(context: CliContext): Promise<HeartbeatMessage[]> {
  const client = (await context.transport()).client!;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', INSTANCE_KEY_PATTERN, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await client.mget(...keys);
  const instances: HeartbeatMessage[] = [];
  for (const value of values) {
    if (value === null) continue;
    try {
      instances.push(JSON.parse(value) as HeartbeatMessage);
    } catch {
      // a foreign or damaged key: not an instance we can show
    }
  }
  return instances.sort(
    (a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance),
  );
}

/** `service` or `service@instance`, split. */
export function parseTarget(target: string): { service: string; instance: string | null } {
  const at = target.indexOf('@');
  if (at <= 0) return { service: target, instance: null };
  return { service: target.slice(0, at), instance: target.slice(at + 1) };
}

/**
 * The instances a command addresses: the one named, else every live instance
 * of the service (null when none is known: then the service channel is used).
 */
export async function targetInstances(
  context: CliContext,
  target: string,
): Promise<{ service: string; instances: Array<string | null> }> {
  const { service, instance } = parseTarget(target);
  if (instance !== null) return { service, instances: [instance] };
  const live = (await liveInstances(context))
    .filter((i) => i.service === service)
    .map((i) => i.instance);
  return { service, instances: live.length > 0 ? live : [null] };
}
