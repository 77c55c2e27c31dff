import type { Bus } from '../bus/index.ts';
import type { MessageCodec } from '../bus/index.ts';
import { nowNs } from '../contract/index.ts';
import { governedTopics, zeroVelocity, type VelocityLimits } from '../policy/index.ts';

const VELOCITY_TYPES = new Set(['geometry_msgs/msg/Twist', 'geometry_msgs/msg/TwistStamped']);

/**
 * The operator's stop reaches every base the daemon governs, not only the one on `policy.velocity.topic`:
 * each other topic the velocity limits govern (`policy.velocity.topics`) that carries a Twist or a
 * TwistStamped on the bus, whoever publishes there (a namespaced base's controller, a bridge, the agent),
 * gets a zero one of its type, so the last command each base holds is zero. Returns the topics zeroed; one
 * that could not be sent to is left out and logged by the caller from `failed`.
 */
export function zeroGovernedTopics(
  bus: Bus,
  codec: MessageCodec,
  limits: VelocityLimits,
): { zeroed: string[]; failed: { topic: string; error: string }[] } {
  const governed = governedTopics(limits);
  const zeroed: string[] = [];
  const failed: { topic: string; error: string }[] = [];
  const stamp = nowNs();
  for (const { topic, type } of bus.stats()) {
    if (topic === limits.topic || !VELOCITY_TYPES.has(type) || !governed(topic)) continue;
    try {
      const publisher = bus.advertise(topic, type, { source: 'stop' });
      publisher.publish(codec.encode(type, zeroVelocity(type, stamp)));
      publisher.close();
      zeroed.push(topic);
    } catch (error) {
      failed.push({ topic, error: (error as Error).message });
    }
  }
  return { zeroed, failed };
}
