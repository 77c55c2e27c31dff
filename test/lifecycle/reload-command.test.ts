// `auraison-edge reload`, the unit's ExecReload: SIGHUP to the running daemon, then its outcome. With
// `ExecReload=/bin/kill -HUP $MAINPID`, `systemctl reload` returned before the reload was done and succeeded
// for a file the daemon then rejected.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { statusFilePath } from '../../daemon/status/status-file.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { writeStatusFile } from '../helpers/status-file.ts';
import { waitFor } from '../helpers/wait.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';

const work = tempDir('reload-command-');
const config = join(work.path, 'edge.yaml');
const BASE = 'robot:\n  id: tb3-reload\napi:\n  enabled: false\nfoxglove:\n  enabled: false\nsim:\n  enabled: false\n';
writeFileSync(config, BASE);
let daemon: DaemonProcess | undefined;
afterAll(async () => {
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  work.cleanup();
});

describe('auraison-edge reload', () => {
  it('waits for the outcome: applied (exit 0), rejected (exit 1, the problems named), and a file that does not parse, given the pid', async () => {
    daemon = new DaemonProcess(work.path, config);
    await daemon.running();
    await waitFor(() => existsSync(statusFilePath(join(work.path, '.auraison-edge'))), 'the status file');

    const applied = await runMain(['reload', '--config', config], { cwd: work.path });
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe(`reload applied (${config}): no component restarted\n`);
    expect(applied.code).toBe(0);

    writeFileSync(config, `${BASE}recorder:\n  split_max_bytes: "1GB"\n`);
    const rejected = await runMain(['reload', '--config', config, '--json'], { cwd: work.path });
    expect(rejected.code).toBe(1);
    const { pid, outcome } = JSON.parse(rejected.stdout) as {
      pid: number;
      outcome: { ok: boolean; error: string; totals: { applied: number; rejected: number } };
    };
    expect(pid).toBe(daemon.child.pid);
    expect(outcome).toMatchObject({ ok: false, totals: { applied: 1, rejected: 1 } });
    expect(outcome.error).toContain('recorder.split_max_bytes');

    // Not even its data_dir readable: with the pid (as systemd gives it) the daemon is still told, and it rejects it
    // too.
    writeFileSync(config, `${BASE}camera: [\n`); // an unclosed flow sequence
    const broken = await runMain(['reload', '--config', config, '--pid', String(daemon.child.pid)], { cwd: work.path });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /^reload REJECTED, the running config stays: .*edge\.yaml.* \(sent SIGHUP to pid \d+, which rejects it too; fix the file and reload again\)\n$/,
    );
    await daemon.waitForLog(
      (l) =>
        l.msg === 'config reload rejected; the running config stays in force' &&
        /edge\.yaml: line \d+/.test(String(l.err)),
      'the daemon rejecting the broken file',
    );

    writeFileSync(config, BASE);
    await daemon.kill();
    const gone = await runMain(['reload', '--config', config], { cwd: work.path });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(
      /^auraison-edge reload: no daemon is running with data dir .*\.auraison-edge \(pid \d+ is gone\); nothing was reloaded\n$/,
    );
  });

  it('signals no process that a status file left by a killed daemon names, since that pid is no daemon now', async () => {
    // After kill -9 or a power cut the file still says running; pids wrap, and after a reboot they start over.
    const dir = tempDir('reload-stale-');
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const stale = writeStatusFile(dir.path, { pid: bystander.pid });
      const r = await runMain(['reload', '--config', stale], { cwd: dir.path });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^auraison-edge reload: no daemon is running with data dir .*: its status file names pid ${bystander.pid}, but nothing holds the data dir .*; nothing was reloaded\n$`,
        ),
      );
      // Had it been sent a SIGHUP, that would have ended it (sleep's default), before this SIGTERM.
      const ended = new Promise((resolve) => bystander.once('exit', (_code, signal) => resolve(signal)));
      bystander.kill('SIGTERM');
      expect(await ended).toBe('SIGTERM');
    } finally {
      bystander.kill('SIGKILL');
      dir.cleanup();
    }
  });

  it('refuses a bad --pid or --timeout (exit 2)', async () => {
    expect(await runMain(['reload', '--pid', 'x'], { cwd: work.path })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--pid: expected a process id (an integer > 0), got "x"'),
    });
    expect(await runMain(['reload', '--timeout', '0'], { cwd: work.path })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--timeout: expected seconds > 0, got "0"'),
    });
  });
});
