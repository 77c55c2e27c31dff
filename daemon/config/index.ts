export {
  ConfigError,
  defaultConfig,
  loadConfigFile,
  nameScope,
  parseConfigText,
  resolveDataDir,
  type LoadedConfig,
} from './load.ts';
export { EdgeConfigSchema, type EdgeConfig } from './schema.ts';
export { interpolateEnv, restoreTemplates, type EnvTemplate } from './interpolate.ts';
export { readConfigYaml, type ConfigYamlRefusal } from './load.ts';
export type { ConfigIssue } from './issue-positions.ts';
export { checkConfigFile, checkConfigText, type ConfigCheck } from './load.ts';
export { checkConfigObject, mergeOverlay } from './load.ts';
export { MAX_SIM_SEED, MIN_SIM_SPEED } from './schema.ts';
export { apiExposure, foxgloveExposure, type ApiSettings, type FoxgloveSettings } from './sections/api.ts';
export { LakehouseConfig, RecorderConfig, RetentionConfig, SnapshotConfig } from './sections/bags.ts';
export { brokerUrlProblem, DEFAULT_PROTECTED_KEYS, type CentralSettings } from './sections/central.ts';
export type { RosSettings } from './sections/ros.ts';
export { sideRelays, type RelaySide, type RelaysSettings, type SideRelays } from './sections/relays.ts';
export { MCP_TOOL_NAMES, type McpSettings, type McpToolName } from './sections/mcp.ts';
export {
  LoopConfig,
  PolicyConfig,
  system1Issues,
  type CommandSettings,
  type InputSettings,
  type ImageSourceSettings,
  type LoopSettings,
  type NormalizationSettings,
  type PolicySettings,
  type SourceSettings,
} from './sections/system1.ts';
export {
  LlmEndpointConfig,
  AgentRulesConfig,
  type AgentRulesSettings,
  type AgentSettings,
  type LlmEndpointSettings,
  type LlmSettings,
  type SkillName,
} from './sections/system2.ts';
export type { ZenohSettings, ZenohTopicQosSettings } from './sections/zenoh.ts';
export type { RemotePolicySettings } from './sections/remote-policy.ts';
export { MotionConfig, type MotionSettings, type StopSettings } from './sections/motion.ts';
export type { JointsSettings } from './sections/motion-joints.ts';
