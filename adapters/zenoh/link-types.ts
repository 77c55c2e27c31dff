import type { Logger } from 'pino';
import type { Sample, Timestamp } from '@eclipse-zenoh/zenoh-ts';

export type LinkState = 'connecting' | 'up' | 'down' | 'closed';

export interface ZenohLinkOptions {
  /** The remote-api WebSocket: `ws://127.0.0.1:10000` or zenoh's `ws/127.0.0.1:10000`. */
  endpoint: string;
  openTimeoutMs?: number;
  /** How long zenoh-ts waits for the bridge's answer to a request (a declaration, a keepalive). */
  responseTimeoutMs?: number;
  keepaliveMs?: number;
  /**
   * Skips the keepalive while callbacks run (samples, replies): for a session that carries samples in and sends
   * nothing else. A request on the socket makes Linux delay its ACKs by 40 ms, and the remote-api bridge, which
   * leaves Nagle on, holds every sample behind an unacknowledged one until then; what comes in proves the link
   * alive, and a quiet link is asked as any other.
   */
  keepaliveWhenQuiet?: boolean;
  /**
   * Acknowledges every read at once (ReadAcks), not only while a get is open: for a session that serves a query that
   * must not wait (the stop listener's agent/stop). The remote-api bridge holds a query behind any frame of its that
   * is not yet acknowledged (a keepalive's answer), and Linux delays that ACK by up to 40 ms on a socket that sends
   * nothing meanwhile.
   */
  ackEveryRead?: boolean;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  log: Logger;
  /** Called on every change of state, with the reason when the link is down. */
  onState?: (state: LinkState, reason?: string) => void;
}

export interface Handle {
  close(): Promise<void>;
}

export interface LinkPublisher extends Handle {
  readonly key: string;
  /** False when the sample could not be handed to the link (down, or the send failed): the caller counts it. */
  put(payload: Uint8Array, attachment?: Uint8Array, timestamp?: Timestamp): Promise<boolean>;
}

export interface GetOptions {
  payload?: Uint8Array;
  encoding?: string;
  attachment?: Uint8Array;
  timeoutMs: number;
  /** All complete queryables (rmw_zenoh's service calls) instead of the best matching one. */
  allComplete?: boolean;
  /**
   * Resolve at the first reply, not at the query's final: the remote-api bridge writes the final as a frame of its
   * own on a socket with Nagle on, which holds it until the reply is acknowledged, and Linux delays that ACK by up
   * to 40 ms. For a call that takes one answer (a service's, an action's).
   */
  firstReply?: boolean;
  /**
   * Resolve at the first reply that is no error, the errors before it included; with none, at the final as without.
   * For a key that glob queryables of several nodes cover, where those that do not serve the name answer an error.
   */
  firstOk?: boolean;
}

export type GetReply = { ok: true; sample: Sample } | { ok: false; payload: Uint8Array; encoding: string };
