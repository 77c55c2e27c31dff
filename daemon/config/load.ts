import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { Value } from 'typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { formatIssue, formatPath, Validator, type ValidationIssue, errorText } from '../util/index.ts';
import { resolveNames, type NameScope } from '../names/index.ts';
import { interpolateEnv, restoreTemplates, type EnvTemplate } from './interpolate.ts';
import { placeIssues, type ConfigIssue } from './issue-positions.ts';
import { isMovedKeyIssue, movedKeyIssues } from './moved-keys.ts';
import { EdgeConfigSchema, type EdgeConfig } from './schema.ts';
import { exposureIssues } from './sections/api.ts';
import { centralIssues } from './sections/central.ts';
import { relayIssues } from './sections/relays.ts';
import { system1Issues } from './sections/system1.ts';
import { motionIssues } from './sections/motion.ts';
import { system2Issues } from './sections/system2.ts';

/** A config that can't be used. The message names the file and, one line each, every key path and what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[]) {
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

/** What checking a config found: the config, or every problem with it. */
export interface ConfigCheck {
  /** The config with every default filled in; undefined when there are issues. */
  config: EdgeConfig | undefined;
  /** Every problem, in the order of the file (see placeIssues). */
  issues: ConfigIssue[];
  /** Values written with `${ENV}` references, as written: what to show in place of a secret. */
  templates: EnvTemplate[];
}

const validator = new Validator(EdgeConfigSchema);

/** Aliases (`*name`) a config may expand, counting nested expansions: a guard against alias bombs. */
const MAX_ALIAS_COUNT = 100;

/** Top-level keys that start with this are extension fields, ignored (as docker-compose does): a place for anchors. */
const EXTENSION_PREFIX = 'x-';

/**
 * The config used when no file is given: the simulator on, data in `./.auraison-edge`, no central.
 * Everything else takes the schema's defaults.
 */
export function defaultConfig(): EdgeConfig {
  const { config, issues } = checkObject({ sim: { enabled: true } }, process.env);
  if (!config) throw new ConfigError('<default config>', issues);
  return config;
}

export interface ConfigFileOptions {
  /**
   * Refuse a file with no settings in it (empty, or only comments). A reload sets this: an editor that
   * truncates, then writes, leaves an empty file for a moment, and applying it would put every section
   * back to its defaults (the recorder off, the API moved to its default port).
   */
  refuseEmpty?: boolean;
  /**
   * Keys laid over the file's before it is validated (config from central, see mergeOverlay): mappings
   * merge key by key, any other value replaces the file's, null takes the file's key out.
   */
  overlay?: Record<string, unknown>;
}

/** Reads, interpolates `${ENV}` and validates a YAML config file. Throws ConfigError. */
export function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ConfigFileOptions = {},
): LoadedConfig {
  const { config, issues, file, name } = checkConfigFile(path, env, options);
  if (!config) throw new ConfigError(name, issues);
  return { config, file };
}

/** Like loadConfigFile, but returns the problems (a file that can't be read is one) instead of throwing. */
export function checkConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ConfigFileOptions = {},
): ConfigCheck & { file: string; name: string } {
  const file = isAbsolute(path) ? path : resolve(path);
  const name = basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `no such file (${file})` : `cannot read ${file}: ${errorText(error)}`;
    return { config: undefined, issues: [{ path: '', message }], templates: [], file, name };
  }
  const check = checkConfigText(text, env, options);
  if (check.config) findPolicyFilesBeside(check.config, dirname(file));
  return { ...check, file, name };
}

/**
 * A policy's files (its .onnx, a stats.json) and the robot's URDF (motion.joints.urdf) named by a relative path are
 * found in the config file's folder, where its author put them, whatever directory the daemon runs in (a systemd
 * unit's, a launch file's, another shell's).
 */
function findPolicyFilesBeside(config: EdgeConfig, dir: string): void {
  const beside = (path: string) => resolve(dir, path);
  const joints = config.motion.joints;
  if (joints?.urdf !== undefined) joints.urdf = beside(joints.urdf);
  for (const policy of Object.values(config.policies)) {
    if (policy.model !== undefined) policy.model = beside(policy.model);
    if (policy.remote?.ca_file) policy.remote.ca_file = beside(policy.remote.ca_file);
    for (const input of Object.values(policy.inputs))
      if (input.normalize?.stats !== undefined) input.normalize.stats = beside(input.normalize.stats);
    for (const output of Object.values(policy.outputs))
      if (output.unnormalize?.stats !== undefined) output.unnormalize.stats = beside(output.unnormalize.stats);
  }
}

/** Parses config YAML text; `name` is used in error messages. Throws ConfigError. */
export function parseConfigText(text: string, name: string, env: NodeJS.ProcessEnv = process.env): EdgeConfig {
  const { config, issues } = checkConfigText(text, env);
  if (!config) throw new ConfigError(name, issues);
  return config;
}

