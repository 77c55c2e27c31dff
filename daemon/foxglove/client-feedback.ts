import type { IWebSocket, StatusLevel } from '@foxglove/ws-protocol';
import type { Logger } from '../log.ts';
import type { FoxgloveServer } from './protocol-server.ts';
import { Throttle } from './throttle.ts';

/**
 * What one client makes the daemon say: at most 10 status messages a second to it (a flood is not answered
 * in kind), and a log line for its first bad frame, then at most one per 10 s, each with a count of the rest.
 */
const STATUS_BURST = 10;
const STATUS_INTERVAL_MS = 1000;
const LOG_INTERVAL_MS = 10_000;

/**
 * Tells clients what they did wrong (status messages) and logs it, both throttled per client, so a client
 * that repeats a mistake cannot make the daemon send or log more than it does. Call `left` when a client
 * goes, for the count of what was held back.
 */
export class ClientFeedback {
  #server: FoxgloveServer;
  #log: Logger;
  #statusThrottle: Throttle;
  #logThrottle: Throttle;

  constructor(options: { server: FoxgloveServer; log: Logger; now: () => number }) {
    const { server, log, now } = options;
    this.#server = server;
    this.#log = log;
    this.#statusThrottle = new Throttle({ intervalMs: STATUS_INTERVAL_MS, burst: STATUS_BURST, now });
    this.#logThrottle = new Throttle({ intervalMs: LOG_INTERVAL_MS, now });
  }

  /** A refused frame: a status to the client and a log line. */
  report(client: IWebSocket, name: string, level: StatusLevel, problem: string): void {
    this.tell(client, level, problem);
    const held = this.#logThrottle.take(client);
    if (held !== undefined) this.#log.warn({ client: name, problem, ...(held > 0 ? { suppressed: held } : {}) }, 'foxglove client frame refused');
  }

  /** A status to one client, throttled; the first after a pause says how many were held back. */
  tell(client: IWebSocket, level: StatusLevel, message: string): void {
    const held = this.#statusThrottle.take(client);
    if (held === undefined) return;
    const more = held > 0 ? ` (and ${held} more problem${held === 1 ? '' : 's'} not reported since the last status)` : '';
    this.#server.sendStatus({ level, message: `${message}${more}` }, client);
  }

  /** The client left: what its throttles held back is logged, and they forget it. */
  left(client: IWebSocket, name: string): void {
    const held = this.#logThrottle.flush(client);
    if (held > 0) this.#log.warn({ client: name, suppressed: held }, 'foxglove client left; its last refused frames were not logged');
    this.#statusThrottle.flush(client);
  }
}
