/**
 * Every stable error code Daebus uses. Codes travel on the wire in error
 * replies (`payload.code`) and are safe to branch on; messages are for people.
 */
export type DaebusErrorCode =
  | 'UNKNOWN_ACTION'
  | 'HANDLER_ERROR'
  | 'TIMEOUT'
  | 'BAD_REQUEST'
  | 'REMOTE_ERROR'
  | 'CLOSED'
  | 'DISCONNECTED'
  | 'ACCESS_DENIED'
  | 'OVERLOADED'
  | 'SHUTTING_DOWN'
  | 'NO_CONTEXT'
  | 'NO_CACHE'
  | 'INVALID_CONFIG'
  | 'INVALID_NAME'
  | 'DUPLICATE_NAME'
  | 'TASK_NOT_FOUND'
  | 'NOT_RUNNING';

/**
 * The error class of Daebus. It carries a stable `code`, and keeps the
 * underlying error as `cause`.
 *
 * @example
 * try { await caller.request('get_data', {}) }
 * catch (err) { if (err instanceof DaebusError && err.code === 'TIMEOUT') retry() }
 */
export class DaebusError extends Error {
  override readonly name = 'DaebusError';
  /** A stable, upper-case code; see {@link DaebusErrorCode}. */
  readonly code: DaebusErrorCode;

  constructor(code: DaebusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Turns anything thrown into a message fit for a log line or an error reply. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
