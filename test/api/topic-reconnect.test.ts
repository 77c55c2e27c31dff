// `topic echo` and `topic hz` across a daemon restart, as `ros2 topic echo` keeps waiting for a publisher
// that went away: the daemon (sim, API and Foxglove on free ports, so both ports change) is stopped and
// started again on the same data dir while the CLI's main() runs in this process; the CLI finds the new
// ports through run/api.json and GET /status, as at its start.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

const cleanups = cleanupStack();

/** A daemon on a fixed data dir that can be stopped and started again; the config file the CLI is given. */
function restartable() {
  const dir = tempDir('topic-reconnect-');
  cleanups.push(dir.cleanup);
  const file = join(dir.path, 'edge.yaml');
  const yaml = [
    'data_dir: ./data',
    'sim: {enabled: true, speed: 10}',
    'api: {port: 0}',
    'foxglove: {port: 0}',
    'agent: {enabled: false}',
    'lakehouse: {enabled: false}',
    'retention: {enabled: false}',
  ].join('\n');
  writeFileSync(file, yaml);
  let daemon: Daemon | undefined;
  const start = async () => {
    daemon = new Daemon({ config: parseConfigText(yaml, file), log: pino({ level: 'silent' }), cwd: dir.path });
    await daemon.start();
    return daemon.ports.get(PORTS.foxglove)!.url!;
  };
  const stop = async () => {
    await daemon?.close();
    daemon = undefined;
  };
  cleanups.push(stop);
  return { dir: dir.path, file, start, stop };
}

/** Runs the CLI's main() in this process, with its output readable while it runs. */
async function running(args: string[], cwd: string) {
  const { main } = await import('../../daemon/cli/main.ts');
  const out = { stdout: '', stderr: '' };
  const done = main(args, {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    env: { ...process.env },
    cwd,
  });
  return { out, done };
}

describe('topic echo and hz when the daemon restarts', () => {
  it(
    'echo says the connection is lost, finds the restarted daemon on its new ports and goes on',
    { timeout: 60_000 },
    async () => {
      const d = restartable();
      const firstUrl = await d.start();
      const { out, done } = await running(
        ['topic', 'echo', '/odom', '--json', '--count', '60', '--config', d.file],
        d.dir,
      );
      await waitFor(() => out.stdout.split('\n').length > 10, 'odometry printed');
      await d.stop();
      await waitFor(() => out.stderr.includes('reconnecting'), 'echo to say it is reconnecting');
      const before = out.stdout.split('\n').length - 1;
      expect(before).toBeLessThan(60);
      const secondUrl = await d.start();
      expect(secondUrl).not.toBe(firstUrl);

      expect(await done).toBe(0);
      const lines = out.stdout.trim().split('\n');
      expect(lines).toHaveLength(60);
      for (const line of lines)
        expect(JSON.parse(line)).toMatchObject({ header: { frame_id: 'odom' }, child_frame_id: 'base_footprint' });
      const said = out.stderr.trim().split('\n');
      expect(said).toEqual([
        expect.stringMatching(
          /^auraison-edge topic echo: the server closed the connection \(code \d+.*\); reconnecting every 1 s \(Ctrl-C to stop\)$/,
        ),
        `auraison-edge topic echo: reconnected to ${secondUrl}`,
      ]);
    },
  );

  it(
    'echo --timeout still ends when the daemon does not come back, and --no-reconnect ends at once',
    { timeout: 60_000 },
    async () => {
      const d = restartable();
      await d.start();
      const waiting = await running(['topic', 'echo', '/odom', '--timeout', '2', '--config', d.file], d.dir);
      const leaving = await running(['topic', 'echo', '/odom', '--no-reconnect', '--config', d.file], d.dir);
      await waitFor(() => waiting.out.stdout.includes('---') && leaving.out.stdout.includes('---'), 'odometry printed');
      await d.stop();
      expect(await leaving.done).toBe(1);
      expect(leaving.out.stderr).toMatch(
        /the server closed the connection .*; \d+ message\(s\) printed\. Is the daemon still running\?/,
      );
      expect(await waiting.done).toBe(1);
      expect(waiting.out.stderr).toMatch(
        /reconnecting every 1 s[^]*no message printed from \/odom within 2 s of the last one/,
      );
    },
  );

  it('hz goes on after the restart, and the time without the daemon is no interval', { timeout: 60_000 }, async () => {
    const d = restartable();
    await d.start();
    // Long enough for a restart on a loaded machine (a daemon's start took over 4 s there): hz must see it.
    const { out, done } = await running(['topic', 'hz', '/odom', '--duration', '20', '--config', d.file], d.dir);
    await waitFor(() => out.stdout.includes('average rate'), 'a first rate');
    await d.stop();
    // eslint-disable-next-line tests/no-fixed-wait -- the gap under test: over 1 s, which hz must not count
    await new Promise((r) => setTimeout(r, 1200));
    await d.start();
    expect(await done).toBe(0);
    expect(out.stderr).toContain('auraison-edge topic hz: reconnected to ws://');
    // /odom is 30 Hz of sim time at 10x: intervals of a few ms. The gap of more than a second is not one.
    const maxima = [...out.stdout.matchAll(/max: ([\d.]+)s/g)].map((m) => Number(m[1]));
    expect(maxima.length).toBeGreaterThan(0);
    expect(Math.max(...maxima)).toBeLessThan(1);
    expect(out.stdout).toMatch(/\d+ message\(s\) on \/odom in \d+\.\d s\n$/);
  });
});
