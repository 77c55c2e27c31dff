import { compileTopicGlob } from '../bus/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { ValidationIssue } from '../util/index.ts';

/** The schema's robot.id, for the sim. */
const DEFAULT_ROBOT_ID = 'sim-robot';

/**
 * What a valid config leaves a robot on a ROS 2 or Zenoh graph without, as far as the file alone tells: its own name,
 * and a topic the robot's description or a control loop reads that no bridge brings onto the bus (ros.topics,
 * zenoh.topics). `config check` warns of each and still passes: a node inside the daemon (a relay, a Foxglove client)
 * may publish it, which the file does not say. With the sim on, or no bridge on, nothing is warned of.
 */
export function configWarnings(config: EdgeConfig): ValidationIssue[] {
  if (config.sim.enabled || (!config.ros.enabled && !config.zenoh.enabled)) return [];
  const bridges = [
    ...(config.ros.enabled ? config.ros.topics : []),
    ...(config.zenoh.enabled ? config.zenoh.topics : []),
  ].map(compileTopicGlob);
  const bridged = (topic: string) => bridges.some((matches) => matches(topic));
  const where = config.ros.enabled ? 'ros.topics' : 'zenoh.topics';
  const warnings: ValidationIssue[] = [];
  // The sim's id on a robot's graph: its status page, lakehouse partitions and central topics would all say sim-robot.
  if (config.robot.id === DEFAULT_ROBOT_ID)
    warnings.push({
      path: 'robot.id',
      message: `${DEFAULT_ROBOT_ID} is the simulator's default id: name this robot (robot: {id: arm-1}), as its status page, lakehouse partitions and central topics show it`,
    });
  const description = config.motion.joints?.robot_description;
  if (description !== undefined && !bridged(description))
    warnings.push({
      path: 'motion.joints.robot_description',
      message: `${description} is not bridged onto the bus: no joint limits come, and joint commands are refused (the loops wait for it, then fail); add ${description} to ${where}, or give motion.joints.urdf`,
    });
  for (const [name, loop] of Object.entries(config.control.loops)) {
    if (loop.episodes !== undefined && !bridged(loop.episodes))
      warnings.push({
        path: `control.loops.${name}.episodes`,
        message: `${loop.episodes} is not bridged onto the bus: loop ${name} would never hear an episode begin, and would run each episode on with the last one's plan; add ${loop.episodes} to ${where}`,
      });
    const policy = config.policies[loop.policy];
    if (!policy) continue; // the check across keys says so
    for (const [input, i] of Object.entries(policy.inputs)) {
      const topics = [
        ...(i.image?.topic !== undefined ? [{ topic: i.image.topic, path: `${input}.image.topic` }] : []),
        ...i.sources.flatMap((s, k) =>
          s.topic !== undefined ? [{ topic: s.topic, path: `${input}.sources[${k}].topic` }] : [],
        ),
      ];
      for (const { topic, path } of topics)
        if (!bridged(topic))
          warnings.push({
            path: `policies.${loop.policy}.inputs.${path}`,
            message: `${topic} is not bridged onto the bus: loop ${name} would see nothing there and send only its safe action (blind); add ${topic} to ${where}`,
          });
    }
  }
  return warnings;
}
