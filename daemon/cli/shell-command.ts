import { basename, isAbsolute, relative } from 'node:path';

// Commands the CLI prints for a user to copy into a shell.

/** A path as a shell word, for a command the user copies: quoted only when it has to be. */
export function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

/**
 * How a user runs this CLI again from `cwd`, for the commands it prints to try next: `auraison-edge` where it ran by
 * that name (`npm link`, a global install), `npx auraison-edge` under npx, else `node` and the path of the script
 * `node` ran (`npm start` runs `node bin/auraison-edge.js`, and a checkout's bin is on no PATH), relative where it
 * lies under `cwd`.
 */
export function selfCommand(script: string | undefined, cwd: string, env: NodeJS.ProcessEnv): string {
  if (script === undefined || basename(script) !== 'auraison-edge.js')
    return env.npm_command === 'exec' ? 'npx auraison-edge' : 'auraison-edge';
  const path = relative(cwd, script);
  return `node ${shellWord(path.startsWith('..') || isAbsolute(path) ? script : path)}`;
}
