import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadConfigFile } from '../../config/load.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';

export const command: Command = {
  name: 'install-service',
  summary: 'Install the daemon as a systemd service (system or --user unit)',
  help: `Usage: auraison-edge install-service --config FILE [--user] [--run-as USER] [--workdir DIR]
                                    [--output FILE | --dry-run]

Writes a systemd unit that runs \`auraison-edge run --config FILE\` with Type=notify, a 10 s watchdog that
is pinged only while the control loops are alive, restart on failure (but not on an invalid config, exit 2)
and SIGHUP for reloads (\`systemctl reload auraison-edge\`). The config is validated first.

Options:
  --config FILE   the daemon's config (required); made absolute
  --user          a user unit in ~/.config/systemd/user (no root needed); default: a system unit in
                  /etc/systemd/system
  --run-as USER   system units: the account to run as (default: $SUDO_USER, else the current user)
  --workdir DIR   working directory; a relative data_dir lives under it
                  (default: /var/lib/auraison-edge, or ~/.local/share/auraison-edge with --user)
  --output FILE   write the unit here instead
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
    if (!values.config) throw new UsageError('--config FILE is required: the service needs a config (start from edge.example.yaml)');
    const config = resolve(io.cwd, values.config);
    loadConfigFile(config, io.env); // refuse to install a service that would exit 2 at once
    const user = Boolean(values.user);
    if (user && values['run-as']) throw new UsageError('--run-as is for system units; a --user unit runs as you');
    const { renderUnit, BIN } = await import('../../../systemd/unit.ts');
    const workdir = resolve(io.cwd, values.workdir ?? (user ? join(homedir(), '.local/share/auraison-edge') : '/var/lib/auraison-edge'));
    const unit = renderUnit({ node: process.execPath, bin: BIN, config, workdir, user, runAs: values['run-as'] ?? io.env.SUDO_USER ?? userInfo().username });
    if (values['dry-run']) {
      io.stdout(unit);
      return 0;
    }
    const target = values.output ? resolve(io.cwd, values.output) : user ? join(homedir(), '.config/systemd/user/auraison-edge.service') : '/etc/systemd/system/auraison-edge.service';
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(workdir)) mkdirSync(workdir, { recursive: true });
    writeFileSync(target, unit);
    const ctl = user ? 'systemctl --user' : 'systemctl';
    io.stdout(`wrote ${target}\nnext: ${ctl} daemon-reload && ${ctl} enable --now auraison-edge\nlogs: journalctl ${user ? '--user ' : ''}-u auraison-edge -f\n`);
    return 0;
  },
};
