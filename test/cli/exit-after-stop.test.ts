import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';

const work = tempDir('exit-after-stop-');
/** The stand-ins started (each STOPPING=1 starts one), killed after the test. */
const standIns: number[] = [];
let daemon: DaemonProcess | undefined;
afterAll(() => {
  daemon?.child.kill('SIGKILL'); // when the test failed with it still running
  for (const pid of standIns) if (alive(pid)) process.kill(pid, 'SIGKILL');
  work.cleanup();
});

/** Whether process `pid` is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('auraison-edge run after its stop', () => {
  it('exits once the stop is done though something it started still holds the event loop, and says what', async () => {
    // Something the daemon started that outlives its stop and its own bounds: a systemd-notify stand-in that takes
    // STOPPING=1 and neither returns nor dies of the SIGTERM the notifier's timeout sends it (a PID 1 that hangs,
    // a process in uninterruptible sleep). Its child handle keeps Node's event loop alive.
    const bin = join(work.path, 'bin');
    const pidFile = join(work.path, 'stand-in.pid');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'systemd-notify'),
      `#!/bin/sh\ncase "$*" in *STOPPING=1*) trap '' TERM; echo $$ >> ${pidFile}; exec sleep 600;; esac\n`,
    );
    chmodSync(join(bin, 'systemd-notify'), 0o755);
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, 'log: {level: info}\napi: {port: 0}\nfoxglove: {port: 0}\n');
    daemon = new DaemonProcess(work.path, config, {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      NOTIFY_SOCKET: '/run/stand-in/notify',
    });
    await daemon.running();

    daemon.child.kill('SIGTERM');
    await waitFor(() => {
      try {
        standIns.push(...readFileSync(pidFile, 'utf8').trim().split('\n').map(Number));
        return true;
      } catch {
        return false;
      }
    }, 'STOPPING=1 sent');
    expect(await daemon.exited).toBe(0);
    standIns.splice(0, standIns.length, ...readFileSync(pidFile, 'utf8').trim().split('\n').map(Number));
    // It exited while the stand-in still ran: the stop's end, not the stand-in's, ended the process.
    expect(standIns.some(alive)).toBe(true);
    const lines = daemon.logs.map((l) => String(l.msg));
    const stopped = lines.indexOf('daemon stopped');
    const exiting = lines.findIndex(
      (l) => l.startsWith('auraison-edge: exiting with') && l.includes('still open after the stop'),
    );
    expect(stopped, lines.join('\n')).toBeGreaterThanOrEqual(0);
    expect(exiting, lines.join('\n')).toBeGreaterThan(stopped);
    expect(lines[exiting]).toMatch(/ProcessWrap/); // names what was still open
  }, 60_000);
});
