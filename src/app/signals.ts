import type { Logger } from 'pino';

/**
 * Closes the service on SIGINT or SIGTERM and exits with status 0 (1 when
 * closing failed). A second signal while closing forces exit at once.
 * Returns a function that removes the handlers.
 */
export function handleShutdownSignals(close: () => Promise<void>, log: () => Logger): () => void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      log().warn({ signal }, `received ${signal} again: exiting now without waiting`);
      process.exit(1);
    }
    closing = true;
    log().info({ signal }, `received ${signal}: closing (send it again to exit at once)`);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log().error({ err }, 'closing failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
