import type { IWebSocket } from '@foxglove/ws-protocol';
import type { WebSocket } from 'ws';

/** Opcode of a message-data frame from the server (ws-protocol's BinaryOpcode.MESSAGE_DATA). */
const MESSAGE_DATA = 1;
/** How FoxgloveServer serializes a status message (JSON.stringify of `{op: 'status', ...}`). */
const STATUS_PREFIX = '{"op":"status"';

export interface GuardedSocketOptions {
  /** Unsent bytes past which message data for this client is dropped. */
  maxBufferedBytes: number;
  onDrop: () => void;
  /** Whether the protocol server gets a client frame at all (false: it is dropped here, before the hooks below). */
  admit?: (data: unknown) => boolean;
  /** Called with each client frame (text or binary) before the protocol server handles it. */
  beforeMessage?: (data: unknown) => void;
  /** Called with each client frame after the protocol server handled it (or threw on it). */
  afterMessage?: (data: unknown) => void;
  onClose?: () => void;
  /** Each status frame on its way to the client: the frame to send instead, or undefined to send none (a throttle). */
  passStatus?: (frame: string) => string | undefined;
}

/**
 * A `ws` socket as the FoxgloveServer sees it, with a guard: message data for a client whose unsent bytes
 * exceed the limit is dropped (and counted) instead of queued, so a slow viewer never grows the daemon's
 * memory. Status messages are dropped the same way, and go through `passStatus` first (a throttle); other
 * control messages (advertise) always go through. A client frame `admit` refuses never reaches the server.
 * `send` takes one argument on purpose: FoxgloveServer then sends each message as one frame, which can be
 * dropped whole.
 */
export class GuardedSocket implements IWebSocket {
  #ws: WebSocket;
  readonly #admit: ((data: unknown) => boolean) | undefined;
  readonly #beforeMessage: ((data: unknown) => void) | undefined;
  readonly #afterMessage: ((data: unknown) => void) | undefined;
  readonly #passStatus: ((frame: string) => string | undefined) | undefined;
  readonly #maxBufferedBytes: number;
  readonly #onDrop: () => void;
  constructor(ws: WebSocket, options: GuardedSocketOptions) {
    this.#ws = ws;
    const { admit, beforeMessage, afterMessage, passStatus, maxBufferedBytes, onDrop } = options;
    this.#admit = admit;
    this.#beforeMessage = beforeMessage;
    this.#afterMessage = afterMessage;
    this.#passStatus = passStatus;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#onDrop = onDrop;
    ws.on('close', () => options.onClose?.());
  }

  get binaryType(): string {
    return this.#ws.binaryType;
  }
  set binaryType(value: string) {
    this.#ws.binaryType = value as WebSocket['binaryType'];
  }
  get protocol(): string {
    return this.#ws.protocol;
  }
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  set onerror(handler: ((event: unknown) => void) | null | undefined) {
    this.#ws.onerror = handler ?? null;
  }
  get onerror(): null {
    return null;
  }
  set onopen(handler: ((event: unknown) => void) | null | undefined) {
    this.#ws.onopen = handler ?? null;
  }
  get onopen(): null {
    return null;
  }
  set onclose(handler: ((event: unknown) => void) | null | undefined) {
    this.#ws.onclose = handler ?? null;
  }
  get onclose(): null {
    return null;
  }
  set onmessage(handler: ((event: { data: unknown }) => void) | null | undefined) {
    if (!handler) {
      this.#ws.onmessage = null;
      return;
    }
    this.#ws.onmessage = (event) => {
      if (this.#admit?.(event.data) === false) return;
      this.#beforeMessage?.(event.data);
      try {
        handler(event);
      } finally {
        this.#afterMessage?.(event.data);
      }
    };
  }
  get onmessage(): null {
    return null;
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#passStatus && typeof data === 'string' && data.startsWith(STATUS_PREFIX)) {
      const passed = this.#passStatus(data);
      if (passed === undefined) return;
      data = passed;
    }
    if (droppable(data) && this.#ws.bufferedAmount > this.#maxBufferedBytes) {
      this.#onDrop();
      return;
    }
    this.#ws.send(data);
  }

  close(): void {
    this.#ws.close();
  }
}

/**
 * Message data, and status messages: a client earns a status per message it publishes (a denial), so a
 * client that sends without reading would otherwise grow its send buffer with them.
 */
function droppable(data: string | ArrayBuffer | ArrayBufferView): boolean {
  return typeof data === 'string' ? data.startsWith(STATUS_PREFIX) : firstByte(data) === MESSAGE_DATA;
}

function firstByte(data: ArrayBuffer | ArrayBufferView): number | undefined {
  if (data instanceof ArrayBuffer) return data.byteLength > 0 ? new Uint8Array(data, 0, 1)[0] : undefined;
  return data.byteLength > 0 ? new Uint8Array(data.buffer, data.byteOffset, 1)[0] : undefined;
}
