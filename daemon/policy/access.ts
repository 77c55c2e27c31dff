import { compileTopicSelection } from '../bus/index.ts';
import type { AgentPolicySettings as PolicySettings } from '../config/index.ts';
import type { PolicyDecision, PolicyHook } from '../contract/index.ts';
import { field } from './tool-inputs.ts';
import { ALLOW } from './chain.ts';

type Access = { allow: string[]; deny: string[] };

type Check = (name: string) => PolicyDecision<never> | undefined;

/** allow/deny globs: `deny` wins; a name must match some `allow`. Names the list that decided. */
function compile(kind: 'topics' | 'services' | 'skills', lists: Access): Check {
  const denied = compileTopicSelection(lists.deny);
  const allowed = compileTopicSelection(lists.allow);
  return (name) => {
    if (lists.deny.length > 0 && denied(name))
      return { action: 'deny', rule: `${kind}.deny`, reason: `${name} matches policy.${kind}.deny` };
    if (!allowed(name))
      return { action: 'deny', rule: `${kind}.allow`, reason: `${name} is not in policy.${kind}.allow` };
    return undefined;
  };
}

/**
 * Allowlists and denylists of skills, topics and services. A skill is checked when an intent names it and
 * on every tool call; topics and services on the tools that touch them.
 */
export function accessHook(policy: Pick<PolicySettings, 'topics' | 'services' | 'skills'>): PolicyHook {
  const skills = compile('skills', policy.skills);
  const topics = compile('topics', policy.topics);
  const services = compile('services', policy.services);
  return {
    name: 'access',
    onIntent(intent) {
      if (intent.type === 'natural_language') return ALLOW;
      return skills(intent.type) ?? ALLOW;
    },
    beforeToolCall(ctx, input) {
      const skill = skills(ctx.tool);
      if (skill) return skill;
      if (ctx.tool === 'read_topic' || ctx.tool === 'publish') {
        const topic = field<string>(input, 'topic') ?? '';
        return topics(topic) ?? ALLOW;
      }
      if (ctx.tool === 'call_service') return services(field<string>(input, 'name') ?? '') ?? ALLOW;
      return ALLOW;
    },
  };
}
