import type { CliContext } from '../cli-context.js';
import { CliError } from '../cli-error.js';
import { targetInstances } from '../instances.js';

/** One instance's answer to a fanned-out request. */
export interface InstanceReply<T> {
  instance: string | null;
  reply: T;
  ms: number;
}

/**
 * Sends the same request to every addressed instance of a service (one
 * request each) and collects the replies. Failures are reported after the
 * successes, and make the command fail.
 */
export async function fanOut<T>(
  context: CliContext,
  target: string,
  action: string,
  payload: unknown,
): Promise<{ service: string; replies: Array<InstanceReply<T>>; failures: string[] }> {
  const { service, instances } = await targetInstances(context, target);
  const caller = await context.caller(service);
  const settled = await Promise.allSettled(
    instances.map(async (instance) => {
      const started = performance.now();
      const reply = (await caller.request(action, payload, {
        instance: instance ?? undefined,
      })) as T;
      return { instance, reply, ms: performance.now() - started };
    }),
  );
  const replies: Array<InstanceReply<T>> = [];
  const failures: string[] = [];
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled') replies.push(result.value);
    else failures.push(`${instances[i] ?? service}: ${(result.reason as Error).message}`);
  });
  return { service, replies, failures };
}

/** Ends a fanned-out command: the failures as one error, when there were any. */
export function reportFailures(failures: string[]): void {
  if (failures.length > 0) throw new CliError(failures.join('; '));
}
