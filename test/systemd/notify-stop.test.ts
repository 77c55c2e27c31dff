import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';

const work = tempDir('notify-stop-');
afterAll(() => work.cleanup());

describe('the stop under systemd', () => {
  it('is not held up by a STOPPING=1 that systemd is slow to take (systemd-notify waits until PID 1 reads it)', async () => {
    // A stand-in for systemd-notify on PATH: READY and the watchdog pings go through; STOPPING=1 blocks, as
    // the real tool does while PID 1 is busy (a daemon-reload of many units), until its 5 s timeout kills it.
    const bin = join(work.path, 'bin');
    const asked = join(work.path, 'stopping-asked');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'systemd-notify'),
      `#!/bin/sh\ncase "$*" in *STOPPING=1*) touch ${asked}; exec sleep 8;; esac\n`,
    );
    chmodSync(join(bin, 'systemd-notify'), 0o755);
    // Info lines: the daemon's 'daemon running' and 'daemon stopped' are what the test reads.
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, 'log: {level: info}\napi: {port: 0}\nfoxglove: {port: 0}\n');
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], {
      cwd: work.path,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/stand-in/notify' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => stderr.includes('daemon running'), 'the daemon to run', 30_000);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(asked)).toBe(true); // STOPPING=1 was sent
    const lines = stderr.split('\n');
    const stopped = lines.findIndex((l) => l.includes('"daemon stopped"'));
    expect(stopped, stderr).toBeGreaterThanOrEqual(0);
    // The stop went on beside the notification: it ended before the tool gave up on STOPPING=1.
    const failed = lines.findIndex((l) => l.includes('systemd-notify failed'));
    expect(failed === -1 || failed > stopped, stderr).toBe(true);
  });
});
