import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, tempDir } from '../helpers/cli.ts';

const work = tempDir('systemd-');
afterAll(() => work.cleanup());
const config = join(work.path, 'edge.yaml');
writeFileSync(config, 'robot:\n  id: tb3-01\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: true\n');

describe('systemd integration', () => {
  it('install-service writes a unit that systemd-analyze verify accepts', async () => {
    const unitFile = join(work.path, 'auraison-edge.service');
    const r = await runCli(['install-service', '--config', config, '--run-as', 'root', '--workdir', work.path, '--output', unitFile], { cwd: work.path });
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

  it('refuses to install a service whose config is invalid', async () => {
    const bad = join(work.path, 'bad.yaml');
    writeFileSync(bad, 'sim:\n  sped: 3\n');
    const r = await runCli(['install-service', '--config', bad, '--dry-run'], { cwd: work.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yaml: sim.sped: unknown key (did you mean "speed"?)');
    const missing = await runCli(['install-service', '--dry-run'], { cwd: work.path });
    expect(missing.code).toBe(2);
  });

  it('under systemd, notifies READY, pings the watchdog and notifies STOPPING', async () => {
    // A stand-in for the systemd-notify tool on PATH that records what the daemon asked it to send.
    const bin = join(work.path, 'bin');
    const calls = join(work.path, 'notify-calls.txt');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(join(bin, 'systemd-notify'), 0o755);
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], {
      cwd: work.path,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/fake/notify', WATCHDOG_USEC: '200000' },
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const until = Date.now() + 30_000;
    const seen = () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '');
    while (Date.now() < until && !seen().includes('WATCHDOG=1')) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = seen().trim().split('\n');
    expect(lines[0]).toBe(`--pid=${child.pid} --ready --status=running`);
    expect(lines).toContain(`--pid=${child.pid} WATCHDOG=1`);
    expect(lines.at(-1)).toBe(`--pid=${child.pid} STOPPING=1`);
  });

  it('ships a ros2 launch file that is valid Python (ROS 2 itself is not installable here)', () => {
    const r = spawnSync('python3', ['-m', 'py_compile', join(ROOT, 'launch/auraison_edge.launch.py')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
