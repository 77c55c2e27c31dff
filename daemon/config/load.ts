import { readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { Value } from 'typebox/value';
import { parseDocument } from 'yaml';
import { formatIssue, formatPath, Validator, type ValidationIssue } from '../contract/validate.ts';
import { interpolateEnv } from './interpolate.ts';
import { EdgeConfigSchema, type EdgeConfig } from './schema.ts';
import { system1Issues } from './sections/system1.ts';

/** A config that can't be used. The message names the file, each key path and what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly file: string;
  readonly issues: ValidationIssue[];
  constructor(file: string, issues: ValidationIssue[]) {
    super(issues.map((issue) => `${file}: ${formatIssue(issue)}`).join('\n'));
    this.file = file;
    this.issues = issues;
  }
}

export interface LoadedConfig {
  config: EdgeConfig;
  /** The file it came from, or undefined for the embedded default. */
  file: string | undefined;
}

const validator = new Validator(EdgeConfigSchema);

/** Aliases (`*name`) a config may expand, counting nested expansions: a guard against alias bombs. */
const MAX_ALIAS_COUNT = 100;

/**
 * The config used when no file is given: the simulator on, data in `./.auraison-edge`, no central.
 * Everything else takes the schema's defaults.
 */
export function defaultConfig(): EdgeConfig {
  return fromObject({ sim: { enabled: true } }, '<default config>', process.env);
}

/** Reads, interpolates `${ENV}` and validates a YAML config file. Throws ConfigError. */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = isAbsolute(path) ? path : resolve(path);
  const name = basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(name, [{ path: '', message: code === 'ENOENT' ? `no such file (${file})` : `cannot read ${file}: ${(error as Error).message}` }]);
  }
  return { config: parseConfigText(text, name, env), file };
}

/** Parses config YAML text; `name` is used in error messages. */
export function parseConfigText(text: string, name: string, env: NodeJS.ProcessEnv = process.env): EdgeConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      name,
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return { path: '', message: `${at ? `line ${at.line}, column ${at.col}: ` : ''}${e.message.split('\n')[0]}` };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    // The yaml library refuses an alias bomb ("billion laughs") here, in its own words and with no file.
    const message = (error as Error).message;
    throw new ConfigError(name, [{ path: '', message: /alias/i.test(message) ? `too many YAML alias expansions (the limit is ${MAX_ALIAS_COUNT}): write the values out` : message }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(name, [{ path: '', message: `expected a mapping of sections (robot, sim, ...), got ${Array.isArray(raw) ? 'a list' : typeof raw}` }]);
  }
  return fromObject(raw, name, env);
}

function fromObject(raw: object, name: string, env: NodeJS.ProcessEnv): EdgeConfig {
  const { value, problems } = interpolateEnv(raw, env);
  if (problems.length > 0) throw new ConfigError(name, problems.map((p) => ({ path: formatPath(p.path), message: p.message })));
  const withDefaults = Value.Default(EdgeConfigSchema, structuredClone(value));
  const issues = validator.issues(withDefaults);
  if (issues.length > 0) throw new ConfigError(name, issues);
  const config = withDefaults as EdgeConfig;
  const clashes = crossChecks(config);
  if (clashes.length > 0) throw new ConfigError(name, clashes);
  return config;
}

/** What no one key's schema can see. */
function crossChecks(config: EdgeConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { api, foxglove } = config;
  if (api.enabled && foxglove.enabled && api.port !== 0 && api.port === foxglove.port && api.host === foxglove.host) {
    issues.push({ path: 'foxglove.port', message: `${foxglove.port} is also api.port: the HTTP API and the Foxglove bridge each need their own port` });
  }
  // Reversed clip bounds, a safe action that moves, two loops on one topic: refused before anything starts.
  issues.push(...system1Issues(config));
  return issues;
}

/** The data dir as an absolute path, relative paths taken from `cwd`. */
export function resolveDataDir(config: EdgeConfig, cwd: string = process.cwd()): string {
  return resolve(cwd, config.data_dir);
}
