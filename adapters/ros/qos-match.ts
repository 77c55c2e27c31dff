import type { TopicQos } from '../../daemon/bus/index.ts';
import type { RosTopicEndpoint } from './ros-graph.ts';

/**
 * The policy by which ROS 2 refuses to match a subscription requesting `requested` with a publisher offering
 * `offered` (rmw's request-versus-offer rules, for the policies the bridge sets), or undefined where they match.
 */
export function incompatiblePolicy(requested: TopicQos, offered: TopicQos): 'reliability' | 'durability' | undefined {
  if (requested.reliability === 'reliable' && offered.reliability === 'best_effort') return 'reliability';
  if (requested.durability === 'transient_local' && offered.durability === 'volatile') return 'durability';
  return undefined;
}

/**
 * What to tell the operator about the publishers of `topic` that the daemon's subscription (`requested`) cannot
 * hear, or undefined when it hears them all. ROS 2 refuses such a match silently on the subscriber's side (rclcpp
 * only logs it), so without this a topic with a publisher simply never reaches the bus.
 */
export function unheardPublishers(options: {
  topic: string;
  requested: TopicQos;
  publishers: readonly RosTopicEndpoint[];
}): string | undefined {
  const { topic, requested, publishers } = options;
  const policies = new Set<'reliability' | 'durability'>();
  const unheard = publishers.flatMap((p) => {
    const policy = incompatiblePolicy(requested, p.qos);
    if (policy === undefined) return [];
    policies.add(policy);
    return [`${p.node} offers ${p.qos[policy]}`];
  });
  if (unheard.length === 0) return undefined;
  const fix = [...policies].map((p) => (p === 'reliability' ? 'reliability: best_effort' : 'durability: volatile'));
  return (
    `ROS topic ${topic}: ${unheard.join(', ')}, and the daemon's subscription requests ${requested.reliability} ` +
    `${requested.durability}: ROS 2 delivers none of those messages (incompatible QoS: ${[...policies].join(', ')}). ` +
    `Set ${fix.join(', ')} in ros.topic_qos["${topic}"] (ros.qos auto adapts only to the publishers there when ` +
    'the topic is first bridged)'
  );
}
