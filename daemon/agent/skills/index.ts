import type { SkillName } from '../../config/index.ts';
import type { Skill } from '../../contract/index.ts';
import { callAction } from './call-action.ts';
import { callService } from './call-service.ts';
import { navigateTo } from './navigate-to.ts';
import { publish } from './publish.ts';
import { readTopic } from './read-topic.ts';
import { runPolicy } from './run-policy.ts';
import { startLoop } from './start-loop.ts';
import type { SkillDefinition } from './skill.ts';
import { halt } from './halt.ts';

export type { SkillDefinition, SkillEnv, SkillNote } from './skill.ts';
export { frameDecisions, type FrameDecision } from './skill.ts';

/** Every skill the agent knows, by name. */
export const SKILLS: Readonly<Record<SkillName, SkillDefinition>> = {
  navigate_to: navigateTo as unknown as SkillDefinition,
  run_policy: runPolicy as unknown as SkillDefinition,
  start_loop: startLoop as unknown as SkillDefinition,
  read_topic: readTopic as unknown as SkillDefinition,
  publish: publish as unknown as SkillDefinition,
  call_service: callService as unknown as SkillDefinition,
  call_action: callAction as unknown as SkillDefinition,
  stop: halt as unknown as SkillDefinition,
};

/** A skill as the contract describes it (for listings and the API). */
export function describeSkill(skill: SkillDefinition, requiresApproval: boolean): Skill {
  return {
    name: skill.name,
    description: skill.description,
    params: skill.parameters as unknown as Record<string, unknown>,
    tools: [skill.name],
    requires_approval: requiresApproval,
    deterministic: true,
  };
}
