export { ConfigError, defaultConfig, loadConfigFile, parseConfigText, resolveDataDir, type LoadedConfig } from './load.ts';
export { EdgeConfigSchema, type EdgeConfig } from './schema.ts';
