import { describe, expect, it } from 'vitest';
import type { GraphEndpoint } from '../../bus/index.ts';
import { CommandListeners } from './command-listeners.ts';

const endpoint = (kind: GraphEndpoint['kind'], name: string, local = false): GraphEndpoint => ({
  source: 'ros',
  kind,
  node: local ? '/auraison_edge' : '/controller_manager',
  name,
  type: 'trajectory_msgs/msg/JointTrajectory',
  id: `${kind}${name}${local}`,
  local,
});
const TOPIC = '/arm_controller/joint_trajectory';

describe("a loop's command listeners", () => {
  it('says the commands go nowhere when the graph has other nodes and none subscribes the topic', () => {
    const graph = { endpoints: () => [endpoint('publisher', TOPIC, true), endpoint('publisher', '/joint_states')] };
    const listeners = new CommandListeners(graph, TOPIC, 'trajectory_msgs/msg/JointTrajectory', 0);
    expect(listeners.unheard(1000)).toBeUndefined(); // discovery takes a few seconds
    expect(listeners.unheard(6000)).toMatch(
      /^no node subscribes \/arm_controller\/joint_trajectory \(trajectory_msgs\/msg\/JointTrajectory\): is its controller loaded/,
    );
  });

  it('is heard once a node outside the daemon subscribes, and asks nothing with no graph of other nodes', () => {
    const heard = { endpoints: () => [endpoint('subscriber', TOPIC), endpoint('publisher', TOPIC, true)] };
    expect(new CommandListeners(heard, TOPIC, 't', 0).unheard(6000)).toBeUndefined();
    const alone = { endpoints: () => [endpoint('publisher', TOPIC, true)] };
    expect(new CommandListeners(alone, TOPIC, 't', 0).unheard(6000)).toBeUndefined();
    // Not published to the graph: for the daemon's own simulator on the bus.
    const own = { endpoints: () => [endpoint('publisher', '/joint_states')] };
    expect(new CommandListeners(own, TOPIC, 't', 0).unheard(6000)).toBeUndefined();
  });
});
