import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError, loadConfigFile, resolveDataDir } from '../../config/index.ts';
import { type Command, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { serviceSecrets } from '../service-secrets.ts';
import { shellWord } from '../shell-command.ts';

export const command: Command = {
  name: 'install-service',
  summary: 'Install the daemon as a systemd service (system or --user unit)',
  help: `Usage: auraison-edge install-service --config FILE [--user] [--run-as USER] [--workdir DIR]
                                    [--env-file FILE] [--output FILE | --dry-run]

Writes a systemd unit that runs \`auraison-edge run --config FILE\` with Type=notify, a 10 s watchdog that
is pinged only while the control loops are alive, restart on failure (but not on an invalid config, exit 2)
and reloads that wait for the daemon's outcome (\`systemctl reload auraison-edge\` runs \`auraison-edge reload\`,
which sends SIGHUP, and fails when the daemon rejects the file). The config is validated first.
A system unit is sandboxed (ProtectSystem=strict, see docs/running.md): it writes only its data dir
(systemd's state directory, or ReadWritePaths= for a --workdir or an absolute data_dir, made here) and
a private /tmp.

Options:
  --config FILE   the daemon's config (required); made absolute
  --user          a user unit in ~/.config/systemd/user (no root needed); default: a system unit in
                  /etc/systemd/system
  --run-as USER   system units: the account to run as (default: $SUDO_USER, else the current user)
  --workdir DIR   working directory; a relative data_dir lives under it (default: a system unit gets
                  /var/lib/auraison-edge from systemd, StateDirectory=, owned by the run-as user;
                  ~/.local/share/auraison-edge with --user). A DIR made by a root install is given to
                  the run-as user
  --env-file FILE where the service reads the secrets the config takes with \${VAR} and ROS 2's environment
                  (NAME=value lines, mode 0600; default /etc/auraison-edge/env, with --user
                  ~/.config/auraison-edge/env): a unit gets none of this shell's variables, so a config with
                  \${VAR} or ros.enabled (or a given --env-file) gets EnvironmentFile=FILE, and the install says
                  which names FILE still lacks (ROS_DISTRO and the rest of a sourced setup.bash, ROS_DOMAIN_ID)
  --output FILE   write the unit here instead (then copy it to where systemd looks, as the output says)
  --dry-run       print the unit instead of writing it

Then: systemctl [--user] daemon-reload && systemctl [--user] enable --now auraison-edge

Exit codes: 0 written (or printed), 1 the unit or its directories could not be written, 2 bad usage or an
invalid config (the service would exit 2 at once).
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string' },
      user: { type: 'boolean' },
      'run-as': { type: 'string' },
      workdir: { type: 'string' },
      output: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'env-file': { type: 'string' },
    });
    if (!values.config)
      throw new UsageError('--config FILE is required: the service needs a config (start from edge.example.yaml)');
    const config = resolve(io.cwd, values.config);
    const user = Boolean(values.user);
    const envFile = resolve(
      io.cwd,
      values['env-file'] ?? (user ? join(homedir(), '.config/auraison-edge/env') : '/etc/auraison-edge/env'),
    );
    const secrets = existsSync(config) ? serviceSecrets(readFileSync(config, 'utf8'), envFile) : undefined;
    // Refuse to install a service that would exit 2 at once; its secrets are checked as the unit will have them
    // (the file's), or as this shell has them while the file lacks them (warned below).
    const { config: parsed } = loadServiceConfig(config, { ...io.env, ...secrets?.fromFile }, envFile);
    // The file is read by the unit when it is asked for, holds secrets, or must hold ROS 2's environment.
    const environmentFile =
      values['env-file'] !== undefined || (secrets?.names.length ?? 0) > 0 || parsed.ros.enabled ? envFile : undefined;
    if (parsed.ros.enabled && !secrets?.fromFile.ROS_DISTRO)
      io.stderr(
        `warning: ros.enabled, and a service gets none of this shell's ROS 2 environment: write it to ${envFile} (\`source /opt/ros/${io.env.ROS_DISTRO ?? 'jazzy'}/setup.bash && env | grep -E '^(ROS_|RMW_|AMENT_PREFIX_PATH=|LD_LIBRARY_PATH=)' >> ${shellWord(envFile)}\`), with ROS_DOMAIN_ID=N when the robot's graph is not on domain 0; else the ros component fails (ROS 2 is not sourced). docs/running.md, "ROS 2 under systemd"\n`,
      );
    if (secrets && secrets.lacking.length > 0)
      io.stderr(
        `warning: the config takes ${secrets.lacking.join(', ')} from the environment, and a service gets none of this shell's: write ${secrets.lacking.map((n) => `${n}=...`).join(', ')} to ${envFile} (${secrets.exists ? 'it lacks them' : 'it does not exist yet'}; chmod 600), which the unit reads (EnvironmentFile=), or the service exits 2 (invalid config)\n`,
      );
    if (user && values['run-as']) throw new UsageError('--run-as is for system units; a --user unit runs as you');
    const { renderUnit, BIN, STATE_DIRECTORY, nodeVersionWarning } = await import('../../../systemd/unit.ts');
    const oldNode = nodeVersionWarning(process.execPath, process.version);
    if (oldNode) io.stderr(`warning: ${oldNode}\n`);
    const workdir =
      values.workdir !== undefined
        ? resolve(io.cwd, values.workdir)
        : user
          ? join(homedir(), '.local/share/auraison-edge')
          : undefined;
    const runAs = user ? undefined : (values['run-as'] ?? io.env.SUDO_USER ?? userInfo().username);
    const account = runAs === undefined ? undefined : lookUpAccount(runAs);
    if (runAs !== undefined && !account)
      io.stderr(`warning: no account ${runAs} on this host (id ${runAs} failed); the unit has no Group= line\n`);
    const stateDir = join('/var/lib', STATE_DIRECTORY);
    const dataDir = resolveDataDir(parsed, workdir ?? stateDir);
    // A system unit's sandbox (ProtectSystem=strict) leaves only its state directory and this one writable.
    const writable =
      user || !relative(stateDir, dataDir).startsWith('..')
        ? undefined
        : isAbsolute(parsed.data_dir)
          ? dataDir
          : workdir;
    for (const warning of privateTmpWarnings({ dataDir, dataDirSetting: parsed.data_dir, config, bin: BIN }))
      io.stderr(`warning: ${warning}\n`);
    const unit = renderUnit({
      node: process.execPath,
      bin: BIN,
      config,
      workdir,
      user,
      runAs,
      group: account?.group,
      writable,
      environmentFile,
    });
    if (values['dry-run']) {
      io.stdout(unit);
      return 0;
    }
    const installed = user
      ? join(homedir(), '.config/systemd/user/auraison-edge.service')
      : '/etc/systemd/system/auraison-edge.service';
    const target = values.output ? resolve(io.cwd, values.output) : installed;
    mkdirSync(dirname(target), { recursive: true });
    // ReadWritePaths= fails the start when its directory is missing: made here, with the workdir.
    for (const dir of new Set([workdir, writable])) {
      if (dir === undefined || existsSync(dir)) continue;
      mkdirSync(dir, { recursive: true });
      // Made by root for a service that runs as someone else: theirs, or the daemon can't create its data dir.
      if (account && process.getuid?.() === 0 && account.uid !== 0) chownSync(dir, account.uid, account.gid);
    }
    writeFileSync(target, unit);
    const ctl = user ? 'systemctl --user' : 'systemctl';
    // systemd looks for units in its own directories only: one written elsewhere has to be put there first.
    const copy =
      target === installed ? '' : `${user ? '' : 'sudo '}cp ${shellWord(target)} ${shellWord(installed)} && `;
    io.stdout(
      `wrote ${target}\nnext: ${copy}${ctl} daemon-reload && ${ctl} enable --now auraison-edge\nlogs: journalctl ${user ? '--user ' : ''}-u auraison-edge -f\n`,
    );
    return 0;
  },
};

