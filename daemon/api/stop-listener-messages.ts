import type { OffLoopZero } from '../contract/index.ts';
import type { ApiGate } from './gate.ts';

/** What the stop listener's thread is started with (structured-cloned; the line's buffer is shared). */
export interface StopListenerData {
  /** The daemon's stop line (StopLine's buffer). */
  line: SharedArrayBuffer;
  host: string;
  port: number;
  /** The API's own gate (auth.ts's apiGate, checked on the daemon's thread). */
  gate: ApiGate;
  /** The API's own URL, named in what the listener answers to anything but POST /stop. */
  apiUrl: string;
  /** The off-loop zero commands set when it starts (RobotStopAuthority.setOffLoopZero), by name. */
  zeros: [string, OffLoopZero][];
  /** The daemon's log level: lines below it are not even sent. */
  logLevel: string;
}

/** From the daemon's thread to the listener's. */
export type ToListener = { type: 'zeros'; zeros: [string, OffLoopZero][] } | { type: 'close' };

/** From the listener's thread to the daemon's. */
export type FromListener =
  | { type: 'listening'; address: string; family: string; port: number }
  | { type: 'failed'; message: string; code?: string }
  /** A stop came in: its line is counted already; the main thread takes the rest. */
  | { type: 'stop'; id: number; by: string; reason: string | null; at: string }
  /** What the stop `id`'s zero commands did, once each answered (or its wait ran out). */
  | { type: 'zeroed'; id: number; zeroed: string[]; failed: Record<string, string> }
  /** A pino JSON line of the thread's logger. */
  | { type: 'log'; line: string }
  | { type: 'closed' };