/** Parses and validates config YAML text, collecting every problem rather than stopping at the first. */
export function checkConfigText(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ConfigFileOptions = {},
): ConfigCheck {
  const read = readConfigYaml(text, options);
  if (!('raw' in read)) return read;
  const check = checkObject(options.overlay ? mergeOverlay(read.raw, options.overlay) : read.raw, env);
  return { ...check, issues: read.place(check.issues) };
}

/** YAML that could not be read as a mapping: why, as issues. */
export interface ConfigYamlRefusal {
  config: undefined;
  issues: ConfigIssue[];
  templates: EnvTemplate[];
}

/**
 * Config YAML text as a mapping (merge keys, a guard against alias bombs, syntax errors with their
 * positions), and `place`, which gives issues about it their line and column. Other configs (central
 * serve's) check their own schema with it.
 */
export function readConfigYaml(
  text: string,
  options: { refuseEmpty?: boolean } = {},
): ConfigYamlRefusal | { raw: object; place: (issues: readonly ValidationIssue[]) => ConfigIssue[] } {
  const lineCounter = new LineCounter();
  // merge: `<<: *base` takes an anchored mapping's keys, the keys written beside it win (YAML 1.1 merge keys,
  // as ROS 2 parameter files and docker-compose use them).
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, merge: true, lineCounter });
  const refused = (message: string): ConfigYamlRefusal => ({
    config: undefined,
    issues: [{ path: '', message }],
    templates: [],
  });
  if (doc.errors.length > 0) {
    // One syntax error derails the parser for the rest of the file: the first is the one to fix, the
    // others (often a dozen "Unexpected ... token") are mostly its echoes.
    // A repeated key is no echo: each is its own mistake, and each is reported.
    const shown = doc.errors.filter((e, i) => i === 0 || e.code === 'DUPLICATE_KEY');
    const echoes = doc.errors.length - shown.length;
    const issues = shown.map((e, i) => {
      const at = e.linePos?.[0];
      // prettyErrors appends " at line L, column C:" and a code frame; the position leads the line instead.
      let message = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').split('\n')[0]!;
      const line = at ? (text.split('\n')[at.line - 1] ?? '') : '';
      if (/\{[^}]*:\s*\$\{/.test(line)) message += ` (inside {...}, quote a value that starts with \${: "\${VAR}")`;
      if (i === 0 && echoes > 0)
        message += `; ${echoes} more YAML error${echoes > 1 ? 's' : ''} after it, most likely caused by it`;
      return at
        ? { path: '', message: `line ${at.line}, column ${at.col}: ${message}`, line: at.line, column: at.col }
        : { path: '', message };
    });
    return { config: undefined, issues, templates: [] };
  }
  if (options.refuseEmpty && doc.contents === null) {
    return refused(
      'the file has no settings (empty, or only comments): an editor may be halfway through saving it; save the whole file, then reload again',
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    // The yaml library refuses an alias bomb ("billion laughs") here, in its own words and with no file.
    const message = errorText(error);
    if (/^Merge sources/.test(message))
      return refused(
        'a merge key (<<) must take a mapping, an alias of one (<<: *base) or a list of them (<<: [*a, *b])',
      );
    return refused(
      /alias/i.test(message)
        ? `too many YAML alias expansions (the limit is ${MAX_ALIAS_COUNT}): write the values out`
        : message,
    );
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return refused(
      `expected a mapping of sections (robot, sim, ...), got ${Array.isArray(raw) ? 'a list' : typeof raw}`,
    );
  }
  return { raw, place: (issues) => placeIssues(issues, doc, lineCounter) };
}

/** Validates a config given as an object (a daemon started without a file), with `overlay` laid over it. */
export function checkConfigObject(
  raw: object,
  env: NodeJS.ProcessEnv = process.env,
  overlay?: Record<string, unknown>,
): ConfigCheck {
  return checkObject(overlay ? mergeOverlay(raw, overlay) : raw, env);
}

/** `base` with `overlay` laid over it: mappings merge key by key, other values replace, null removes the key. */
export function mergeOverlay(base: object, overlay: Record<string, unknown>): Record<string, unknown> {
  const isMapping = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete out[key];
    else if (isMapping(value) && isMapping(out[key])) out[key] = mergeOverlay(out[key], value);
    else out[key] = value;
  }
  return out;
}

/**
 * Interpolates, fills in defaults, validates and cross-checks a parsed config. An unset variable is
 * reported and its reference kept as a placeholder, so the schema and the cross-checks still run; their
 * issues at that key are left out (they would only be about the placeholder).
 */
