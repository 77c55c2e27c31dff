import type { Publisher } from '../bus/index.ts';
import type { Intent, RunState } from '../contract/index.ts';
import { field, fullTwist, TWIST, TWIST_STAMPED } from '../motion/index.ts';
import { newId, nowNs, TokenBucket } from '../util/index.ts';
import type { ClientMessageReader } from './client-message-reader.ts';

/** A channel a client advertised and the gate took: its bus publisher and its stop timer. */
export interface ClientChannel {
  id: number;
  topic: string;
  type: string;
  encoding: 'cdr' | 'json';
  reader: ClientMessageReader;
  publisher: Publisher;
  /** Set while the last command published on the channel moves the robot: it publishes a stop if no other comes. */
  deadman: NodeJS.Timeout | undefined;
}

/** Why the gate published a stop on a client's behalf. */
export type StopReason = 'disconnected' | 'unadvertised' | 'silent' | 'operator';

/** A client message that decoded as its channel's type, on its way to the hooks. */
export interface ClientMessage {
  readonly channel: ClientChannel;
  readonly bytes: Uint8Array;
  readonly fields: unknown;
  /** A zero Twist: never refused by a limit. */
  readonly stop: boolean;
}

/** A client as the hooks see it (an Intent `teleop` and its RunState), with its rate and its channels. */
export interface Session {
  name: string;
  intent: Intent;
  run: RunState;
  calls: number;
  rate: TokenBucket;
  channels: Map<number, ClientChannel>;
}

/** A new client's session: its own teleop Intent and run, and a rate of `maxRateHz` messages a second. */
export function newSession(name: string, maxRateHz: number, now: () => number): Session {
  const created = nowNs().toString();
  const intent: Intent = {
    intent_id: newId(),
    type: 'teleop',
    params: { client: name },
    policy_ctx: { actor: `foxglove:${name}`, source: 'internal' },
    targets: [],
    created_at: created,
  };
  const run: RunState = {
    run_id: newId(),
    intent_id: intent.intent_id,
    tree_ref: 'foxglove/teleop',
    status: 'running',
    created_at: created,
    updated_at: created,
  };
  return { name, intent, run, calls: 0, rate: new TokenBucket({ ratePerS: maxRateHz, now }), channels: new Map() };
}

/** Whether the type is one whose last command can leave the robot moving (a Twist or TwistStamped). */
export function isTwist(type: string): boolean {
  return type === TWIST || type === TWIST_STAMPED;
}

/** A zero Twist (or TwistStamped), missing components counted as 0 as they are encoded: the operator's stop. */
export function isStop(type: string, fields: unknown): boolean {
  if (!isTwist(type)) return false;
  const { linear, angular } = fullTwist(type === TWIST ? fields : field(fields, 'twist'));
  return linear.x === 0 && linear.y === 0 && linear.z === 0 && angular.x === 0 && angular.y === 0 && angular.z === 0;
}

/** A stop as the channel's type: every field 0, a TwistStamped stamped now. */
export function stopFields(type: string): unknown {
  if (type !== TWIST_STAMPED) return {};
  const ns = nowNs();
  return { header: { stamp: { sec: Number(ns / 1_000_000_000n), nanosec: Number(ns % 1_000_000_000n) } } };
}
