// `auraison-edge topic list|echo|hz` against a whole daemon (sim at speed 10, API and Foxglove on free
// ports), run through the CLI's main() in this process; the CLI finds the Foxglove server through the
// API's GET /status, as a user's would. One test spawns the real binary: Ctrl-C and a closed pipe.
import { spawn } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { startTopicDaemon } from './topic-daemon.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { BIN, runMain } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { PORTS } from '../../daemon/contract/index.ts';

let daemon: Daemon;
let stop: () => Promise<void>;
let dir: string;
let config: string;

beforeAll(async () => {
  ({ daemon, stop, dir, config } = await startTopicDaemon(
    { foxglove: { port: 0 }, agent: { enabled: false } },
    'topic-command-',
  ));
}, 60_000);
afterAll(async () => stop?.());

const topic = (...args: string[]) => runMain(['topic', ...args, '--config', config], { cwd: dir });

type Odometry = {
  header: { stamp: { sec: number; nanosec: number }; frame_id: string };
  child_frame_id: string;
  pose: { pose: { position: Record<string, number> }; covariance: number[] };
};

describe('auraison-edge topic list', () => {
  it('lists the bus topics, with their types under -t, sorted, and as JSON', async () => {
    const plain = await topic('list');
    expect(plain.code, plain.stderr).toBe(0);
    const names = plain.stdout.trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['/odom', '/scan', '/map', '/tf']));
    expect(names).toEqual([...names].sort());
    expect(names).not.toContain('/auraison/events'); // the journal's channel is no bus topic

    const typed = await topic('list', '-t');
    expect(typed.stdout).toContain('/odom [nav_msgs/msg/Odometry]\n');
    expect(typed.stdout).toContain('/scan [sensor_msgs/msg/LaserScan]\n');

    const json = await topic('list', '--json');
    const body = JSON.parse(json.stdout) as { url: string; topics: { topic: string; type: string }[] };
    expect(body.url).toBe(daemon.ports.get(PORTS.foxglove)!.url!);
    expect(body.topics).toContainEqual({ topic: '/odom', type: 'nav_msgs/msg/Odometry' });
  });
});

