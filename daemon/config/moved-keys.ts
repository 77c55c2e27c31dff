import type { ValidationIssue } from '../util/index.ts';

/**
 * Keys that moved, by their old path: the motion gate's limits and the stop's doors went to `motion`, the agent's
 * rules to `agent.rules`, and `policy` names models alone (`policies`). A config that still has one is refused with
 * the key's new place rather than the schema's "unknown key".
 */
const MOVED: Readonly<Record<string, string>> = {
  'policy.velocity': 'motion.velocity',
  'policy.geofence': 'motion.geofence',
  'policy.joints': 'motion.joints',
  'policy.non_actuating': 'motion.non_actuating',
  'policy.topics': 'agent.rules.topics',
  'policy.services': 'agent.rules.services',
  'policy.skills': 'agent.rules.skills',
  'policy.actions': 'agent.rules.actions',
  'policy.approval': 'agent.rules.approval',
  'policy.quotas': 'agent.rules.quotas',
  'policy.injection': 'agent.rules.injection',
  'agent.stop_latch': 'motion.stop.latch',
  'api.stop_port': 'motion.stop.port',
  'api.stop_listener': 'motion.stop.listener',
  'api.stop_scheduling': 'motion.stop.scheduling',
  'api.stop_rt_priority': 'motion.stop.rt_priority',
  'api.stop_nice': 'motion.stop.nice',
  'central.stop_connection': 'motion.stop.central_connection',
  'ros.stop_service': 'motion.stop.ros_service',
};

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** One issue per moved key the config has, at its old path, naming its new one. */
export function movedKeyIssues(raw: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [section, value] of Object.entries(raw)) {
    if (!isMapping(value)) continue;
    for (const key of Object.keys(value)) {
      const path = `${section}.${key}`;
      const to = MOVED[path];
      if (to !== undefined) issues.push({ path, message: `moved: write it as ${to}` });
    }
  }
  const policy = raw['policy'];
  if (policy !== undefined && (!isMapping(policy) || Object.keys(policy).some((k) => !(`policy.${k}` in MOVED))))
    issues.push({
      path: 'policy',
      message:
        'no longer a section: its keys moved to motion (velocity, geofence, joints, non_actuating) and agent.rules (topics, services, skills, actions, approval, quotas, injection); a model is one of `policies`',
    });
  return issues;
}

/**
 * Whether the schema's issue is about a key movedKeyIssues already names: its old path, under it, or the section it
 * left that the schema no longer knows (`policy`).
 */
export function isMovedKeyIssue(issue: ValidationIssue, moved: readonly ValidationIssue[]): boolean {
  return moved.some(
    (m) =>
      issue.path === m.path ||
      issue.path.startsWith(`${m.path}.`) ||
      (m.path.startsWith(`${issue.path}.`) && issue.message.startsWith('unknown key')),
  );
}
