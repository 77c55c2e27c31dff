import type { MessageCodec } from '../bus/index.ts';
import type { MotionGuard } from './guard.ts';
import type { RelayGuard, RelayedVelocityCounters } from './relayed-command.ts';

/**
 * The sources whose messages are already framed before they reach the bus: the stop's own hold (`stop`), a control
 * loop (`control:<loop>`, framed in its thread: limits, the latch's safe action), the agent's skills and a Foxglove
 * client (`agent`, `foxglove:<client>`, through the guard's hooks: the latch is judged again here, as it may have
 * latched since). Everything else that reaches a door to the robot (`bag-play`, a relay from another graph, anything
 * new) is judged here by every stage.
 */
function heldBefore(source: string): 'own' | 'hooked' | undefined {
  if (source === 'stop' || source.startsWith('control:')) return 'own';
  if (source === 'agent' || source.startsWith('foxglove:')) return 'hooked';
  return undefined;
}

export interface CommandGuardCounters extends RelayedVelocityCounters {
  /** Joint commands (and other commands but Twists) held back or rewritten by the limits at this door. */
  limited?: number;
}

/**
 * The motion guard at a door to the robot (a bridge's publisher of a bus topic into the robot's graph), for one topic
 * and type: undefined for a topic motion.non_actuating declares. While the operator's stop is latched nothing but a
 * stop is sent on a command topic, whatever its type (the daemon's own frame, the stop's hold and a loop's safe
 * action, passes); a command from a source no guard judged before the bus (`bag play`, a relay) is held to the limits
 * here: a Twist's velocities, a joint command's positions, steps and rates. Decodes a message only while latched or
 * when a limit reads its type.
 */
export function commandGuard(options: {
  topic: string;
  type: string;
  codec: MessageCodec;
  guard: MotionGuard;
  counters: CommandGuardCounters;
  /** What runs before this frame (a relay's velocity limits), if anything. */
  inner?: RelayGuard;
}): RelayGuard | undefined {
  const { topic, type, codec, guard, counters, inner } = options;
  let plan = guard.plan(topic, type);
  let version = guard.version;
  if (!plan.command) return inner;
  return (data, source = '') => {
    const framed = heldBefore(source);
    if (framed === 'own') return data;
    // The relay's own frame first: a moving Twist it sends as zero while latched is a stop here.
    const out = inner ? inner(data, source) : data;
    if (out === undefined) return undefined;
    const latched = guard.latched();
    if (guard.version !== version) [plan, version] = [guard.plan(topic, type), guard.version]; // a reload
    if (latched === undefined && (framed === 'hooked' || !plan.limited)) return out;
    let fields: unknown;
    try {
      fields = codec.decode(type, out);
    } catch {
      // Not the type's CDR: the robot's middleware refuses it, and it names no joint.
      if (latched === undefined) return out;
      return held(counters, `${latched} (a ${type} the frame cannot read, on ${topic})`);
    }
    const decision = guard.decide('publish', { topic, type, fields }, framed === 'hooked' ? 'latch' : 'all');
    if (decision.action === 'allow') return out;
    if (decision.action === 'deny')
      return held(counters, decision.rule === 'stop_latch' ? decision.reason : `${decision.reason} (on ${topic})`, {
        limited: decision.rule !== 'stop_latch',
      });
    if (decision.rule.startsWith('velocity')) counters.clamped++;
    else counters.limited = (counters.limited ?? 0) + 1;
    return codec.encode(type, (decision.value as { fields: unknown }).fields);
  };
}

function held(counters: CommandGuardCounters, why: string, options: { limited?: boolean } = {}): undefined {
  if (options.limited) counters.limited = (counters.limited ?? 0) + 1;
  counters.held++;
  counters.lastHeld = why;
  return undefined;
}