describe('auraison-edge topic echo', () => {
  it('--once prints one message as a YAML document followed by ---, as ros2 topic echo does', async () => {
    const r = await topic('echo', '/odom', '--once');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^header:\n {2}stamp:\n {4}sec: \d+\n {4}nanosec: \d+\n {2}frame_id: odom\nchild_frame_id: base_footprint\npose:\n {2}pose:\n {4}position:\n {6}x: -?\d/,
    );
    expect(r.stdout.endsWith('\n---\n')).toBe(true);
    expect(r.stdout.match(/^---$/gm)).toHaveLength(1);
    // A fixed array under a key in block style, float64s written as Python writes them (0.0, 1.0e-05).
    expect(r.stdout).toMatch(/\n {2}covariance:\n( {2}- \d+\.\d+(e[+-]\d\d)?\n){36}/);
    expect(r.stdout).toContain('\n  - 0.0\n');
    const [doc] = parseAllDocuments(r.stdout);
    const odom = doc!.toJS() as Odometry;
    expect(odom.header.frame_id).toBe('odom');
    expect(odom.pose.covariance).toHaveLength(36);
  });

  it('--count 3 --json prints three JSON lines of successive messages', async () => {
    const r = await topic('echo', 'odom', '--count', '3', '--json'); // a relative name is taken from the root
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    const msgs = lines.map((l) => JSON.parse(l) as Odometry);
    expect(msgs.map((m) => m.header.frame_id)).toEqual(['odom', 'odom', 'odom']);
    const stamps = msgs.map((m) => m.header.stamp.sec * 1e9 + m.header.stamp.nanosec);
    expect(stamps[1]).toBeGreaterThan(stamps[0]!);
    expect(stamps[2]).toBeGreaterThan(stamps[1]!);
  });

  it('--field prints only that field, in YAML and in JSON', async () => {
    const position = await topic('echo', '/odom', '--once', '--field', 'pose.pose.position');
    expect(position.code, position.stderr).toBe(0);
    const doc = parseAllDocuments(position.stdout)[0]!.toJS() as Record<string, number>;
    expect(Object.keys(doc)).toEqual(['x', 'y', 'z']);
    expect(typeof doc.x).toBe('number');

    const frame = await topic('echo', '/odom', '--once', '--field', 'header.frame_id');
    expect(frame.stdout).toBe('odom\n---\n');
    const stamp = await topic('echo', '/odom', '--once', '--json', '--field', 'header.stamp');
    expect(Object.keys(JSON.parse(stamp.stdout) as object)).toEqual(['sec', 'nanosec']);
    const beam = await topic('echo', '/scan', '--once', '--field', 'ranges[0]');
    expect(beam.stdout).toMatch(/^(\d+\.\d+(e[+-]\d+)?|\.inf)\n---\n$/);
  });

  it('cuts a 360-beam scan after 128 ranges (saying so), and --no-arr / --full-length print it as ros2 does', async () => {
    const cut = await topic('echo', '/scan', '--once');
    expect(cut.code, cut.stderr).toBe(0);
    const ranges = cut.stdout.slice(cut.stdout.indexOf('ranges:\n'), cut.stdout.indexOf('intensities:'));
    expect(ranges.match(/^- /gm)).toHaveLength(129);
    expect(ranges).toContain("- '...'  # 360 items, 128 shown: --full-length prints all\n");
    const scan = parseAllDocuments(cut.stdout)[0]!.toJS() as { header: { frame_id: string } };
    expect(scan.header.frame_id).toBe('base_scan');

    const summary = await topic('echo', '/scan', '--once', '--no-arr');
    expect(summary.stdout).toContain("ranges: '<sequence type: float, length: 360>'\n");
    const whole = await topic('echo', '/scan', '--once', '--full-length', '--field', 'ranges');
    expect(whole.stdout.match(/^- /gm)).toHaveLength(360);
    const json = await topic('echo', '/scan', '--once', '--json', '--field', 'ranges');
    expect(JSON.parse(json.stdout)).toHaveLength(360);
  });

  it('gets the latched /map, published once at start', async () => {
    const r = await topic('echo', '/map', '--once', '--field', 'header.frame_id');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('map\n---\n');
  });

  it('exits 1 with --timeout when nothing is published, saying on which topic', async () => {
    const r = await topic('echo', '/cmd_vel', '--timeout', '0.3');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no message printed from /cmd_vel within 0.3 s: is anything publishing it?');
  });

  it('--timeout counts only printed messages: an index past the end skips each one, said once', async () => {
    const r = await topic('echo', '/tf', '--field', 'transforms[9].child_frame_id', '--timeout', '0.5');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.match(/skipped a message: transforms has \d+ items, no \[9\]/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/no message printed from \/tf within 0\.5 s: \d+ skipped \(see above\)/);
  });

  it('names the topics it has and a near one for an unknown topic (exit 1)', async () => {
    const r = await topic('echo', '/odm', '--once');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no topic /odm on the daemon's Foxglove server");
    expect(r.stderr).toContain('did you mean /odom?');
    expect(r.stderr).toMatch(/its topics: .*\/odom, .*\/scan/);
    const hz = await topic('hz', '/nope', '--duration', '1');
    expect(hz.code).toBe(1);
    expect(hz.stderr).toContain('no topic /nope');
  });

  it('refuses a --field the type does not have before waiting for a message (exit 2)', async () => {
    const r = await topic('echo', '/odom', '--field', 'pose.pose.postion');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '/odom is nav_msgs/msg/Odometry: pose.pose (geometry_msgs/Pose) has no field "postion" (did you mean "position"?); its fields: position, orientation',
    );
  });
});

describe('auraison-edge topic hz', () => {
  it(
    'prints the rate every second as ros2 topic hz does, and a last line after --duration',
    { timeout: 30_000 },
    async () => {
      const r = await topic('hz', '/odom', '--duration', '2');
      expect(r.code, r.stderr).toBe(0);
      const blocks = [
        ...r.stdout.matchAll(
          /^average rate: (\d+\.\d{3})\n\tmin: \d+\.\d{3}s max: \d+\.\d{3}s std dev: \d+\.\d{5}s window: (\d+)$/gm,
        ),
      ];
      expect(blocks.length).toBeGreaterThanOrEqual(1);
      for (const [, rate, window] of blocks) {
        expect(Number(rate)).toBeGreaterThan(0);
        expect(Number(window)).toBeGreaterThan(0);
      }
      expect(r.stdout).toMatch(/\n\d+ message\(s\) on \/odom in 2\.\d s\n$/);
    },
  );
});

describe('the auraison-edge binary', () => {
  it(
    'ends echo cleanly on Ctrl-C (exit 0), and when the reader of its output goes away',
    { timeout: 60_000 },
    async () => {
      const url = daemon.ports.get(PORTS.foxglove)!.url!;
      const start = () => {
        const child = spawn(process.execPath, [BIN, 'topic', 'echo', '/odom', '--url', url], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const out = { stdout: '', stderr: '' };
        child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        return { child, out, exited };
      };
      const interrupted = start();
      const piped = start();
      await waitFor(
        () => interrupted.out.stdout.includes('---\n') && piped.out.stdout.includes('---\n'),
        'both printing /odom',
        30_000,
      );
      interrupted.child.kill('SIGINT');
      piped.child.stdout.destroy(); // `| head -n 20`: the reader is gone
      expect(await interrupted.exited).toBe(0);
      expect(interrupted.out.stderr).toBe('');
      expect(await piped.exited).toBe(0);
      expect(piped.out.stderr).toBe('');
    },
  );
});
