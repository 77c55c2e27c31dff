import { existsSync, readFileSync } from 'node:fs';
import { interpolateEnv, readConfigYaml } from '../config/index.ts';

/** What a service needs from the environment for its config, and what its environment file gives. */
export interface ServiceSecrets {
  /** The variables the config takes with `${VAR}` and no default. */
  names: string[];
  /** The environment file's NAME=value lines (empty when it does not exist). */
  fromFile: Record<string, string>;
  /** Names the file does not give: the service would exit 2 (invalid config) without them. */
  lacking: string[];
  exists: boolean;
}

/**
 * The config's `${VAR}` references without a default, and what `envFile` (systemd's EnvironmentFile= format: one
 * NAME=value a line, `#` comments, a value optionally in quotes) gives of them. A unit runs with none of the
 * installing shell's variables: what the shell exported is not what the service will have.
 */
export function serviceSecrets(configText: string, envFile: string): ServiceSecrets {
  const read = readConfigYaml(configText);
  const names =
    'raw' in read
      ? [
          ...new Set(
            interpolateEnv(read.raw, {}).problems.flatMap(
              (p) => /variable ([A-Za-z_][A-Za-z0-9_]*)/.exec(p.message)?.[1] ?? [],
            ),
          ),
        ]
      : [];
  const exists = existsSync(envFile);
  const fromFile = exists ? parseEnvFile(readFileSync(envFile, 'utf8')) : {};
  const lacking = names.filter((name) => !fromFile[name]);
  return { names, fromFile, lacking, exists };
}

function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const raw = m[2]!.trim();
    values[m[1]!] = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return values;
}
