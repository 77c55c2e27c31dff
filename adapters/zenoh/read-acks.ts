/** What ReadAcks watches of a session's socket (SessionSocket). */
export interface ReadSocket {
  onRead(listener: () => void): void;
  bytesWritten(): number | undefined;
}

/**
 * The key of the message that carries an ACK: a verbatim chunk (`@...`), which no wildcard subscription matches, and
 * put with `allowedDestination: SESSION_LOCAL`, so the bridge's session for this client keeps it to itself.
 */
export const READ_ACK_KEY = '@auraison/read-ack';

/**
 * Acknowledges at once what a session reads while one of its queries is open (or at every read, where `open` says so),
 * by sending the bridge a message that goes nowhere (`ack`: an empty put on READ_ACK_KEY that the bridge's session
 * keeps to itself, no answer, no log).
 *
 * Why: zenoh-plugin-remote-api 1.10.1 leaves Nagle on for its WebSockets, so after one small frame to the daemon it
 * holds every next one until that frame is ACKed; and Linux delays the ACK of a socket that also sends (40 ms), unless
 * data going out carries it. A server answering a query with several frames (rcl_action's cancel: status CANCELING,
 * cancel_goal's reply, status CANCELED, get_result's reply, the finals) had all but the first one reach the daemon
 * 40 ms late. Node cannot set TCP_QUICKACK; a message sent after the read carries the ACK, and the bridge sends what it
 * held at once. The WebSocket's own no-op, an unsolicited pong, is logged by the plugin as an error per frame; a ping
 * or a request is answered, and its answer is one more frame held behind the unacknowledged one. A session that serves
 * a query is held the same way: a query that comes within 40 ms of a frame it read and did not answer (a keepalive's
 * answer) waits for that ACK.
 *
 * At most one ack a turn of the event loop, and none where something went out since the read (a request, a put, the
 * final of a query served): that carried the ACK already. Each session's socket gets its own ReadAcks.
 */
export class ReadAcks {
  #open: () => boolean;
  #ack: () => void;
  #socket: ReadSocket;
  #scheduled = false;
  /** The socket's bytes written at the last read: the ACK is cumulative, so the last read is the one to answer. */
  #writtenAtRead: number | undefined;

  constructor(options: {
    socket: ReadSocket;
    /**
     * Whether a read now is acknowledged: while a query of the session is open (from its send to its final), whose
     * replies may be held; always on a session serving a query that must not wait (ZenohLinkOptions.ackEveryRead).
     */
    open: () => boolean;
    /** Sends the message that carries the ACK. */
    ack: () => void;
  }) {
    const { socket, open, ack } = options;
    this.#socket = socket;
    this.#open = open;
    this.#ack = ack;
    socket.onRead(() => this.#onRead());
  }

  #onRead(): void {
    if (!this.#open()) return;
    this.#writtenAtRead = this.#socket.bytesWritten();
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the messages read this turn and what handling them sent (zenoh-ts sends within the turn).
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#open() || this.#socket.bytesWritten() !== this.#writtenAtRead) return;
      this.#ack();
    });
  }
}
