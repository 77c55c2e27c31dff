import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { checkConfigText, ConfigError, defaultConfig, loadConfigFile, type LoadedConfig } from '../config/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { ValidationIssue } from '../util/index.ts';
import { jointStartIssues } from '../motion/index.ts';

/** The config a command runs with: `--config FILE`, else $AURAISON_EDGE_CONFIG, else the embedded default. */
export function resolveConfig(file: string | undefined, env: NodeJS.ProcessEnv): LoadedConfig {
  const path = file ?? env.AURAISON_EDGE_CONFIG;
  if (path) return loadConfigFile(path, env);
  return { config: defaultConfig(), file: undefined };
}

/**
 * The config `run` starts: resolveConfig's, refused (ConfigError, exit 2) where a component would refuse it on every
 * start (startIssues), before anything starts, rather than a component the supervisor retries for ever.
 */
export async function resolveRunConfig(file: string | undefined, env: NodeJS.ProcessEnv): Promise<LoadedConfig> {
  const loaded = resolveConfig(file, env);
  const issues = await startIssues(loaded.config);
  if (issues.length > 0) throw new ConfigError(loaded.file ? basename(loaded.file) : '<default config>', issues);
  return loaded;
}

/**
 * What the components would refuse on every start of a valid config: a policy's model missing, unreadable or not
 * fitting its manifest, statistics a stats file lacks, a loop its policy cannot run, a URDF for motion.joints that
 * cannot be used. Each names its key path.
 * `config check` reports them and `run` refuses them.
 */
export async function startIssues(config: EdgeConfig): Promise<ValidationIssue[]> {
  // A URDF motion.joints names that cannot be used: the agent would refuse every joint command.
  const joints = jointStartIssues(config.motion.joints);
  // No policy, no model to read: not even the component registry is loaded (a loop needs a policy to be valid).
  if (Object.keys(config.policies).length === 0) return joints;
  const { system1StartIssues } = await import('../components/index.ts');
  return [...joints, ...(await system1StartIssues(config))];
}

/**
 * The config a client of the running daemon (`status`, `intent`, `approve`) finds it with. Those need only
 * `data_dir` and `api`, and they matter most while the file is being edited: a reload of an invalid file
 * is rejected and the daemon runs on, and `status` is how the user learns so. So when the file is invalid
 * elsewhere, its `data_dir` and `api` are used if they are valid on their own, and `warning` lists the
 * problems. A file that does not parse, or whose `data_dir` or `api` is itself invalid, fails as before.
 */
export function resolveClientConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): LoadedConfig & { warning?: string } {
  try {
    return resolveConfig(file, env);
  } catch (error) {
    const path = file ?? env.AURAISON_EDGE_CONFIG;
    if (!(error instanceof ConfigError) || !path) throw error;
    const located = locatingKeys(resolve(path), env);
    if (!located) throw error;
    // A secret (`${VAR}`) this shell does not export: the daemon has it, and a client never needs one.
    if (error.issues.every((issue) => UNSET_ENV.test(issue.message))) return { config: located, file: resolve(path) };
    const warning = `warning: ${basename(path)} is not a valid config (a daemon reloading it keeps the config it runs with):\n${error.message}\nits data_dir and api are valid: using them to find the daemon\n`;
    return { config: located, file: resolve(path), warning };
  }
}

/** interpolateEnv's word for a `${VAR}` with no value and no default. */
const UNSET_ENV = /^environment variable [A-Za-z_][A-Za-z0-9_]* is not set/;

/** The file's `data_dir` and `api` with every other key at its default, or undefined if those are not valid. */
function locatingKeys(path: string, env: NodeJS.ProcessEnv) {
  let raw: unknown;
  try {
    const doc = parseDocument(readFileSync(path, 'utf8'), { merge: true, uniqueKeys: true });
    if (doc.errors.length > 0) return undefined;
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch {
    return undefined; // unreadable, or an alias bomb: the error already thrown says so
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const { data_dir, api } = raw as Record<string, unknown>;
  // JSON is YAML: the two keys are checked (and their ${ENV} references interpolated) as the loader does.
  return checkConfigText(JSON.stringify({ data_dir, api }), env).config;
}
