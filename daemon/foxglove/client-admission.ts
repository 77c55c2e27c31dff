import wsProtocol from '@foxglove/ws-protocol';
import type { WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import { LogBurst } from '../util/index.ts';

/** The subprotocol of the Foxglove WebSocket protocol (ws-protocol's FoxgloveServer speaks only this one). */
const SUBPROTOCOL = wsProtocol.FoxgloveClient.SUPPORTED_SUBPROTOCOL;
/** Close code for a client refused because the server is full: RFC 6455's 1013, "try again later". */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** How often refusals of one kind are logged, however fast clients retry: one line per interval. */
const LOG_INTERVAL_MS = 10_000;

export type RefusalReason = 'max_clients' | 'subprotocol';

/**
 * Which connections the bridge takes: at most `maxClients` at once (foxglove.max_clients; one more is told
 * why in a status message and closed with 1013, so a lab of laptops or a client's reconnect loop cannot make
 * the robot stream /scan and /map to hundreds of sockets), and only handshakes that offer the Foxglove
 * subprotocol when they offer any (one that offers only others would be accepted with none and fail on
 * the client's side with "Server sent no subprotocol"; it gets 400 saying what the server speaks). A
 * handshake that offers none is taken, as scripts send. Refusals are counted by reason and logged once per
 * burst: a line, then at most one per 10 s with how many were held back.
 */
export class ClientAdmission {
  #maxClients: number;
  #log: Logger;
  #throttle: LogBurst<RefusalReason>;
  #refused: Record<RefusalReason, number> = { max_clients: 0, subprotocol: 0 };

  constructor(options: { maxClients: number; log: Logger; now: () => number }) {
    this.#maxClients = options.maxClients;
    this.#log = options.log;
    this.#throttle = new LogBurst({ intervalMs: LOG_INTERVAL_MS, now: options.now });
  }

  /** Connections refused so far, by reason. */
  get refused(): Readonly<Record<RefusalReason, number>> {
    return this.#refused;
  }

  /** Why a handshake is refused (the 400's reason) for the subprotocols it offers, or undefined. */
  handshake(offered: string | string[] | undefined, client: string): string | undefined {
    const protocols = [offered ?? []]
      .flat()
      .flatMap((header) => header.split(','))
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (protocols.length === 0 || protocols.includes(SUBPROTOCOL)) return undefined;
    const reason = `this is a Foxglove WebSocket server: it speaks subprotocol ${SUBPROTOCOL}, and the client offered only ${protocols.join(', ')}`;
    this.#refuse('subprotocol', { client, offered: protocols }, `foxglove: refused a WebSocket: ${reason}`);
    return reason;
  }

  /**
   * A new connection while `connected` clients are: when the server is full, it is told why, closed with
   * 1013, and true is returned (the caller forgets it); false when there is room.
   */
  full(ws: WebSocket, connected: number, client: string): boolean {
    if (connected < this.#maxClients) return false;
    const max = this.#maxClients;
    ws.on('error', () => {}); // its protocol errors are of no interest: it is closing
    // Before any serverInfo, so a Foxglove app shows it as the connection's problem; the close reason is
    // for any other client (at most 123 bytes).
    const message = `this daemon serves at most ${max} Foxglove client${max === 1 ? '' : 's'} at once and ${connected} are connected: close one, or raise foxglove.max_clients`;
    ws.send(JSON.stringify({ op: 'status', level: wsProtocol.StatusLevel.ERROR, message }));
    ws.close(CLOSE_TRY_AGAIN_LATER, `server full: foxglove.max_clients is ${max}`);
    this.#refuse(
      'max_clients',
      { client, connected, key: 'foxglove.max_clients' },
      `foxglove: refused a client: ${connected} are connected, foxglove.max_clients is ${max}; raise it to let more in`,
    );
    return true;
  }

  #refuse(reason: RefusalReason, fields: Record<string, unknown>, line: string): void {
    this.#refused[reason]++;
    const held = this.#throttle.take(reason);
    if (held !== undefined) this.#log.warn({ ...fields, held_back: held }, line);
  }
}