/**
 * The config as the service will load it; a `${VAR}` unset both here and in the environment file is refused
 * naming the file to write it to.
 */
function loadServiceConfig(config: string, env: NodeJS.ProcessEnv, envFile: string) {
  try {
    return loadConfigFile(config, env);
  } catch (error) {
    if (!(error instanceof ConfigError) || !error.issues.every((i) => /^environment variable /.test(i.message)))
      throw error;
    throw new UsageError(
      `${error.message}\nthe service reads such secrets from ${envFile} (EnvironmentFile=): write NAME=value lines there (chmod 600), or give --env-file FILE, then install again`,
    );
  }
}

/** The account's ids and primary group name, from `id`; undefined when the host has no such account. */
function lookUpAccount(name: string): { uid: number; gid: number; group: string } | undefined {
  const id = (flag: string) => {
    const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const [uid, gid, group] = [id('-u'), id('-g'), id('-gn')];
  return uid && gid && group ? { uid: Number(uid), gid: Number(gid), group } : undefined;
}

/** Where a path lies under /tmp or /var/tmp, which one; undefined elsewhere. */
function tmpRoot(path: string): string | undefined {
  return /^\/var\/tmp(\/|$)/.test(path) ? '/var/tmp' : /^\/tmp(\/|$)/.test(path) ? '/tmp' : undefined;
}

/**
 * The unit has PrivateTmp=yes: the service gets its own empty /tmp and /var/tmp, deleted when it stops. A
 * data_dir there loses its recordings; a config or a checkout there is not found, so the unit cannot start.
 */
export function privateTmpWarnings(paths: {
  dataDir: string;
  dataDirSetting: string;
  config: string;
  bin: string;
}): string[] {
  const warnings: string[] = [];
  const dataTmp = tmpRoot(paths.dataDir);
  if (dataTmp) {
    // A relative data_dir is under /tmp only because the working directory is: that is what to move.
    const fix = isAbsolute(paths.dataDirSetting)
      ? 'Point data_dir elsewhere (e.g. leave it relative, under the working directory).'
      : `Give a --workdir outside /tmp and /var/tmp (data_dir ${paths.dataDirSetting} is relative to it).`;
    warnings.push(
      `data_dir ${paths.dataDir} is under ${dataTmp}: the unit has PrivateTmp=yes, so the service writes to a private copy that systemd deletes on every stop, and the CLI can't see it. ${fix}`,
    );
  }
  const configTmp = tmpRoot(paths.config);
  if (configTmp)
    warnings.push(
      `config ${paths.config} is under ${configTmp}: the unit has PrivateTmp=yes, so the service sees an empty private ${configTmp} and cannot read it; put the config elsewhere (e.g. /etc/auraison-edge/edge.yaml).`,
    );
  const binTmp = tmpRoot(paths.bin);
  if (binTmp)
    warnings.push(
      `this checkout (${paths.bin}) is under ${binTmp}: the unit runs it from there, and with PrivateTmp=yes the service sees an empty private ${binTmp}; install from a checkout elsewhere (e.g. /opt/auraison-edge).`,
    );
  return warnings;
}
