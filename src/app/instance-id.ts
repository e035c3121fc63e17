import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A fleet-unique instance id: `<host>-<pid>-<random>`. */
export function createInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
