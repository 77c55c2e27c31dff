import type { EdgeConfig } from '../config/index.ts';
import { errorText, type ValidationIssue } from '../util/index.ts';
import { JointFrame, loadUrdfLimits, type JointLimits, type JointsSettings } from '../motion/index.ts';
import { compileLoopCommand, planLoop, type LoopPlan } from './control/loop-plan.ts';
import { policyNormalizers } from './normalization.ts';
import { policyModelInfo } from './remote/remote-spec.ts';
import { resolvePolicySpec, type PolicySpec } from './policy-spec.ts';

/**
 * What starting the policies and control components would refuse, found without starting them, so a config that can
 * never run is a config error (exit 2) and not a component the supervisor retries for ever. Each policy a component
 * loads (served, or run by a loop) goes through what PolicyRunner.open does short of the session: its model's graph
 * read, its manifest resolved against it, its normalization statistics read; each loop is planned on its policy and
 * its command compiled, as its worker does. Every issue names the key to fix; a policy's first problem hides the rest
 * of it, as at its start.
 */
export function policyStartIssues(config: Pick<EdgeConfig, 'policies' | 'control' | 'motion'>): ValidationIssue[] {
  const { policies, control } = config;
  const arms = armChecker(config.motion.joints);
  const loops = Object.entries(control.loops);
  const loaded = new Set([
    ...Object.entries(policies)
      .filter(([, p]) => p.serve && !p.remote)
      .map(([name]) => name),
    ...loops.map(([, loop]) => loop.policy),
  ]);
  const issues: ValidationIssue[] = [];
  const specs = new Map<string, PolicySpec>();
  for (const name of loaded) {
    const settings = policies[name];
    if (!settings) continue; // a loop's policy that is not there: system1Issues names it
    try {
      const spec = resolvePolicySpec(name, settings, policyModelInfo(name, settings));
      policyNormalizers(spec);
      specs.set(name, spec);
    } catch (error) {
      issues.push(keyedIssue(error, `policies.${name}.model`));
    }
  }
  for (const [name, loop] of loops) {
    const spec = specs.get(loop.policy);
    if (!spec) continue; // its policy's own issue says why
    try {
      const plan = planLoop(name, loop, spec);
      compileLoopCommand(loop.policy, plan);
      issues.push(...arms(loop.policy, plan));
    } catch (error) {
      issues.push(keyedIssue(error, `control.loops.${name}`));
    }
  }
  return issues;
}

/**
 * A loop's joint command against motion.joints: each joint it names must be one the URDF file has (a
 * robot_description's limits are known only once it arrives), and a forward controller's topic that
 * motion.joints.topics lists must be commanded with those joints, in that order.
 */
function armChecker(joints: JointsSettings | undefined): (policy: string, plan: LoopPlan) => ValidationIssue[] {
  if (!joints) return () => [];
  let limits: JointLimits | undefined;
  try {
    if (joints.urdf !== undefined) limits = loadUrdfLimits(joints.urdf, joints.limits);
  } catch {
    // jointStartIssues names a URDF that cannot be used
  }
  return (policy, plan) => {
    const { command, name } = plan.output;
    if (!command || command.type === 'geometry_msgs/msg/Twist') return [];
    const at = `policies.${policy}.outputs.${name}.command`;
    const listed = joints.topics[command.topic];
    if (listed && listed.join() !== command.joint_names.join())
      return [
        {
          path: `${at}.joint_names`,
          message: `${command.topic} commands ${listed.join(', ')} (motion.joints.topics), in that order: name them so (${command.joint_names.length > 0 ? `not ${command.joint_names.join(', ')}` : 'none named'})`,
        },
      ];
    if (!limits || !plan.arm) return [];
    try {
      JointFrame.compile(plan.arm.joints, limits, joints, `${at}.joint_names`);
      return [];
    } catch (error) {
      return [keyedIssue(error, `${at}.joint_names`)];
    }
  };
}

/** A config key path leading a start's error (`policies.p.inputs.obs: ...`, `control.loops.l.safe_action has ...`). */
const KEY_FIRST = /^((?:policies|control)\.\S+?):?\s([\s\S]*)$/;

/**
 * An error of a start as a config issue: the components' errors lead with the key they are about, which becomes its
 * path; one about no key (the model file's reader's) is put at `otherwise`.
 */
function keyedIssue(error: unknown, otherwise: string): ValidationIssue {
  const message = errorText(error);
  const keyed = KEY_FIRST.exec(message);
  return keyed ? { path: keyed[1]!, message: keyed[2]! } : { path: otherwise, message };
}
