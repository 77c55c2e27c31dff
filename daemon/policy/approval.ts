import type { AgentRulesSettings, SkillName } from '../config/index.ts';
import type { Intent } from '../contract/index.ts';

/** Read-only skills: they never need approval, even after a suspected injection. */
const READ_ONLY = new Set<string>(['read_topic', 'stop']);

export interface ApprovalRuleInput {
  tool: string;
  intent: Intent;
  /** Skills config says always need approval (agent.require_approval). */
  requireApproval: ReadonlySet<SkillName>;
  /** The run has read a tool result flagged as a possible injection. */
  tainted: boolean;
  onSuspect: AgentRulesSettings['injection']['on_suspect'];
}

/**
 * Whether a tool call must wait for a person, and the rule that says so: the skill is configured to need
 * approval, the intent asked for approval of every acting call, or the run read something that tried to
 * steer the model and the call would act on the robot.
 */
export function approvalRequirement(input: ApprovalRuleInput): { rule: string; reason: string } | undefined {
  const { tool, intent, requireApproval, tainted, onSuspect } = input;
  if (requireApproval.has(tool as SkillName))
    return { rule: 'skill.requires_approval', reason: `${tool} is in agent.require_approval` };
  if (READ_ONLY.has(tool)) return undefined;
  if (intent.policy_ctx.requires_approval)
    return { rule: 'intent.requires_approval', reason: `the intent asks for approval of every acting call (${tool})` };
  if (tainted && onSuspect === 'require_approval') {
    return {
      rule: 'injection.taint',
      reason: `${tool} would act after the run read a result that looked like an injection (agent.rules.injection.on_suspect)`,
    };
  }
  return undefined;
}