function checkObject(raw: object, env: NodeJS.ProcessEnv): ConfigCheck {
  // Extension fields hold shared settings for anchors; what they hold is checked where it is aliased.
  const used = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith(EXTENSION_PREFIX)));
  const { value, problems, templates } = interpolateEnv(used, env);
  const envIssues = problems.map((p) => ({ path: formatPath(p.path), message: p.message }));
  const unset = new Set(envIssues.map((i) => i.path));
  const withDefaults = Value.Default(EdgeConfigSchema, structuredClone(value));
  // Messages quote a value as written: `${TOKEN}`, never the secret it stands for (in check, show and run).
  const moved = movedKeyIssues(used);
  const schemaIssues = [
    ...moved,
    ...validator
      .issues(withDefaults, restoreTemplates(withDefaults, templates))
      .filter((i) => !isMovedKeyIssue(i, moved))
      .map(hintExtensionFields),
  ].filter((i) => !unset.has(i.path));
  // Every topic, service and action name (and glob) in its one canonical form, before anything compares
  // them: `cmd_vel`, `/cmd_vel` and a relay's `/chatter` are then the strings the checks see.
  const named =
    schemaIssues.length === 0
      ? resolveNames(EdgeConfigSchema, withDefaults as EdgeConfig, nameScope(withDefaults as EdgeConfig))
      : { value: withDefaults as EdgeConfig, issues: [] };
  const nameIssues = named.issues.filter((i) => !unset.has(i.path));
  // Cross-checks need the types the schema promises, so they run only on a value that passes it (a
  // placeholder is still a string where a string belongs).
  const crossIssues =
    schemaIssues.length === 0 && nameIssues.length === 0
      ? crossChecks(named.value)
          .filter((i) => !unset.has(i.path))
          .map((i) => unsubstituted(i, value, templates))
      : [];
  const issues = [...envIssues, ...schemaIssues, ...nameIssues, ...crossIssues];
  return { config: issues.length === 0 ? named.value : undefined, issues, templates };
}

/**
 * A cross-check quotes values of keys other than the one it names (a loop's topic comes from its policy),
 * so every value that came from `${ENV}` is put back as written wherever it appears in the message.
 */
function unsubstituted(issue: ValidationIssue, value: unknown, templates: readonly EnvTemplate[]): ValidationIssue {
  const substitutions = templates
    .map(({ path, text }) => ({
      text,
      substituted: path.reduce<unknown>(
        (at, key) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined),
        value,
      ),
    }))
    .filter(
      (s): s is { text: string; substituted: string } =>
        typeof s.substituted === 'string' && s.substituted !== '' && s.substituted !== s.text,
    )
    .sort((a, b) => b.substituted.length - a.substituted.length); // a secret holding another is replaced whole
  let message = issue.message;
  for (const { text, substituted } of substitutions) message = message.replaceAll(substituted, text);
  return message === issue.message ? issue : { ...issue, message };
}

/** An unknown section with no likely typo behind it may be a block meant for anchors: say how to name one. */
function hintExtensionFields(issue: ValidationIssue): ValidationIssue {
  const topLevel = !/[.[]/.test(issue.path);
  if (!topLevel || !issue.message.startsWith('unknown key') || issue.message.includes('did you mean')) return issue;
  return {
    ...issue,
    message: `${issue.message}; a block kept only for YAML anchors must be named ${EXTENSION_PREFIX}<something>`,
  };
}

/** What no one key's schema can see. */
function crossChecks(config: EdgeConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { api, foxglove } = config;
  if (api.enabled && foxglove.enabled && api.port !== 0 && api.port === foxglove.port && api.host === foxglove.host) {
    issues.push({
      path: 'foxglove.port',
      message: `${foxglove.port} is also api.port: the HTTP API and the Foxglove bridge each need their own port`,
    });
  }
  // The API without a token, or the Foxglove bridge, bound off loopback: the servers would refuse to start.
  issues.push(...exposureIssues(config));
  // A base_url that is no http URL, or credentials in it beside api_key_env.
  issues.push(...system2Issues(config));
  // A geofence that is no region; joints with no source of limits, or two.
  issues.push(...motionIssues(config.motion));
  // Reversed clip bounds, a safe action that moves, two loops on one topic: refused before anything starts.
  issues.push(...system1Issues(config));
  // central.enabled with no broker URL, or one of another scheme.
  issues.push(...centralIssues(config));
  // A relay into its own side, a topic carried both ways, a side no link speaks.
  issues.push(...relayIssues(config));
  return issues;
}

/**
 * The node relative (`cmd_vel`) and private (`~/cmd_vel`) names in the config, intents and tool calls resolve
 * against: the daemon's ROS 2 node (ros.namespace, ros.node_name), whichever bridge is on.
 */
export function nameScope(config: Pick<EdgeConfig, 'ros'>): NameScope {
  return { namespace: config.ros.namespace, node: config.ros.node_name };
}

/** The data dir as an absolute path, relative paths taken from `cwd`. */
export function resolveDataDir(config: EdgeConfig, cwd: string = process.cwd()): string {
  return resolve(cwd, config.data_dir);
}
