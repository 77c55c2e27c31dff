// `auraison-edge topic info` against a whole daemon (sim at speed 10, the recorder, API on a free port), run
// through the CLI's main() in this process; it reads the daemon's GET /status, as a user's would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTopicDaemon } from './topic-daemon.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';
import { writeStatusFile } from '../helpers/status-file.ts';

let daemon: Daemon;
let stop: () => Promise<void>;
let dir: string;
let config: string;

beforeAll(async () => {
  ({ daemon, stop, dir, config } = await startTopicDaemon(
    { foxglove: { enabled: false }, recorder: { enabled: true }, agent: { enabled: false } },
    'topic-info-',
  ));
}, 60_000);
afterAll(async () => stop?.());

const topic = (...args: string[]) => runMain(['topic', ...args, '--config', config], { cwd: dir });

describe('auraison-edge topic info', () => {
  it('prints the type and the publisher and subscription counts, as ros2 topic info does', async () => {
    const bus = daemon.bus.stats().find((t) => t.topic === '/odom')!;
    const r = await topic('info', '/odom');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `Type: nav_msgs/msg/Odometry\nPublisher count: ${bus.publishers}\nSubscription count: ${bus.subscribers}\n`,
    );
    expect(bus.publishers).toBeGreaterThan(0);
    expect(bus.subscribers).toBeGreaterThan(0); // the recorder, at least
    // The sim declares /cmd_vel and publishes nothing on it; it and the recorder subscribe.
    const cmdVel = await topic('info', '/cmd_vel');
    expect(cmdVel.stdout).toBe('Type: geometry_msgs/msg/Twist\nPublisher count: 0\nSubscription count: 2\n');
  });

  it("--verbose lists each subscriber with its queue and counters, and the topic's rate and drops", async () => {
    const r = await topic('info', 'odom', '--verbose'); // a relative name is taken from the root
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^Type: nav_msgs\/msg\/Odometry\nMessages: \d+ \(.+\), rate: \d+\.\d Hz, drops: \d+\n\nPublisher count: \d+\n/,
    );
    const names = [...r.stdout.matchAll(/^Subscriber name: (.+)$/gm)].map((m) => m[1]);
    const expected = daemon.bus
      .subscriptions()
      .filter((s) => s.topics.has('/odom'))
      .map((s) => s.name);
    expect(names.sort()).toEqual(expected.sort());
    expect(names).toContain('recorder');
    const recorder = r.stdout.slice(r.stdout.indexOf('Subscriber name: recorder'));
    expect(recorder).toMatch(
      /^Subscriber name: recorder\nTopic type: nav_msgs\/msg\/Odometry\nEndpoint type: SUBSCRIPTION\nQueue: [a-z-]+( \(depth \d+\))?\nReceived: \d+, delivered: \d+, dropped: \d+, queued: \d+, errors: \d+/,
    );
  });

  it('--json gives the same as one object', async () => {
    const r = await topic('info', '/scan', '--json');
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as {
      topic: string;
      type: string;
      publisher_count: number;
      subscription_count: number;
      subscribers: { name: string; policy: string; depth: number }[];
    };
    expect(body).toMatchObject({ topic: '/scan', type: 'sensor_msgs/msg/LaserScan' });
    expect(body.subscription_count).toBe(daemon.bus.stats().find((t) => t.topic === '/scan')!.subscribers);
    expect(body.subscribers.map((s) => s.name)).toContain('recorder');
  });

  it('names a near topic and the topics there are for an unknown one (exit 1)', async () => {
    const r = await topic('info', '/odm');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("no topic /odm on the daemon's bus");
    expect(r.stderr).toContain('did you mean /odom?');
    expect(r.stderr).toMatch(/its topics: .*\/odom, .*\/scan/);
  });

  it('reads the status file when no API is configured', async () => {
    // The file a daemon with api.enabled false writes every 5 s, with this daemon's status in it.
    const other = tempDir('topic-info-file-');
    try {
      const file = writeStatusFile(other.path, { ...daemon.status(), data_dir: join(other.path, '.auraison-edge') });
      const r = await runMain(['topic', 'info', '/odom', '--config', file], { cwd: other.path });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Type: nav_msgs\/msg\/Odometry\nPublisher count: \d+\nSubscription count: \d+\n$/);
    } finally {
      other.cleanup();
    }
  });

  it("takes only the API as --url, saying so for a Foxglove server's (exit 2)", async () => {
    const r = await runMain(['topic', 'info', '/odom', '--url', 'ws://127.0.0.1:8765']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--url: topic info asks the daemon\'s API: expected http://HOST:PORT, got "ws://127.0.0.1:8765"',
    );
  });

  it('says no daemon runs, and what to do, when none does (exit 1)', async () => {
    const empty = tempDir('topic-info-none-');
    try {
      const file = join(empty.path, 'edge.yaml');
      writeFileSync(file, `data_dir: ./data\napi: {port: ${await deadPort()}}\n`);
      const r = await runMain(['topic', 'info', '/odom', '--config', file], { cwd: empty.path });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ECONNREFUSED');
      expect(r.stderr).toMatch(/no daemon is running with data dir .*: start one/);
    } finally {
      empty.cleanup();
    }
  });

  it("--verbose names each publisher's source with the QoS it offers", async () => {
    const r = await topic('info', '/map', '--verbose');
    expect(r.code, r.stderr).toBe(0);
    // The sim latches the map (transient_local, depth 1), as a map server does.
    expect(r.stdout).toContain(
      'Publisher count: 1\n\nSource: sim\nTopic type: nav_msgs/msg/OccupancyGrid\nEndpoint type: PUBLISHER\nQoS profile:\n  Reliability: RELIABLE\n  History (Depth): KEEP_LAST (1)\n  Durability: TRANSIENT_LOCAL\n\nSubscription count:',
    );
  });
});
