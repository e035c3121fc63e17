import { DaebusError, type DaebusErrorCode, errorMessage } from '../errors/daebus-error.js';
import { responsesChannel } from '../protocol/names.js';
import { encodeResponse } from '../protocol/wire-response.js';
import type { AppHandle } from './app-handle.js';
import type { Request } from './request.js';

/** Options of {@link Response.send}. */
export interface SendOptions {
  /**
   * `false` for a progress or partial message: more follow. The last message
   * of a request is final.
   * @default true
   */
  final?: boolean;
}

/** Options of {@link Response.error}. */
export interface ErrorOptions {
  /**
   * The stable code sent with the error. A `DaebusError`'s own code is used
   * when none is given.
   * @default 'HANDLER_ERROR'
   */
  code?: DaebusErrorCode | string;
}

/**
 * Answers the request a handler is working on. Any number of non-final
 * messages may precede exactly one final message; sends after the final one
 * are ignored with a warning.
 */
export class Response {
  readonly #app: AppHandle;
  readonly #request: Request;
  #finished = false;

  constructor(app: AppHandle, request: Request) {
    this.#app = app;
    this.#request = request;
  }

  /** True once the final message has been sent. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The channel responses go to: `reply_to`, or `<service>.responses`. */
  get channel(): string {
    return this.#request.replyTo ?? responsesChannel(this.#app.service);
  }

  /**
   * Sends a success message; `{ final: false }` streams a progress message.
   * Throws a `DaebusError` (`HANDLER_ERROR`) when the payload cannot be encoded
   * as JSON. The returned promise settles when the message is published; a
   * publish failure is also logged, so it is never lost when not awaited.
   *
   * @example
   * response.send({ progress: 50 }, { final: false });
   * return response.send({ done: true });
   */
  send(payload: unknown, options?: SendOptions): Promise<void> {
    const final = options?.final ?? true;
    return this.#publish('success', payload, final);
  }

  /**
   * Sends the final error message: `{"error": message, "code": code}`.
   *
   * @example
   * return response.error('Task not found', { code: 'TASK_NOT_FOUND' });
   */
  error(err: unknown, options?: ErrorOptions): Promise<void> {
    const code = options?.code ?? (err instanceof DaebusError ? err.code : 'HANDLER_ERROR');
    return this.#publish('error', { error: errorMessage(err), code }, true);
  }

  #publish(status: 'success' | 'error', payload: unknown, final: boolean): Promise<void> {
    if (this.#finished) {
      this.#app.log.warn(
        { action: this.#request.action, request_id: this.#request.requestId },
        `response to "${this.#request.action}" already finished; a later ${status} message was dropped`,
      );
      return Promise.resolve();
    }
    const message = encodeResponse(status, payload, this.#request.requestId, final);
    if (final) this.#finished = true;
    const published = this.#app.publish(this.channel, message).then(() => undefined);
    published.catch((err: unknown) => {
      this.#app.log.error(
        { action: this.#request.action, request_id: this.#request.requestId, err },
        `could not send the response to "${this.#request.action}": ${errorMessage(err)}`,
      );
    });
    return published;
  }
}
