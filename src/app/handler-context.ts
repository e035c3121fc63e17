import type { Logger } from 'pino';
import type { AppHandle } from '../context/app-handle.js';
import type { Request } from '../context/request.js';
import type { Response } from '../context/response.js';
import type { MessageContext } from '../context/store.js';

/** The second argument of an action handler (the same objects as the `request`, `response` and `logger` globals). */
export interface ActionContext<P = unknown> {
  readonly request: Request<P>;
  readonly response: Response;
  /** The service's logger, bound to this action. */
  readonly logger: Logger;
  /** Aborts when the service starts to close. */
  readonly signal: AbortSignal;
}

/** The second argument of a `listen` handler. */
export interface ListenContext<P = unknown> {
  readonly request: Request<P>;
  /** The channel the broadcast arrived on. */
  readonly channel: string;
  /** The service's logger, bound to this channel. */
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * One handler call's context: what `AsyncLocalStorage` carries and what the
 * handler receives. The logger child is made only if the handler logs.
 */
export class HandlerCall implements MessageContext, ActionContext, ListenContext {
  readonly kind: 'action' | 'listen';
  readonly app: AppHandle;
  readonly request: Request;
  readonly #response: Response | null;
  #logger: Logger | null = null;

  constructor(
    kind: 'action' | 'listen',
    app: AppHandle,
    request: Request,
    response: Response | null,
  ) {
    this.kind = kind;
    this.app = app;
    this.request = request;
    this.#response = response;
  }

  get response(): Response {
    return this.#response as Response;
  }

  get channel(): string {
    return this.request.channel;
  }

  get signal(): AbortSignal {
    return this.app.shutdownSignal;
  }

  get logger(): Logger {
    this.#logger ??=
      this.kind === 'action'
        ? this.app.log.child({ action: this.request.action, request_id: this.request.requestId })
        : this.app.log.child({ channel: this.request.channel });
    return this.#logger;
  }
}
