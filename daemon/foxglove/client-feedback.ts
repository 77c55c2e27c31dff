import type { IWebSocket, StatusLevel } from '@foxglove/ws-protocol';
import type { Logger } from '../log.ts';
import { StatusLevel as Levels, type FoxgloveServer } from './protocol-server.ts';
import { LogBurst } from '../util/index.ts';

/**
 * What one client makes the daemon say: at most 10 status messages a second to it of the daemon's own
 * (a flood is not answered in kind), as many of the protocol library's own (its answers to a subscribe or
 * unsubscribe it ignores), and a log line for its first bad frame, then at most one per 10 s, each with a
 * count of the rest.
 */
const STATUS_BURST = 10;
const STATUS_INTERVAL_MS = 1000;
const LOG_INTERVAL_MS = 10_000;
/** A summary's timer is set this much past the second: a timer may fire a millisecond early by performance.now. */
const SUMMARY_SLACK_MS = 5;

/**
 * Tells clients what they did wrong (status messages) and logs it, both throttled per client, so a client
 * that repeats a mistake cannot make the daemon send or log more than it does. The protocol library sends
 * statuses of its own straight to the socket (one per unknown id of an unsubscribe, per refused item of a
 * subscribe); the socket hands each to `pass`, which throttles them the same way. What a throttle held back
 * is told with the client's next status, or, when none comes, in a summary status once its second is over
 * (a timer, one for all clients, runs while anything is held). Call `left` when a client
 * goes, for the count of what was held back: the throttles forget it then, and it is told nothing more (its
 * socket is closed), so a status due after it left (a policy hook that decided late) does not make them
 * hold it again: what they hold stays bounded by the clients connected.
 */
export class ClientFeedback {
  #server: FoxgloveServer;
  #log: Logger;
  #statusThrottle: LogBurst<IWebSocket>;
  #protocolThrottle: LogBurst<IWebSocket>;
  #logThrottle: LogBurst<IWebSocket>;
  /** Clients that left: what comes for them later is dropped, not held. */
  #left = new WeakSet<IWebSocket>();
  /**
   * Set while the daemon hands a status of its own to the server (`tell`, a summary), so that `pass` lets it through.
   */
  #telling = false;
  #onSuppressed: () => void;
  #now: () => number;
  /** The summary timer, while one is due; #armedAt: the clock when it was set. */
  #timer: NodeJS.Timeout | undefined;
  #armedAt = 0;
  #closed = false;

  /** `onSuppressed`: told of each status message the throttles hold back. */
  constructor(options: { server: FoxgloveServer; log: Logger; now: () => number; onSuppressed?: () => void }) {
    const { server, log, now, onSuppressed = () => {} } = options;
    this.#server = server;
    this.#onSuppressed = onSuppressed;
    this.#log = log;
    this.#now = now;
    this.#statusThrottle = new LogBurst({ intervalMs: STATUS_INTERVAL_MS, burst: STATUS_BURST, now });
    this.#protocolThrottle = new LogBurst({ intervalMs: STATUS_INTERVAL_MS, burst: STATUS_BURST, now });
    this.#logThrottle = new LogBurst({ intervalMs: LOG_INTERVAL_MS, now });
  }

  /** A refused frame: a status to the client and a log line. */
  report(client: IWebSocket, name: string, level: StatusLevel, problem: string): void {
    if (this.#left.has(client)) return;
    this.tell(client, level, problem);
    const held = this.#logThrottle.take(client);
    if (held !== undefined)
      this.#log.warn(
        { client: name, problem, ...(held > 0 ? { suppressed: held } : {}) },
        'foxglove client frame refused',
      );
  }

