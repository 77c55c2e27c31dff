import type { Logger } from 'pino';
import { errorText } from '../util/index.ts';

export interface SignalHandlers {
  /**
   * SIGTERM/SIGINT: stop gracefully. A second one while stopping is logged and changes nothing (the stop is
   * bounded by its budget anyway); a third exits at once with code 1, without flushing.
   */
  stop: (signal: NodeJS.Signals) => Promise<void>;
  /** SIGHUP: reload the config. */
  reload: () => Promise<void>;
}

export interface SignalOptions {
  /** A SIGHUP came before the handlers were installed (see deferSighup): reload once now. */
  hupPending?: boolean;
}

/**
 * Keeps a SIGHUP from killing the process (its default action) until installSignalHandlers takes over, and
 * records whether one came. Returns a function that removes the guard and says whether a SIGHUP came.
 */
export function deferSighup(): () => boolean {
  let came = false;
  const onHup = (): void => void (came = true);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGHUP', onHup);
    return came;
  };
}

/**
 * Installs the daemon's signal handlers. Returns a function that removes them. Stop signals count together
 * (SIGINT then SIGTERM is two): the first stops, the second is logged, the third exits at once (as dockerd).
 */
export function installSignalHandlers(handlers: SignalHandlers, log: Logger, options: SignalOptions = {}): () => void {
  const { hupPending = false } = options;
  let stopSignals = 0;
  const onStop = (signal: NodeJS.Signals): void => {
    stopSignals++;
    if (stopSignals >= 3) {
      log.error(
        { signal },
        `stop signal ${stopSignals}: exiting now, without flushing (a bag being recorded needs \`auraison-edge bag repair\`)`,
      );
      process.exit(1);
    }
    if (stopSignals > 1) {
      // ros2 launch and a terminal's Ctrl-C both send SIGINT, and launch follows with SIGTERM: exiting on
      // the second would leave the bag being recorded unclosed. The stop is bounded by its budget anyway.
      log.warn(
        { signal },
        'already stopping (it ends within its budget); one more stop signal exits at once, without flushing',
      );
      return;
    }
    log.info({ signal }, 'stop requested');
    void handlers.stop(signal);
  };
  let reloading = false;
  let again = false;
  const onHup = (): void => {
    if (stopSignals > 0) {
      log.warn('SIGHUP ignored: the daemon is stopping; start it again to use the config file as it is now');
      return;
    }
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
        await handlers.reload().catch((error: unknown) => log.error({ err: errorText(error) }, 'config reload failed'));
      } while (again && stopSignals === 0);
      reloading = false;
    })();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  if (hupPending) onHup();
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  };
}
