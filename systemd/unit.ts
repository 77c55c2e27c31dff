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
  /**
   * System units: the directory the daemon writes (its data dir, or the workdir that holds it), when it is
   * not the state directory systemd makes writable itself. It must exist when the service starts.
   */
  writable?: string;
  /**
   * The file of the secrets the config takes from the environment (`${VAR}`), as NAME=value lines: the unit
   * reads it (EnvironmentFile=), so the service has what a shell exported at install time.
   */
  environmentFile?: string;
}

/**
 * Fills in the unit template. In ExecStart a path with spaces is quoted, `%` (a specifier) is written `%%`
 * and `$` (a variable) `$$`; WorkingDirectory= takes the rest of the line as it is, so there only `%` is
 * escaped and nothing is quoted.
 */
export function renderUnit(options: UnitOptions): string {
  const { node, bin, config, workdir, user, runAs, group, writable, environmentFile } = options;
  const paths = {
    node,
    bin,
    config,
    ...(workdir === undefined ? {} : { workdir }),
    ...(writable ? { writable } : {}),
    ...(environmentFile ? { environmentFile } : {}),
  };
  for (const [name, path] of Object.entries(paths)) {
    if (!path.startsWith('/')) throw new Error(`${name} must be an absolute path, got ${path}`);
  }
  if (user && workdir === undefined) throw new Error('a --user unit needs a workdir');
  const specifiers = (p: string) => p.replaceAll('%', '%%');
  // A path with a space, a quote or a backslash is quoted (C escapes inside); unquoted, it has none of them.
  const quoted = (p: string, escaped: string) =>
    /[\s"'\\]/.test(p) ? `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : escaped;
  const arg = (p: string) => quoted(p, specifiers(p).replaceAll('$', '$$$$'));
  // ReadWritePaths= is a list, as a command line is split; specifiers apply there, variables do not.
  const listed = (p: string) => quoted(p, specifiers(p));
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
    .replace('@ENVIRONMENT_FILE_LINES@\n', () =>
      environmentFile
        ? `# NAME=value lines: the config's secrets (\${VAR}; without them the daemon exits 2) and ROS 2's environment.\nEnvironmentFile=${quoted(environmentFile, specifiers(environmentFile))}\n`
        : '',
    )
    .replace('@SANDBOX_LINES@\n', () =>
      user ? '' : sandboxLines(writable === undefined ? undefined : listed(writable)),
    )
    .replace('@WANTED_BY@', user ? 'default.target' : 'multi-user.target');
}

/**
 * A system unit's sandbox: the daemon writes only its data dir and its private /tmp, spawns only
 * systemd-notify, chrt and taskset, and talks TCP/UDP, Unix sockets and netlink (libuv's interface list).
 * Left open on purpose: devices (serial adapters, CAN, GPUs), real-time scheduling (control loops), and
 * writable executable memory (V8's JIT). A --user unit gets none of it: a user manager can apply these only
 * with user namespaces, which many robots' kernels turn off, and then the unit would not start.
 */
function sandboxLines(writable: string | undefined): string {
  return [
    '# The sandbox (docs/running.md): read-only /usr, /etc and /home, no kernel tunables, modules or clock,',
    '# no capability but CAP_SYS_NICE even as root, only the usual system calls (others fail with EPERM).',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    ...(writable === undefined ? [] : [`ReadWritePaths=${writable}`]),
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'RestrictSUIDSGID=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    'CapabilityBoundingSet=CAP_SYS_NICE',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallErrorNumber=EPERM',
    '',
  ].join('\n');
}

/** The oldest Node.js major the daemon runs on (package.json's engines): 22; 24, the Active LTS, is the target. */
export const MIN_NODE_MAJOR = 22;

/**
 * A warning when the node the unit will run (the one running install-service, process.execPath) is older than
 * the daemon needs: the unit names that path for good, and npm's engines check warned once, at install.
 */
export function nodeVersionWarning(node: string, version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (!Number.isInteger(major) || major >= MIN_NODE_MAJOR) return undefined;
  return `the unit runs ${node}, Node.js ${version}, older than the ${MIN_NODE_MAJOR} this daemon needs (24 is the target): run install-service with Node.js 24 (or 22), whose path the unit then names`;
}