  /** A status to one client, throttled; the first after a pause says how many were held back. */
  tell(client: IWebSocket, level: StatusLevel, message: string): void {
    if (this.#left.has(client)) return;
    const held = this.#statusThrottle.take(client);
    if (held === undefined) {
      this.#heldBack();
      return;
    }
    this.#send(client, level, `${message}${heldBack(held, 'problem', 'not reported since the last status')}`);
  }

  /**
   * A status frame (ws-protocol JSON) on its way to `client`: the frame to send, or undefined to drop it.
   * The daemon's own (from `tell`) pass as they are; the protocol library's are throttled, and the first
   * after a pause says how many were held back.
   */
  pass(client: IWebSocket, frame: string): string | undefined {
    if (this.#telling) return frame;
    if (this.#left.has(client)) return undefined;
    const held = this.#protocolThrottle.take(client);
    if (held === undefined) {
      this.#heldBack();
      return undefined;
    }
    if (held === 0) return frame;
    const status = JSON.parse(frame) as { message?: unknown };
    return JSON.stringify({
      ...status,
      message: `${String(status.message)}${heldBack(held, 'status message', `held back since the last one, at most ${STATUS_BURST} a second`)}`,
    });
  }

  /** The client left: what its throttles held back is logged, and they forget it. */
  left(client: IWebSocket, name: string): void {
    this.#left.add(client);
    const held = this.#logThrottle.flush(client);
    if (held > 0)
      this.#log.warn(
        { client: name, suppressed: held },
        'foxglove client left; its last refused frames were not logged',
      );
    this.#statusThrottle.flush(client);
    this.#protocolThrottle.flush(client);
  }

  /** No more summaries (the bridge stopped). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** What the throttles hold: an entry per client and kind that has not left (0 once all have). */
  get held(): number {
    return this.#statusThrottle.size + this.#protocolThrottle.size + this.#logThrottle.size;
  }

  /** A status of the daemon's own to one client, past `pass`. */
  #send(client: IWebSocket, level: StatusLevel, message: string): void {
    this.#telling = true;
    try {
      this.#server.sendStatus({ level, message }, client);
    } finally {
      this.#telling = false;
    }
  }

  /** A status was held back: counted, and a summary is due once its second is over. */
  #heldBack(): void {
    this.#onSuppressed();
    if (this.#timer !== undefined || this.#closed) return;
    this.#armedAt = this.#now();
    this.#timer = setTimeout(() => this.#summarize(), STATUS_INTERVAL_MS + SUMMARY_SLACK_MS);
    this.#timer.unref();
  }

  /**
   * Each client whose throttle window is over with statuses held back is told how many, in one status, and
   * the throttle forgets it (its next status passes, with no count: this one told it). A client that keeps
   * erring gets its next status at the start of a window instead, with the count, as before. The timer
   * runs again while a window still holds some; not when the clock stood still since it was set (a clock
   * stepped by hand, in tests): then the next status held back sets it again.
   */
  #summarize(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    for (const [client, held] of this.#statusThrottle.due()) {
      this.#statusThrottle.flush(client);
      this.#send(
        client,
        Levels.WARNING,
        `${held} more problem${held === 1 ? '' : 's'} not reported since the last status (at most ${STATUS_BURST} a second)`,
      );
    }
    for (const [client, held] of this.#protocolThrottle.due()) {
      this.#protocolThrottle.flush(client);
      this.#send(
        client,
        Levels.WARNING,
        `${held} more status message${held === 1 ? '' : 's'} held back since the last one (at most ${STATUS_BURST} a second)`,
      );
    }
    const holding = this.#statusThrottle.holding() || this.#protocolThrottle.holding();
    if (holding && this.#now() !== this.#armedAt) {
      this.#armedAt = this.#now();
      this.#timer = setTimeout(() => this.#summarize(), STATUS_INTERVAL_MS + SUMMARY_SLACK_MS);
      this.#timer.unref();
    }
  }
}

function heldBack(held: number, what: string, why: string): string {
  return held > 0 ? ` (and ${held} more ${what}${held === 1 ? '' : 's'} ${why})` : '';
}
