import type { AgentRulesSettings } from '../config/index.ts';
import type { Intent } from '../contract/index.ts';

type Source = Intent['policy_ctx']['source'];

/** Who approves: the name the approval gives, and the channel it came through. */
export interface Approver {
  by: string;
  source: Source;
}

/** The rule a refused approval is journaled and counted under (a policy.decision of hook `approval`). */
export const APPROVER_RULE = 'approval.approver';

/**
 * Why `approver` may not approve a run of `intent`, or undefined when it may. The approval frame exists so that
 * a person looks before the robot acts: an outside agent (a model behind MCP) that may both submit and approve
 * would approve its own motion, so an approval through an outside channel never approves a run started through
 * one (`not_outside`, the default), or at least not its own (`not_own`). The operator and central approve any run.
 */
export function approverRefusal(
  approver: Approver,
  intent: Intent,
  settings: AgentRulesSettings['approval'],
): string | undefined {
  const outside = new Set<Source>(settings.outside_sources);
  if (!outside.has(approver.source)) return undefined;
  const { actor, source } = intent.policy_ctx;
  if (!outside.has(source)) return undefined;
  const own = actor === approver.by && source === approver.source;
  if (settings.outside_may_approve === 'not_own' && !own) return undefined;
  const whose = own ? 'its own run' : `a run started through ${source} (by ${actor})`;
  return `${approver.by} (through ${approver.source}) may not approve ${whose}: an outside agent never approves what outside agents asked (agent.rules.approval.outside_may_approve ${settings.outside_may_approve}); the operator (API, page, CLI) or central approves it`;
}
