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
  /** `payload`'s buffer is transferred: the daemon's thread copied it once and no longer holds it. */
  | { type: 'put'; id: number; seq: number; payload: Uint8Array; attachment?: Uint8Array; timestamp?: WireTimestamp }
  | { type: 'close' };

/** From the lane's thread to the daemon's. */
export type FromLane =
  | { type: 'state'; state: LinkState; reason?: string }
  /** A session is up with every publisher declared on it (ZenohLink.onUp). */
  | { type: 'up' }
  | { type: 'put'; seq: number; ok: boolean }
  | { type: 'details'; details: StatusFigures; counters: LinkCounters; unhandled: number }
  /** A pino JSON line of the lane's logger. */
  | { type: 'log'; line: string }
  | { type: 'closed' };
