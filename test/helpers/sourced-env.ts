import { execFileSync } from 'node:child_process';

/**
 * The environment a bash `script` leaves (e.g. `source <setup.bash>`), read once with `env -0`: what a shell that
 * sourced it would give its children.
 */
export function sourcedEnv(script: string): NodeJS.ProcessEnv {
  const out = execFileSync('bash', ['-c', `${script} >/dev/null && env -0`], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const env: NodeJS.ProcessEnv = {};
  for (const entry of out.split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}
