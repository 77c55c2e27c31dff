import { listActions } from './actions/index.ts';
import type { Bus, RobotGraph } from './bus/index.ts';
import type { DaemonStatus } from './lifecycle/index.ts';

/** The bus's part of the daemon's status: its topics, subscribers, queryables and actions, and the robot's graph. */
export function busStatus(
  bus: Bus,
  graph: RobotGraph,
): Pick<DaemonStatus, 'topics' | 'subscribers' | 'queryables' | 'actions' | 'graph'> {
  return {
    topics: bus.stats().map((t) => ({
      topic: t.topic,
      type: t.type,
      count: t.count,
      bytes: t.bytes,
      rate_hz: Math.round(t.rateHz * 100) / 100,
      drops: t.drops,
      publishers: t.publishers,
      subscribers: t.subscribers,
      sources: t.sources,
      qos: t.qos,
    })),
    subscribers: bus.subscriptions().map((s) => ({
      name: s.name,
      topics: [...s.topics],
      policy: s.queue.policy,
      depth: s.queue.depth,
      ...s.counters,
      errors: s.errors,
    })),
    queryables: bus.queryables(),
    actions: listActions(bus, graph.endpoints()),
    graph: { nodes: graph.nodes(), endpoints: graph.endpoints() },
  };
}
