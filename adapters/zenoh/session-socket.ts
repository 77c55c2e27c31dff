import type { Session } from '@eclipse-zenoh/zenoh-ts';

interface WsLike {
  addEventListener?: (event: string, listener: (event: unknown) => void) => void;
  /** ws's TCP socket (Node 20's WebSocket is the `ws` package's, zenoh-runtime.ts). */
  _socket?: { bytesRead?: number; bytesWritten?: number };
}

/**
 * What the link watches of a zenoh-ts session's WebSocket, which zenoh-ts 1.10 keeps in a private field and only
 * logs the close of: its close (a router that goes away is seen at once, not at the next keepalive), why it closed,
 * how many bytes came in, which tells a socket busy with a large message from a dead one, and each message read with
 * how many bytes went out, which tells whether a read was answered (ReadAcks).
 */
export class SessionSocket {
  #ws: WsLike | undefined;
  #tooLarge = false;

  constructor(session: Session) {
    this.#ws = (session as unknown as { inner?: { link?: { ws?: WsLike } } }).inner?.link?.ws;
    // ws refuses a message past its maxPayload with this error, then closes the socket itself (1009).
    this.#ws?.addEventListener?.('error', (event) => {
      const code = (event as { error?: { code?: unknown } }).error?.code;
      if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#tooLarge = true;
    });
  }

  /** Calls `listener` when the socket closes, saying whether a message too large to read closed it. */
  onClose(listener: (tooLarge: boolean) => void): void {
    this.#ws?.addEventListener?.('close', () => listener(this.#tooLarge));
  }

  /** Calls `listener` after each message read from the bridge. */
  onRead(listener: () => void): void {
    this.#ws?.addEventListener?.('message', () => listener());
  }

  /** Bytes written so far, those still queued included; undefined where the socket does not say. */
  bytesWritten(): number | undefined {
    return this.#ws?._socket?.bytesWritten;
  }

  /** Bytes read so far; undefined where the socket does not say (another WebSocket than ws's). */
  bytesRead(): number | undefined {
    return this.#ws?._socket?.bytesRead;
  }
}
