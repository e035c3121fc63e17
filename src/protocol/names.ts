import { DaebusError } from '../errors/daebus-error.js';

/** Names that start with this prefix belong to the framework (PROTOCOL.md, "Reserved names"). */
export const RESERVED_PREFIX = 'daebus:';

/** The longest service, action, channel or task name Daebus accepts. */
export const MAX_NAME_LENGTH = 256;

/** What a name is used for; it appears in error messages. */
export type NameKind = 'service' | 'action' | 'channel' | 'task' | 'instance';

/**
 * Checks a user-supplied name and throws a `DaebusError` with code
 * `INVALID_NAME` that shows the bad value when it is empty, too long, not a
 * string, or uses the reserved `daebus:` prefix.
 */
export function validateName(kind: NameKind, name: unknown): string {
  if (typeof name !== 'string') {
    throw new DaebusError(
      'INVALID_NAME',
      `${kind} name must be a string, got ${name === null ? 'null' : typeof name}`,
    );
  }
  if (name.length === 0) {
    throw new DaebusError('INVALID_NAME', `${kind} name must not be empty`);
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new DaebusError(
      'INVALID_NAME',
      `${kind} name must be at most ${MAX_NAME_LENGTH} characters, got ${name.length} ("${name.slice(0, 40)}…")`,
    );
  }
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new DaebusError(
      'INVALID_NAME',
      `${kind} name "${name}" uses the reserved prefix "${RESERVED_PREFIX}"; pick a name without it`,
    );
  }
  return name;
}

/** The channel a service's requests travel on: its own name. */
export function serviceChannel(service: string): string {
  return service;
}

/** The channel that reaches one instance of a service (extension). */
export function instanceChannel(service: string, instance: string): string {
  return `${service}@${instance}`;
}

/** Where responses go when a request carried no `reply_to`. */
export function responsesChannel(service: string): string {
  return `${service}.responses`;
}

/** The channel every running service publishes its heartbeat on. */
export const HEARTBEAT_CHANNEL = 'daebus:heartbeat';
