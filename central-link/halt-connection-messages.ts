import type { SchedulingRequest } from '../daemon/util/index.ts';
import type { MqttConnectionOptions } from './mqtt-connection.ts';

/**
 * What the stop connection's thread is started with (structured-cloned; the line's buffer is shared): the robot's
 * stop login for a username (stopLogin), never the link's client certificate.
 */
export interface HaltConnectionData extends Pick<
  MqttConnectionOptions,
  | 'url'
  | 'clientId'
  | 'username'
  | 'password'
  | 'ca'
  | 'keepaliveS'
  | 'connectTimeoutMs'
  | 'reconnectMinMs'
  | 'reconnectMaxMs'
> {
  /** The daemon's stop line (HaltLine's buffer). */
  line: SharedArrayBuffer;
  /** Which path marks each of central's stops on the line (halt-claims.ts), shared with the link. */
  claims: SharedArrayBuffer;
  /** The robot's intents topic: the one topic it subscribes to. */
  topic: string;
  fleet: string;
  robot: string;
  /** central.command_keys as the file gives them (parsed in the thread). */
  keys: string[];
  /** The link's counter file: read at start, never written here. */
  counterPath: string;
  maxIntentBytes: number;
  scheduling: SchedulingRequest;
  logLevel: string;
}

/** The connection's state, as status shows it. */
export type HaltConnectionState = {
  state: 'connecting' | 'connected' | 'offline';
  connects: number;
  last_error?: string;
  reconnect_delay_ms?: number;
};

/** From the daemon's thread to the stop connection's. */
export type ToHaltConnection =
  /** A counter the link took: this thread refuses it from now on (the link's stop already acted). */
  { type: 'seen'; counter: string } | { type: 'close' };

/** From the stop connection's thread to the daemon's. */
export type FromHaltConnection =
  /** Central's stop, verified: the line is marked; the main thread takes the rest. `at`: ns since the epoch. */
  | { type: 'stop'; counter: string; intentId: string | null; payload: Uint8Array; at: string }
  | { type: 'state'; connection: HaltConnectionState }
  /** A stop-looking message the signature check refused, by its reason (the link refuses and acks it too). */
  | { type: 'refused'; code: string }
  | { type: 'scheduling'; scheduling: string }
  | { type: 'log'; line: string }
  | { type: 'closed' };
