import { compileTopicGlob } from '../bus/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { ValidationIssue } from '../util/index.ts';

/**
 * What a valid config leaves a robot without, as far as the file alone tells: a topic the robot's description or a
 * control loop reads that no bridge brings onto the bus (ros.topics, zenoh.topics). `config check` warns of each and
 * still passes: a node inside the daemon (a relay, a Foxglove client, the sim) may publish it, which the file does not
 * say. With the sim on, its own topics are on the bus, and nothing is warned of.
 */
export function configWarnings(config: EdgeConfig): ValidationIssue[] {
  if (config.sim.enabled) return [];
  const bridges = [
    ...(config.ros.enabled ? config.ros.topics.map((glob) => ({ glob, key: 'ros.topics' })) : []),
    ...(config.zenoh.enabled ? config.zenoh.topics.map((glob) => ({ glob, key: 'zenoh.topics' })) : []),
  ].map(({ glob, key }) => ({ matches: compileTopicGlob(glob), key }));
  const bridged = (topic: string) => bridges.some((b) => b.matches(topic));
  const where = config.ros.enabled ? 'ros.topics' : config.zenoh.enabled ? 'zenoh.topics' : 'ros.topics (ros.enabled)';
  const warnings: ValidationIssue[] = [];
  const description = config.policy.joints?.robot_description;
  if (description !== undefined && !bridged(description))
    warnings.push({
      path: 'policy.joints.robot_description',
      message: `${description} is not bridged onto the bus: no joint limits come, and joint commands are refused (the loops wait for it, then fail); add ${description} to ${where}, or give policy.joints.urdf`,
    });
  for (const [name, loop] of Object.entries(config.control.loops)) {
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
