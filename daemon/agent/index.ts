export { AGENT_NAV_CMD_VEL, AgentComponent, type AgentComponentOptions } from './agent-component.ts';
export { AgentError } from './errors.ts';
export { NaturalLanguageParams, parseIntent, type ParsedIntent } from './intents.ts';
export { isModelService, type ModelService } from './model-service.ts';
export { AGENT_EVENT, RUN_STATE, RunStore, TERMINAL, type RunRecord } from './run-store.ts';
export type { NavigationService, PolicyRunnerService } from './services.ts';
export { describeSkill, SKILLS, type SkillDefinition, type SkillEnv } from './skills/index.ts';
export { ValidatorList, ValidatorSpec } from './validators.ts';
