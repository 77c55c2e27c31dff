import type { OffLoopZero } from '../contract/index.ts';
import type { SchedulingRequest } from '../util/index.ts';
import type { ApiGate } from './gate.ts';

/** What the stop listener's thread is started with (structured-cloned; the line's buffer is shared). */
export interface HaltListenerData {
  /** The daemon's stop line (HaltLine's buffer). */
  line: SharedArrayBuffer;
  host: string;
  port: number;
  /** The API's own gate (auth.ts's apiGate, checked on the daemon's thread). */
  gate: ApiGate;
  /** The API's own URL, named in what the listener answers to anything but POST /stop; its page's port is its own. */
  apiUrl: string;
  /** The off-loop zero commands set when it starts (RobotHaltAuthority.setOffLoopZero), by name. */
  zeros: [string, OffLoopZero][];
  /** The daemon's log level: lines below it are not even sent. */
  logLevel: string;
  /** The thread's own scheduling (motion.stop.scheduling, stop_rt_priority, stop_nice), set before it listens. */
  scheduling: SchedulingRequest;
  /**
   * MCP's /mcp relayed to the API's (with `mcp.enabled`): `pass` is what the API's gateway takes as the listener's word
   * that a body's stop calls were taken here, `bodyLimit` the API's own (api.body_limit_bytes).
   */
  mcp?: { pass: string; bodyLimit: number };
}

/** A stop tool call of an MCP session that the listener's thread took: its session and JSON-RPC id. */
export interface McpHaltCall {
  session: string;
  call: string | number;
}

/** From the daemon's thread to the listener's. */
export type ToListener =
  | { type: 'zeros'; zeros: [string, OffLoopZero][] }
  /** The daemon's full report of the stop `id` (what the API's POST /stop answers: its status and body). */
  | { type: 'report'; id: number; status: number; body: unknown }
  /** The MCP stop `id` is kept for its call's answer: its request may go on to the API's /mcp. */
  | { type: 'taken'; id: number }
  | { type: 'close' };

/** From the listener's thread to the daemon's. */
export type FromListener =
  /** `scheduling`: what the thread runs with (as the kernel reports it, why not when refused); `tid`: its Linux id. */
  | {
      type: 'listening';
      address: string;
      family: string;
      port: number;
      scheduling: string;
      refused: boolean;
      tid: number;
    }
  | { type: 'failed'; message: string; code?: string }
  /** The thread left real time for a flood (`demoted`), or came back to it. */
  | { type: 'scheduling'; scheduling: string; demoted: boolean; demotions: number }
  /** A stop came in: its line is counted already; the main thread takes the rest (`report`: and answers with it). */
  | {
      type: 'stop';
      id: number;
      by: string;
      reason: string | null;
      at: string;
      report: boolean;
      /** A stop tool call on the listener's /mcp: the main thread answers `taken` once the MCP gateway holds it. */
      mcp?: McpHaltCall;
    }
  /** What the stop `id`'s zero commands did, once each answered (or its wait ran out). */
  | { type: 'zeroed'; id: number; zeroed: string[]; failed: Record<string, string> }
  /** A pino JSON line of the thread's logger. */
  | { type: 'log'; line: string }
  | { type: 'closed' };
