import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { privateTmpWarnings } from '../../daemon/cli/commands/install-service.ts';
import { BIN, ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { peerHere } from '../peers/missing.ts';
import { waitFor } from '../helpers/wait.ts';

const work = tempDir('systemd-');
afterAll(() => work.cleanup());
const config = join(work.path, 'edge.yaml');
writeFileSync(config, 'robot:\n  id: tb3-01\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: true\n');

describe('systemd integration', () => {
  it('install-service writes a unit that systemd-analyze verify accepts', async () => {
    const unitFile = join(work.path, 'auraison-edge.service');
    const r = await runMain(
      ['install-service', '--config', config, '--run-as', 'root', '--workdir', work.path, '--output', unitFile],
      { cwd: work.path },
    );
    expect(r.code).toBe(0);
    const unit = readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${BIN} run --config ${config}`);
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^WatchdogSec=10$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=2$/m);
    expect(unit).not.toMatch(/@[A-Z_]+@/);
    const verify = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
    expect(verify.stderr.split('\n').filter((l) => l.includes('auraison-edge.service'))).toEqual([]);
    expect(verify.status).toBe(0);
  });

  /** systemd-analyze verify on a unit file: the lines about it (none when it is valid) and the exit code. */
  function verify(unitFile: string) {
    const r = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
    return { problems: r.stderr.split('\n').filter((l) => l.includes('auraison-edge.service')), status: r.status };
  }

  it('by default gives a system unit a state directory systemd makes for the run-as user, and a Group= only when the account has one', async () => {
    const r = await runMain(['install-service', '--config', config, '--run-as', 'nobody', '--dry-run'], {
      cwd: work.path,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^StateDirectory=auraison-edge\nWorkingDirectory=%S\/auraison-edge$/m);
    expect(r.stdout).toMatch(/^User=nobody$/m);
    const group = spawnSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).stdout.trim();
    expect(r.stdout).toMatch(new RegExp(`^Group=${group}$`, 'm'));
    // Verified as root: for User=nobody systemd-analyze adds "Special user nobody configured, this is not safe!".
    const asRoot = await runMain(['install-service', '--config', config, '--run-as', 'root', '--dry-run'], {
      cwd: work.path,
    });
    const unitFile = join(work.path, 'default', 'auraison-edge.service');
    mkdirSync(join(work.path, 'default'), { recursive: true });
    writeFileSync(unitFile, asRoot.stdout);
    expect(asRoot.stdout).toMatch(/^WorkingDirectory=%S\/auraison-edge$/m);
    expect(verify(unitFile)).toEqual({ problems: [], status: 0 });

    const none = await runMain(['install-service', '--config', config, '--run-as', 'no-such-account-x', '--dry-run'], {
      cwd: work.path,
    });
    expect(none.stdout).not.toMatch(/^Group=/m);
    expect(none.stderr).toContain('no account no-such-account-x on this host');
  });

  // Giving a directory away needs root; run as another user, install-service can only make it its own.
  const asRoot = peerHere(
    process.getuid?.() === 0,
    'giving a directory to another account needs root: run test/systemd/systemd.test.ts as root, as CI does',
    { required: false },
  );
  it.runIf(asRoot)('a root install gives a --workdir it makes to the run-as user', async () => {
    const wd = join(work.path, 'made-for-nobody');
    const r = await runMain(
      [
        'install-service',
        '--config',
        config,
        '--run-as',
        'nobody',
        '--workdir',
        wd,
        '--output',
        join(work.path, 'nobody.service'),
      ],
      { cwd: work.path },
    );
    expect(r.code).toBe(0);
    const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    expect(statSync(wd).uid).toBe(uid);
  });

  it('writes paths with spaces, % and $ so that systemd reads them back as they are', async () => {
    const odd = join(work.path, 'probe ops %i $HOME');
    mkdirSync(odd, { recursive: true });
    const oddConfig = join(odd, 'edge.yaml');
    writeFileSync(oddConfig, 'robot:\n  id: tb3-01\nsim:\n  enabled: false\n');
    const unitFile = join(work.path, 'odd', 'auraison-edge.service');
    const r = await runMain(
      ['install-service', '--config', oddConfig, '--run-as', 'root', '--workdir', odd, '--output', unitFile],
      { cwd: work.path },
    );
    expect(r.code).toBe(0);
    const unit = readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`WorkingDirectory=${work.path}/probe ops %%i $HOME\n`);
    expect(unit).toContain(` run --config "${work.path}/probe ops %%i $$HOME/edge.yaml"\n`);
    expect(verify(unitFile)).toEqual({ problems: [], status: 0 });
  });

  it('leaves AmbientCapabilities and LimitRTPRIO out of a --user unit, which a user manager cannot grant', async () => {
    const r = await runMain(['install-service', '--config', config, '--user', '--workdir', work.path, '--dry-run'], {
      cwd: work.path,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/^AmbientCapabilities=/m);
    expect(r.stdout).not.toMatch(/^LimitRTPRIO=/m);
    expect(r.stdout).not.toMatch(/^User=/m);
    const system = await runMain(['install-service', '--config', config, '--run-as', 'root', '--dry-run'], {
      cwd: work.path,
    });
    expect(system.stdout).toMatch(/^AmbientCapabilities=CAP_SYS_NICE$/m);
  });

  it('warns when data_dir is under /tmp or /var/tmp, which PrivateTmp= makes private and deletes on stop', async () => {
    const tmpConfig = join(work.path, 'tmp-data.yaml');
    writeFileSync(tmpConfig, 'data_dir: /var/tmp/auraison-edge-data\nsim:\n  enabled: false\n');
    const r = await runMain(['install-service', '--config', tmpConfig, '--run-as', 'root', '--dry-run'], {
      cwd: work.path,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'warning: data_dir /var/tmp/auraison-edge-data is under /var/tmp: the unit has PrivateTmp=yes',
    );
    const fine = await runMain(['install-service', '--config', config, '--run-as', 'root', '--dry-run'], {
      cwd: work.path,
    });
    expect(fine.stderr).not.toContain('warning: data_dir');
  });

  it('warns when the config or the checkout is under /tmp, where the service (PrivateTmp=yes) cannot see it', async () => {
    const warnings = (paths: { dataDir?: string; config?: string; bin?: string }) =>
      privateTmpWarnings({
        dataDir: paths.dataDir ?? '/var/lib/auraison-edge',
        dataDirSetting: paths.dataDir ?? './.auraison-edge',
        config: paths.config ?? '/etc/auraison-edge/edge.yaml',
        bin: paths.bin ?? '/opt/auraison-edge/bin/auraison-edge.js',
      });
    expect(warnings({})).toEqual([]);
    expect(warnings({ config: '/tmp/x/edge.yaml' })).toEqual([
      expect.stringMatching(/^config \/tmp\/x\/edge\.yaml is under \/tmp: .* cannot read it; put the config elsewhere/),
    ]);
    expect(warnings({ bin: '/var/tmp/co/bin/auraison-edge.js' })).toEqual([
      expect.stringMatching(/^this checkout \(\/var\/tmp\/co\/bin\/auraison-edge\.js\) is under \/var\/tmp: /),
    ]);
    expect(warnings({ config: '/tmpfiles/edge.yaml', bin: '/home/r/tmp/bin/auraison-edge.js' })).toEqual([]);
    // And through the CLI: a config in a temp dir gets the warning, the unit is still written.
    const r = await runMain(['install-service', '--config', config, '--run-as', 'root', '--dry-run'], {
      cwd: work.path,
    });
    expect(r.code).toBe(0);
    if (config.startsWith('/tmp/'))
      expect(r.stderr).toContain(`warning: config ${config} is under /tmp: the unit has PrivateTmp=yes`);
  });

  it("gives a unit with ros.enabled its environment file, and warns until that file has ROS 2's environment", async () => {
    const rosConfig = join(work.path, 'ros.yaml');
    writeFileSync(rosConfig, 'ros: {enabled: true, topics: [/joint_states]}\n');
    const envFile = join(work.path, 'ros.env');
    const install = () =>
      runMain(['install-service', '--config', rosConfig, '--run-as', 'root', '--env-file', envFile, '--dry-run'], {
        cwd: work.path,
      });
    const bare = await install();
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout).toContain(`\nEnvironmentFile=${envFile}\n`);
    expect(bare.stderr).toMatch(
      /warning: ros\.enabled, and a service gets none of this shell's ROS 2 environment: write it to .*ros\.env \(`source \/opt\/ros\/\w+\/setup\.bash && env \| grep .*`\), with ROS_DOMAIN_ID=N /,
    );
    writeFileSync(envFile, 'ROS_DISTRO=jazzy\nAMENT_PREFIX_PATH=/opt/ros/jazzy\nROS_DOMAIN_ID=42\n');
    const sourced = await install();
    expect(sourced.code, sourced.stderr).toBe(0);
    expect(sourced.stdout).toContain(`\nEnvironmentFile=${envFile}\n`);
    expect(sourced.stderr).not.toContain('ROS 2 environment');
  });

  it('refuses to install a service whose config is invalid', async () => {
    const bad = join(work.path, 'bad.yaml');
    writeFileSync(bad, 'sim:\n  sped: 3\n');
    const r = await runMain(['install-service', '--config', bad, '--dry-run'], { cwd: work.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yaml: sim.sped: unknown key (did you mean "speed"?)');
    const missing = await runMain(['install-service', '--dry-run'], { cwd: work.path });
    expect(missing.code).toBe(2);
  });

  it('under systemd, extends the start timeout while starting, notifies READY, pings the watchdog and notifies STOPPING', async () => {
    // A stand-in for the systemd-notify tool on PATH that records what the daemon asked it to send.
    const bin = join(work.path, 'bin');
    const calls = join(work.path, 'notify-calls.txt');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(join(bin, 'systemd-notify'), 0o755);
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], {
      cwd: work.path,
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        NOTIFY_SOCKET: '/run/fake/notify',
        WATCHDOG_USEC: '200000',
      },
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const seen = () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '');
    await waitFor(() => seen().includes('WATCHDOG=1'), 'the first WATCHDOG=1', 30_000).finally(() =>
      child.kill('SIGTERM'),
    );
    expect(await exited).toBe(0);
    const lines = seen().trim().split('\n');
    // The start asks for more time first (its components take turns, each within its own start timeout).
    expect(lines[0]).toBe(`--pid=${child.pid} EXTEND_TIMEOUT_USEC=30000000 --status=starting`);
    expect(lines.filter((l) => !l.includes('EXTEND_TIMEOUT_USEC'))[0]).toBe(
      `--pid=${child.pid} --ready --status=running`,
    );
    expect(lines).toContain(`--pid=${child.pid} WATCHDOG=1`);
    expect(lines.at(-1)).toBe(`--pid=${child.pid} STOPPING=1`);
  });

  it('the launch file respawns after a delay, never after exit code 2 (it logs and shuts the launch down), and takes any config path', () => {
    // Run against a double of ros2 launch's API (test/doubles/ros2-launch): ROS 2 is not installed here.
    const inspect = (configs: Record<string, string>) => {
      const r = spawnSync(
        'python3',
        [
          join(ROOT, 'test/doubles/ros2-launch/inspect_launch.py'),
          join(ROOT, 'launch/auraison_edge.launch.py'),
          JSON.stringify(configs),
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, PYTHONPATH: join(ROOT, 'test/doubles/ros2-launch'), PYTHONDONTWRITEBYTECODE: '1' },
        },
      );
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as {
        cmd: string[];
        respawn: string;
        respawn_delay: number;
        on_exit: Record<string, { log?: string; emit?: string; raises?: string }[]>;
      }[];
    };
    const quoted = "/etc/auraison-edge/robot's edge.yaml";
    const [withConfig, ...others] = inspect({ config: quoted });
    expect(others).toEqual([]);
    // setpriv first where util-linux has it: the kernel sends the daemon SIGINT if launch exits on SIGTERM.
    const afterBin = (cmd: string[]) => cmd.slice(cmd.findIndex((c) => c.endsWith('auraison-edge.js')) + 1);
    expect(withConfig!.cmd.slice(0, 3)).toEqual([expect.stringMatching(/setpriv$/), '--pdeathsig', 'SIGINT']);
    expect(afterBin(withConfig!.cmd)).toEqual(['run', '--config', quoted]);
    expect(withConfig!.respawn).toBe('true');
    expect(withConfig!.respawn_delay).toBe(2);
    expect(withConfig!.on_exit['1']).toEqual([]);
    // Raised: launch logs it and ends with exit code 1 (test/ros2/ros2-launch.test.ts runs it under ros2 launch).
    expect(withConfig!.on_exit['2']).toEqual([{ raises: expect.stringContaining('exited with code 2') }]);
    const [withoutConfig] = inspect({ config: '' });
    expect(afterBin(withoutConfig!.cmd)).toEqual(['run']);
  });

  it('ships a ros2 launch file that is valid Python (ROS 2 itself is not installable here)', () => {
    const r = spawnSync('python3', ['-m', 'py_compile', join(ROOT, 'launch/auraison_edge.launch.py')], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
