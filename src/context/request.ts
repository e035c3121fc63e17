import type { DecodedRequest, RequestId } from '../protocol/wire-request.js';

/**
 * The message a handler is working on. Inside an action handler it is the
 * request; inside a `listen` handler it is the broadcast (with no action).
 */
export class Request<P = unknown> {
  /** The action asked for, or null for a broadcast. */
  readonly action: string | null;
  /** The handler's input: the request's `payload`, or the whole broadcast object. */
  readonly payload: P;
  /** Where the response goes, or null (then it goes to `<service>.responses`). */
  readonly replyTo: string | null;
  /** Echoed in every response; null when the request had none. */
  readonly requestId: RequestId | null;
  /** The service the request named, or null. */
  readonly service: string | null;
  /** The channel the message arrived on. */
  readonly channel: string;

  constructor(decoded: DecodedRequest | null, payload: P, channel: string) {
    this.action = decoded?.action ?? null;
    this.payload = payload;
    this.replyTo = decoded?.replyTo ?? null;
    this.requestId = decoded?.requestId ?? null;
    this.service = decoded?.service ?? null;
    this.channel = channel;
  }
}
