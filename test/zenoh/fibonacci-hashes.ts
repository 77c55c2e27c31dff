import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';

const TYPE = 'test_msgs/action/Fibonacci';

/**
 * The RIHS01 hashes of test_msgs/action/Fibonacci's hidden services and topics, by their rmw_zenoh names: the
 * `hashes` the Python action peers (test/peers/zenoh/action_server.py, action_client.py) key and announce them with.
 */
export function fibonacciHashes(definitions: Parameters<typeof typeDescriptionHash>[0]): Record<string, string> {
  const hash = (type: string) => typeDescriptionHash(definitions, type)!;
  return {
    send_goal: hash(`${TYPE}_SendGoal`),
    cancel_goal: hash('action_msgs/srv/CancelGoal'),
    get_result: hash(`${TYPE}_GetResult`),
    feedback: hash(`${TYPE}_FeedbackMessage`),
    status: hash('action_msgs/msg/GoalStatusArray'),
  };
}
