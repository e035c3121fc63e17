/**
 * A request as it travels on a service channel (PROTOCOL.md, "Request").
 */
export interface WireRequest {
  action: string;
  payload?: unknown;
  reply_to?: string;
  request_id?: string;
  service?: string;
}

/** A request id as callers send it: Daebus callers use strings (uuid4). */
export type RequestId = string | number;

/** A request decoded and normalised, ready for a handler. */
export interface DecodedRequest {
  action: string;
  payload: unknown;
  replyTo: string | null;
  requestId: RequestId | null;
  service: string | null;
}

/** Why a message could not be decoded, and whether an error reply is possible. */
export interface UndecodableMessage {
  error: string;
  /** Where an error reply can go, when the message told us (`reply_to`). */
  replyTo: string | null;
  requestId: RequestId | null;
}

const ENVELOPE_FIELDS = new Set(['action', 'payload', 'reply_to', 'request_id', 'service']);

/**
 * Decodes one message from a service channel.
 *
 * - `payload` holding a JSON string is parsed (when it parses).
 * - A missing `payload` becomes the message's other top-level fields (the
 *   Python caller's `send_to_service` form), or `{}` when there are none.
 *
 * Returns an {@link UndecodableMessage} for anything that is not a JSON object
 * with a string `action`.
 */
export function decodeRequest(raw: string): DecodedRequest | UndecodableMessage {
  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch (err) {
    return {
      error: `message is not JSON: ${(err as Error).message}`,
      replyTo: null,
      requestId: null,
    };
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    const got = message === null ? 'null' : Array.isArray(message) ? 'an array' : typeof message;
    return { error: `message must be a JSON object, got ${got}`, replyTo: null, requestId: null };
  }
  const fields = message as Record<string, unknown>;
  const replyTo =
    typeof fields.reply_to === 'string' && fields.reply_to !== '' ? fields.reply_to : null;
  const requestId = requestIdOf(fields.request_id);
  const action = fields.action;
  if (typeof action !== 'string' || action === '') {
    const got = action === undefined ? 'none' : describeValue(action);
    return {
      error: `request needs a non-empty string "action", got ${got}`,
      replyTo,
      requestId,
    };
  }
  return {
    action,
    payload: 'payload' in fields ? normalisePayload(fields.payload) : topLevelPayload(fields),
    replyTo,
    requestId,
    service: typeof fields.service === 'string' ? fields.service : null,
  };
}

/** Type guard: did {@link decodeRequest} fail? */
export function isUndecodable(
  decoded: DecodedRequest | UndecodableMessage,
): decoded is UndecodableMessage {
  return 'error' in decoded;
}

function normalisePayload(payload: unknown): unknown {
  if (typeof payload !== 'string') return payload;
  const first = payload.trimStart()[0];
  if (first !== '{' && first !== '[') return payload;
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

function topLevelPayload(fields: Record<string, unknown>): Record<string, unknown> {
  // Own, data-defined properties only: a "__proto__" key stays a plain key.
  const payload: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    if (ENVELOPE_FIELDS.has(key)) continue;
    Object.defineProperty(payload, key, {
      value: fields[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return payload;
}

/**
 * A short account of a bad value from the wire, for an error message. Never
 * walks it: it may be huge, or nested 10,000 deep.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 60));
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** A request id is echoed exactly as it came: a string, or a number some callers use. */
function requestIdOf(value: unknown): RequestId | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return null;
}
