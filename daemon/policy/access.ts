import { compileTopicSelection } from '../bus/index.ts';
import type { AgentRulesSettings } from '../config/index.ts';
import type { PolicyDecision, PolicyHook } from '../contract/index.ts';
import { field } from '../motion/index.ts';
import { ALLOW } from '../contract/index.ts';

type Access = { allow: string[]; deny: string[] };

type Check = (name: string) => PolicyDecision<never> | undefined;

/** allow/deny globs: `deny` wins; a name must match some `allow`. Names the list that decided. */
function compile(kind: 'topics' | 'services' | 'skills' | 'actions', lists: Access): Check {
  const denied = compileTopicSelection(lists.deny);
  const allowed = compileTopicSelection(lists.allow);
  return (name) => {
    if (lists.deny.length > 0 && denied(name))
      return { action: 'deny', rule: `${kind}.deny`, reason: `${name} matches agent.rules.${kind}.deny` };
    if (!allowed(name))
      return { action: 'deny', rule: `${kind}.allow`, reason: `${name} is not in agent.rules.${kind}.allow` };
    return undefined;
  };
}

/** An action's own services: its goals go through call_action, where agent.rules.actions and the geofence apply. */
const ACTION_SERVICE = /\/_action\//;

/**
 * Allowlists and denylists of skills, topics, services and actions. A skill is checked when an intent names it
 * and on every tool call; topics, services and actions on the tools that touch them.
 */
export function accessHook(rules: Pick<AgentRulesSettings, 'topics' | 'services' | 'skills' | 'actions'>): PolicyHook {
  const skills = compile('skills', rules.skills);
  const topics = compile('topics', rules.topics);
  const services = compile('services', rules.services);
  const actions = compile('actions', rules.actions);
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
      if (ctx.tool === 'call_service') {
        const name = field<string>(input, 'name') ?? '';
        if (ACTION_SERVICE.test(name))
          return {
            action: 'deny',
            rule: 'services.action',
            reason: `${name} is an action's own service: send its goals with call_action (agent.rules.actions, the geofence)`,
          };
        return services(name) ?? ALLOW;
      }
      if (ctx.tool === 'call_action') return actions(field<string>(input, 'name') ?? '') ?? ALLOW;
      return ALLOW;
    },
  };
}
