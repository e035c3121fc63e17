import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { Logger } from 'pino';
import type { AppHandle } from './app-handle.js';
import type { Request } from './request.js';
import type { Response } from './response.js';

/** The context of one action or listen handler call. */
export interface MessageContext {
  readonly kind: 'action' | 'listen';
  readonly app: AppHandle;
  readonly request: Request;
  /** Null in a `listen` handler: a broadcast has nobody to answer. */
  readonly response: Response | null;
  /** The app's logger bound to this action or channel. */
  readonly logger: Logger;
}

/** The context of one background task run. */
export interface TaskContext {
  readonly kind: 'task';
  readonly app: AppHandle;
  readonly taskName: string;
  /** The app's logger bound to this task. */
  readonly logger: Logger;
}

/** What `AsyncLocalStorage` carries through a handler or task, however many run at once. */
export type Context = MessageContext | TaskContext;

/** The one store behind `request`, `response`, `logger` and friends. */
export const contextStorage = new AsyncLocalStorage<Context>();

/** The context of the code running now, if any. */
export function currentContext(): Context | undefined {
  return contextStorage.getStore();
}

/**
 * Switches `AsyncLocalStorage` on before the first handler or task needs it.
 * Its first `run` loads Node's promise hooks, about a millisecond of work
 * that would otherwise land on the first run of the first scheduled batch.
 */
export function prepareContextStorage(): void {
  contextStorage.run(PREPARING, () => undefined);
}

const PREPARING = {} as Context;

/**
 * An async resource of its own, with no context, for code that enters one
 * context after another (`enterWith`): a scheduler's timer turn. Inside
 * `scope.runInAsyncScope(fn)`, entering a context changes this resource
 * only, not the timer or immediate that called it; and it is the same
 * object for every turn, so the code that reads and writes its context
 * stays optimized (a timer's and an immediate's objects differ in shape, and
 * the code was thrown away and compiled again whenever a pass came from the
 * other). Its owner ends it with `emitDestroy()`.
 */
export function contextFreeScope(type: string): AsyncResource {
  return contextStorage.exit(() => new AsyncResource(type, { requireManualDestroy: true }));
}
