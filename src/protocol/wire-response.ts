import { DaebusError, type DaebusErrorCode } from '../errors/daebus-error.js';
import type { RequestId } from './wire-request.js';

/** A response as it travels to a caller (PROTOCOL.md, "Response"). */
export interface WireResponse {
  status: 'success' | 'error' | 'progress';
  payload: unknown;
  request_id: RequestId | null;
  /** A missing `final` means true. */
  final?: boolean;
}

/** The payload of an error response. */
export interface ErrorPayload {
  error: string;
  code?: DaebusErrorCode | string;
}

/**
 * Encodes a response. Throws a `DaebusError` (`HANDLER_ERROR`) when the
 * payload holds a value JSON cannot carry (a BigInt, a cycle).
 */
export function encodeResponse(
  status: 'success' | 'error',
  payload: unknown,
  requestId: RequestId | null,
  final: boolean,
): string {
  let body: string | undefined;
  try {
    body = JSON.stringify(payload);
  } catch (err) {
    throw new DaebusError(
      'HANDLER_ERROR',
      `the reply cannot be encoded as JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
  // JSON.stringify(undefined) is undefined: such a reply carries null.
  return `{"status":"${status}","payload":${body ?? 'null'},"request_id":${
    requestId === null ? 'null' : JSON.stringify(requestId)
  },"final":${final}}`;
}

/** Encodes a final error response with a stable code. */
export function encodeError(
  message: string,
  code: DaebusErrorCode | string,
  requestId: RequestId | null,
): string {
  return encodeResponse('error', { error: message, code }, requestId, true);
}
