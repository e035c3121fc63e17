import { DaebusError } from '../errors/daebus-error.js';
import type { AppHandle } from './app-handle.js';
import { currentContext } from './store.js';

/** Every app of this process between `run()` and `close()`. */
const running = new Set<AppHandle>();

export function registerRunningApp(app: AppHandle): void {
  running.add(app);
}

export function unregisterRunningApp(app: AppHandle): void {
  running.delete(app);
}

/**
 * The app that code running now belongs to: the one whose handler or task
 * this is, else the only running app of the process. `what` names the global
 * that asked, for the error message.
 */
export function currentApp(what: string): AppHandle {
  const context = currentContext();
  if (context !== undefined) return context.app;
  if (running.size === 1) return running.values().next().value as AppHandle;
  if (running.size === 0) {
    throw new DaebusError(
      'NOT_RUNNING',
      `${what} needs a running Daebus app: call it after \`await app.run(...)\`, or inside a handler or task`,
    );
  }
  throw new DaebusError(
    'NO_CONTEXT',
    `${what} was used outside any handler or task while ${running.size} apps run in this process; ` +
      'use it inside a handler or task so Daebus knows which app you mean',
  );
}

/** The only running app, or undefined (for the default logger). */
export function soleRunningApp(): AppHandle | undefined {
  return running.size === 1 ? (running.values().next().value as AppHandle) : undefined;
}
