import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { loadConfigFile, resolveDataDir } from '../../config/index.ts';
import { type Command, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';

export const command: Command = {
  name: 'install-service',
  summary: 'Install the daemon as a systemd service (system or --user unit)',
  help: `Usage: auraison-edge install-service --config FILE [--user] [--run-as USER] [--workdir DIR]
                                    [--output FILE | --dry-run]

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
  --output FILE   write the unit here instead (then copy it to where systemd looks, as the output says)
  --dry-run       print the unit instead of writing it

Then: systemctl [--user] daemon-reload && systemctl [--user] enable --now auraison-edge
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string' },
      user: { type: 'boolean' },
      'run-as': { type: 'string' },
      workdir: { type: 'string' },
      output: { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    if (!values.config)
      throw new UsageError('--config FILE is required: the service needs a config (start from edge.example.yaml)');
    const config = resolve(io.cwd, values.config);
    const { config: parsed } = loadConfigFile(config, io.env); // refuse to install a service that would exit 2 at once
    const user = Boolean(values.user);
    if (user && values['run-as']) throw new UsageError('--run-as is for system units; a --user unit runs as you');
    const { renderUnit, BIN, STATE_DIRECTORY } = await import('../../../systemd/unit.ts');
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

/** The account's ids and primary group name, from `id`; undefined when the host has no such account. */
function lookUpAccount(name: string): { uid: number; gid: number; group: string } | undefined {
  const id = (flag: string) => {
    const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const [uid, gid, group] = [id('-u'), id('-g'), id('-gn')];
  return uid && gid && group ? { uid: Number(uid), gid: Number(gid), group } : undefined;
}

/** A path as a shell word, for a command the user copies: quoted only when it has to be. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
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
