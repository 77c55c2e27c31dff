import { defaultConfig, loadConfigFile, type LoadedConfig } from '../config/load.ts';

/** The config a command runs with: `--config FILE`, else $AURAISON_EDGE_CONFIG, else the embedded default. */
export function resolveConfig(file: string | undefined, env: NodeJS.ProcessEnv): LoadedConfig {
  const path = file ?? env.AURAISON_EDGE_CONFIG;
  if (path) return loadConfigFile(path, env);
  return { config: defaultConfig(), file: undefined };
}
