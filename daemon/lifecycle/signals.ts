import type { Logger } from 'pino';

export interface SignalHandlers {
  /** SIGTERM/SIGINT: stop gracefully. A second signal while stopping exits at once with code 1. */
  stop: (signal: NodeJS.Signals) => Promise<void>;
  /** SIGHUP: reload the config. */
  reload: () => Promise<void>;
}

/** Installs the daemon's signal handlers. Returns a function that removes them. */
export function installSignalHandlers(handlers: SignalHandlers, log: Logger): () => void {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second stop signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stop requested');
    void handlers.stop(signal);
  };
  let reloading = false;
  let again = false;
  const onHup = (): void => {
    // Reloads are serialized, and a burst of SIGHUPs during one reload leads to one more reload (of the
    // newest file), not one per signal.
    if (reloading) {
      again = true;
      return;
    }
    reloading = true;
    void (async () => {
      do {
        again = false;
        await handlers.reload().catch((error: unknown) => log.error({ err: (error as Error).message }, 'config reload failed'));
      } while (again);
      reloading = false;
    })();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  };
}
