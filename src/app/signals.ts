import type { Logger } from 'pino';

/** An app that wants to be closed on SIGINT/SIGTERM. */
interface Closer {
  close: () => Promise<void>;
  log: () => Logger;
}

/** Every app of the process that handles signals; the handlers are installed while it is non-empty. */
const closers = new Set<Closer>();
let closing = false;

function onSignal(signal: NodeJS.Signals): void {
  const all = [...closers];
  const log = (all[0]?.log ?? (() => undefined))();
  if (closing) {
    log?.warn({ signal }, `received ${signal} again: exiting now without waiting`);
    process.exit(1);
  }
  closing = true;
  log?.info({ signal }, `received ${signal}: closing (send it again to exit at once)`);
  // Close every app of the process, then exit: 0 when all closed cleanly.
  void Promise.allSettled(all.map((closer) => closer.close())).then((results) => {
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const { reason } of failed) log?.error({ err: reason }, 'closing failed');
    process.exit(failed.length === 0 ? 0 : 1);
  });
}

/**
 * Closes the app on SIGINT or SIGTERM and exits with status 0 (1 when
 * closing failed). With several apps in one process, one signal closes them
 * all before the process exits. A second signal (SIGINT or SIGTERM) while
 * closing logs a warning and forces exit at once with status 1, abandoning
 * whatever still runs. Returns a function that removes this app's registration.
 */
export function handleShutdownSignals(close: () => Promise<void>, log: () => Logger): () => void {
  const closer: Closer = { close, log };
  if (closers.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  closers.add(closer);
  return () => {
    if (!closers.delete(closer) || closers.size > 0 || closing) return;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
