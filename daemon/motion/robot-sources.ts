import type { Bus, RobotGraph } from '../bus/index.ts';

/**
 * The bus sources that are the robot: what the adapters bring in from its graph (`ros`, `zenoh`, the second link's
 * `zenoh_second`) and the built-in simulator. Every other source is a door a client came in by (the agent, a
 * Foxglove client or `topic pub`, MCP, central, `bag play`, a control loop): its messages are never the robot's
 * measurement nor its description, whatever topic they are on.
 */
export const ROBOT_SOURCES: ReadonlySet<string> = new Set(['ros', 'zenoh', 'zenoh_second', 'sim']);

export function isRobotSource(source: string): boolean {
  return ROBOT_SOURCES.has(source);
}

/**
 * Reserves the robot's own topics on the bus (what it measures, what it is) for the robot's sources: a door's
 * publisher there is refused with `why`, which names the key that would allow it. Returns what lifts them.
 */
export function reserveRobotTopics(
  bus: Pick<Bus, 'reserve'>,
  topics: readonly { topic: string; key: string; what: string }[],
): () => void {
  const lifts = topics.map(({ topic, key, what }) =>
    bus.reserve(topic, {
      allows: isRobotSource,
      why: `${topic} is ${what}, which only the robot publishes (${key}); a client may not, so that no one can move what the daemon takes for the robot`,
    }),
  );
  return () => {
    for (const lift of lifts) lift();
  };
}

/**
 * Why what the graph says of `topic`'s publishers makes it no measurement: more than one node publishes it and the
 * config names none (`named` empty), or a node the config does not name publishes it. Undefined when it is one source.
 */
export function ambiguousPublishers(
  graph: Pick<RobotGraph, 'endpoints'>,
  topic: string,
  named: readonly string[],
  key: string,
): string | undefined {
  const nodes = [
    ...new Set(
      graph
        .endpoints({ name: topic, kind: 'publisher' })
        .filter((e) => !e.local)
        // A publisher whose node the graph cannot name (its node info not yet heard, or no ROS node at all) is one
        // source of its own: two such would otherwise read as one node.
        .map((e) => (e.node.includes('_NODE_NAME_UNKNOWN_') ? `${e.node} (${e.id})` : e.node)),
    ),
  ].sort();
  if (named.length === 0)
    return nodes.length > 1
      ? `${nodes.length} nodes publish ${topic} (${nodes.join(', ')}): which is the robot is ambiguous; name its publisher in ${key}`
      : undefined;
  const strangers = nodes.filter((n) => !named.includes(n));
  return strangers.length > 0
    ? `${strangers.join(', ')} also publish${strangers.length === 1 ? 'es' : ''} ${topic}, and ${key} names only ${named.join(', ')}: the measurement is ambiguous`
    : undefined;
}

/**
 * Why a message on the robot's state topic is no measurement: it came from a client door, or the graph shows other
 * publishers of the topic than the robot's. Undefined for a message on any other topic, and for the robot's own.
 */
export function distrustedState(
  measured: { readonly topic: string; ambiguity(): string | undefined },
  msg: { readonly topic: string; readonly source: string },
): string | undefined {
  if (msg.topic !== measured.topic) return undefined;
  if (!isRobotSource(msg.source))
    return `${msg.topic} from ${msg.source} is no measurement: only the robot says where it is`;
  return measured.ambiguity();
}
