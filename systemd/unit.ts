import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../daemon/util/index.ts';

const TEMPLATE = join(PACKAGE_ROOT, 'systemd', 'auraison-edge.service.in');
export const BIN = join(PACKAGE_ROOT, 'bin', 'auraison-edge.js');

/** The state directory a system unit gets from systemd (StateDirectory=): /var/lib/auraison-edge. */
export const STATE_DIRECTORY = 'auraison-edge';

export interface UnitOptions {
  /** Absolute path of node. */
  node: string;
  /** Absolute path of bin/auraison-edge.js. */
  bin: string;
  /** Absolute path of the YAML config. */
  config: string;
  /**
   * The service's working directory: a relative data_dir lives under it. Undefined for a system unit:
   * systemd makes /var/lib/auraison-edge (StateDirectory=) and gives it to User=.
   */
  workdir?: string;
  /** A user unit (systemctl --user): no User=, wanted by default.target. */
  user: boolean;
  /** System units: the account the daemon runs as. */
  runAs?: string;
  /** System units: its group (the account's primary group); left out when unknown. */
  group?: string;
}

/**
 * Fills in the unit template. In ExecStart a path with spaces is quoted, `%` (a specifier) is written `%%`
 * and `$` (a variable) `$$`; WorkingDirectory= takes the rest of the line as it is, so there only `%` is
 * escaped and nothing is quoted.
 */
export function renderUnit(options: UnitOptions): string {
  const { node, bin, config, workdir, user, runAs, group } = options;
  for (const [name, path] of Object.entries({ node, bin, config, ...(workdir === undefined ? {} : { workdir }) })) {
    if (!path.startsWith('/')) throw new Error(`${name} must be an absolute path, got ${path}`);
  }
  if (user && workdir === undefined) throw new Error('a --user unit needs a workdir');
  const specifiers = (p: string) => p.replaceAll('%', '%%');
  const arg = (p: string) => {
    const escaped = specifiers(p).replaceAll('$', '$$$$').replaceAll('\\', '\\\\').replaceAll('"', '\\"');
    return /[\s"'\\]/.test(p) ? `"${escaped}"` : escaped;
  };
  const workdirLines =
    workdir === undefined
      ? `StateDirectory=${STATE_DIRECTORY}\nWorkingDirectory=%S/${STATE_DIRECTORY}`
      : `WorkingDirectory=${specifiers(workdir)}`;
  const userLines = user || !runAs ? '' : [`User=${runAs}`, ...(group ? [`Group=${group}`] : [])].join('\n');
  const priorityLines = user
    ? // A user manager can grant no capability and raise no hard limit: such lines fail the unit (218/CAPABILITIES).
      "# A user unit can't grant CAP_SYS_NICE or raise LimitRTPRIO: control loops run at normal priority (see docs/system1.md)."
    : [
        '# Control-loop threads put themselves under SCHED_FIFO (control.loops.<name>.scheduling, via chrt) or raise',
        '# their priority (nice), and pin themselves to cpu_affinity (via taskset); this lets them without root.',
        'AmbientCapabilities=CAP_SYS_NICE',
        'LimitRTPRIO=99',
      ].join('\n');
  const template = readFileSync(TEMPLATE, 'utf8').replace(
    /^(#.*\n)+/,
    '# Written by `auraison-edge install-service` (see its --help).\n',
  );
  return template
    .replaceAll('@NODE@', () => arg(node))
    .replaceAll('@BIN@', () => arg(bin))
    .replaceAll('@CONFIG@', () => arg(config))
    .replace('@WORKDIR_LINES@', () => workdirLines)
    .replace('@USER_LINES@\n', () => (userLines ? `${userLines}\n` : ''))
    .replace('@PRIORITY_LINES@', () => priorityLines)
    .replace('@WANTED_BY@', user ? 'default.target' : 'multi-user.target');
}
