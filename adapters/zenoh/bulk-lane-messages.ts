import type { PublisherOptions } from '@eclipse-zenoh/zenoh-ts';
import type { LinkState, ZenohLink } from './zenoh-link.ts';
import type { StatusFigures } from '../../daemon/contract/index.ts';

/** The session's settings, as ZenohLinkOptions without what cannot cross threads (the logger, callbacks). */
export interface BulkLaneLinkSettings {
  endpoint: string;
  openTimeoutMs?: number;
  responseTimeoutMs?: number;
  keepaliveMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface BulkLaneWorkerData {
  link: BulkLaneLinkSettings;
  /** The daemon's log level: lines below it are not even sent. */
  logLevel: string;
}

/** zenoh-ts publisher options as plain data: the encoding by name (an Encoding instance loses its class). */
export type WirePublisherOptions = Omit<PublisherOptions, 'encoding'> & { encoding?: string };

/** A zenoh-ts Timestamp as plain data. */
export interface WireTimestamp {
  zid: Uint8Array;
  ntp64: bigint;
}

export type LinkCounters = ZenohLink['counters'];

/** From the daemon's thread to the lane's. */
export type ToLane =
  | { type: 'declare'; id: number; key: string; options: WirePublisherOptions }
  | { type: 'undeclare'; id: number }
  /**
   * `payload`'s buffer is transferred (the daemon's thread copied it once and no longer holds it), or, where it is a
   * SharedArrayBuffer (a sample a lane's thread received), shared: nobody writes it again.
   */
  | { type: 'put'; id: number; seq: number; payload: Uint8Array; attachment?: Uint8Array; timestamp?: WireTimestamp }
  /** A subscriber on the lane's session; a sample over `maxBytes` comes as a notice without its bytes. */
  | { type: 'subscribe'; id: number; key: string; maxBytes: number }
  | { type: 'unsubscribe'; id: number }
  | { type: 'close' };

/**
 * A sample the lane's thread received: its bytes in a SharedArrayBuffer the thread filled (the daemon's thread
 * neither decodes nor copies them), or none where it was over the subscriber's maxBytes.
 */
export interface LaneSample {
  size: number;
  payload?: Uint8Array;
  attachment?: Uint8Array;
  /** The sample's HLC timestamp (`<zid>/<ntp64>`), where it has one. */
  stamp?: string;
}

/** From the lane's thread to the daemon's. */
export type FromLane =
  | { type: 'state'; state: LinkState; reason?: string }
  /** A session is up with every publisher declared on it (ZenohLink.onUp). */
  | { type: 'up' }
  | { type: 'put'; seq: number; ok: boolean }
  | ({ type: 'sample'; id: number } & LaneSample)
  | { type: 'details'; details: StatusFigures; counters: LinkCounters; unhandled: number }
  /** A pino JSON line of the lane's logger. */
  | { type: 'log'; line: string }
  | { type: 'closed' };
