import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import type { RobotHaltOutcome } from '../../daemon/contract/halt.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { simPolicyLoopConfig } from '../system1/sim-policy-config.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

// The operator's stop (daemon/halt/) through reloads, stamped Twists, a latch and a missing daemon.

const cleanups = cleanupStack();

type Twist = { linear: { x: number }; angular: { z: number } };
const moving = (t: Twist) => t.linear.x !== 0 || t.angular.z !== 0;
const ZERO = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
const bare = {
  sim: { enabled: false },
  foxglove: { enabled: false },
  lakehouse: { enabled: false },
  retention: { enabled: false },
};

function ask(daemon: Daemon, body?: unknown): Promise<RobotHaltOutcome> {
  const payload = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
  return daemon.bus
    .query('agent/stop', { encoding: 'application/json', payload })
    .then((reply) => JSON.parse(new TextDecoder().decode(reply.payload)) as RobotHaltOutcome);
}

describe('agent/stop through a reload of what the stop uses', () => {
  // The supervisor restarted the stop component when motion.velocity.topic/.topics or motion.stop.latch
  // changed: between the old one's stop and the new one's start nothing served agent/stop, and an e-stop
  // node's query got `nothing serves query agent/stop` (26 of 39 in a run): the robot was not stopped.
  it('answers every query while a reload changes the velocity topics and the latch', { timeout: 30_000 }, async () => {
    for (const agentEnabled of [false, true]) {
      const { daemon, stop } = await startDaemon(
        { ...bare, api: { enabled: false }, agent: { enabled: agentEnabled } },
        'stop-review-reload-',
      );
      cleanups.push(stop);
      const changes: ((c: EdgeConfig) => void)[] = [
        (c) => void (c.motion.velocity.topics = ['/cmd_vel', '/robot1/cmd_vel']),
        (c) => void (c.motion.velocity.topic = '/robot1/cmd_vel'),
        (c) => void (c.motion.stop.latch = false),
      ];
      for (const change of changes) {
        const next: EdgeConfig = structuredClone(daemon.config);
        change(next);
        const reloading = daemon.reload(next);
        let done = false;
        void reloading.finally(() => (done = true));
        const replies: Promise<RobotHaltOutcome | string>[] = [];
        for (let i = 0; !done; i++) {
          replies.push(ask(daemon, { by: 'estop_node' }).catch((error: Error) => error.message));
          await (i % 50 === 49 ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
        }
        await reloading;
        const failed = (await Promise.all(replies)).filter((r) => typeof r === 'string');
        expect(failed).toEqual([]);
        expect(replies.length).toBeGreaterThan(0);
      }
      // The stop in force uses what the reloads set: the new topic, and no latch.
      expect(await ask(daemon, { by: 'estop_node' })).toMatchObject({ topic: '/robot1/cmd_vel', latched: null });
      expect(daemon.status().components.stop).toMatchObject({ state: 'running', details: { stop_latch: null } });
    }
  });
});

describe('a base on motion.velocity.topic driven with TwistStamped', () => {
  // The stop sent a geometry_msgs/msg/Twist to motion.velocity.topic and skipped that topic in its sweep;
  // a base taking TwistStamped there (ROS 2 Jazzy's stamped cmd_vel) kept its moving command, and the stop
  // failed with not_stopped, though it zeroed TwistStamped on every other governed topic.
  it('gets a zero TwistStamped, with or without an agent, and the stop succeeds', { timeout: 30_000 }, async () => {
    for (const agentEnabled of [false, true]) {
      const { daemon, codec, stop } = await startDaemon(
        { ...bare, api: { enabled: false }, agent: { enabled: agentEnabled } },
        'stop-review-stamped-',
      );
      cleanups.push(stop);
      const twist = { linear: { x: 0.2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.3 } };
      daemon.bus
        .advertise('/cmd_vel', 'geometry_msgs/msg/TwistStamped', { source: 'controller' })
        .publish(codec.encode('geometry_msgs/msg/TwistStamped', { header: { frame_id: 'base_link' }, twist }));
      const seen: { source: string; value: { header: { stamp: { sec: number } }; twist: unknown } }[] = [];
      daemon.bus.subscribe({
        name: 'test /cmd_vel',
        topic: '/cmd_vel',
        queue: { depth: 100 },
        handler: (m) => void seen.push({ source: m.source, value: codec.decode(m.type, m.data) }),
      });

      const outcome = await ask(daemon, { by: 'estop_node' });
      expect(outcome).toMatchObject({ topic: '/cmd_vel', latched: { by: 'estop_node' } });
      await waitFor(() => seen.length > 0, 'a zero TwistStamped on /cmd_vel');
      expect(seen.map((s) => s.value.twist)).toEqual(seen.map(() => ZERO));
      expect(seen[0]!.value.header.stamp.sec).toBeGreaterThan(0);
      // The stop's publisher is gone again: the topic's publishers are as they were.
      expect(daemon.bus.stats().find((s) => s.topic === '/cmd_vel')).toMatchObject({
        type: 'geometry_msgs/msg/TwistStamped',
        publishers: 1,
        sources: ['controller'],
      });
    }
  });
});

describe('motion.stop.latch turned on by a reload', () => {
  // The control component was not restarted when motion.stop.latch changed, and its latch kept the value it
  // started with: a daemon started with the latch off, then reloaded with it on, reported ROBOT STOPPED
  // (latched) after a stop while its autostart loop went on driving the robot.
  it('holds an autostart control loop at its safe action after the next stop', { timeout: 60_000 }, async () => {
    const config: Record<string, unknown> = {
      ...simPolicyLoopConfig(),
      agent: { enabled: false },
      motion: { stop: { latch: false } },
    };
    (config.control as { loops: { avoid: { autostart: boolean } } }).loops.avoid.autostart = true;
    const { daemon, codec, stop } = await startDaemon(config, 'stop-review-latch-on-');
    cleanups.push(stop);
    const fromLoop: Twist[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/cmd_vel',
      queue: { depth: 10_000 },
      handler: (m) => void (m.source === 'control:avoid' && fromLoop.push(codec.decode<Twist>(m.type, m.data))),
    });
    await waitFor(() => fromLoop.some(moving), 'the policy to drive', 20_000);

    const next: EdgeConfig = structuredClone(daemon.config);
    next.motion.stop.latch = true;
    await daemon.reload(next);
    await waitFor(() => fromLoop.slice(-3).some(moving), 'the policy to drive after the reload', 20_000);
    expect(await ask(daemon, { by: 'ada' })).toMatchObject({ latched: { by: 'ada' } });
    expect(daemon.status().components.stop!.details).toMatchObject({ stop_latch: { by: 'ada' } });
    await new Promise((resolve) => setImmediate(resolve));
    const mark = fromLoop.length;
    await waitFor(() => fromLoop.length >= mark + 10, 'ten more ticks of the loop', 20_000);
    expect(fromLoop.slice(mark).filter(moving)).toEqual([]);
  });
});

describe('the log of a stop with no agent', () => {
  // With no agent running, an operator's stop, a stop that could not send its zero Twist (the robot NOT
  // stopped), a release, and a latch found at start left no line in the daemon's log: only the agent logged
  // them. A person reading the journal after an incident could not tell the robot had been stopped.
  it(
    'says who stopped, who released, a stop that failed, and a latch from before the start',
    { timeout: 30_000 },
    async () => {
      const dir = tempDir('stop-review-log-');
      cleanups.push(dir.cleanup);
      mkdirSync(join(dir.path, 'data', 'state'), { recursive: true });
      writeFileSync(
        join(dir.path, 'data', 'state', 'stop-latch.json'),
        `${JSON.stringify({ by: 'bob', reason: 'before the restart', since: '2026-01-01T00:00:00.000Z' })}\n`,
      );
      const lines: { level: number; msg: string; by?: string }[] = [];
      const log = pino(
        { level: 'info' },
        { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
      );
      const config = parseConfigText(
        stringify({ data_dir: './data', ...bare, api: { port: 0 }, agent: { enabled: false } }),
        'edge.yaml',
        {},
      );
      const daemon = new Daemon({ config, log, cwd: dir.path });
      await daemon.start();
      cleanups.push(() => daemon.close().then(() => undefined));
      const codec = new MessageCodec(daemon.definitions);
      expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toContainEqual(
        expect.stringMatching(
          /latched by bob at 2026-01-01T00:00:00.000Z \(before the restart\).*since before this start/,
        ),
      );

      const url = daemon.ports.get(PORTS.api)!.url!;
      const post = (path: string, body: unknown) =>
        fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post('/stop/release', { by: 'ada' })).status).toBe(200);
      expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toContainEqual(
        expect.stringMatching(/released by ada/),
      );

      expect((await post('/stop', { by: 'ada', reason: 'person in the aisle' })).status).toBe(200);
      expect(lines.filter((l) => l.level >= 40)).toContainEqual(
        expect.objectContaining({ msg: 'robot stopped', by: 'ada' }),
      );

      // The velocity topic taken with a type that is not a velocity: the robot was NOT stopped, and the log says so.
      daemon.bus
        .advertise('/odd/cmd_vel', 'std_msgs/msg/String', { source: 'odd' })
        .publish(codec.encode('std_msgs/msg/String', { data: 'x' }));
      const next: EdgeConfig = structuredClone(daemon.config);
      next.motion.velocity.topic = '/odd/cmd_vel';
      await daemon.reload(next);
      await expect(ask(daemon, { by: 'estop_node' })).rejects.toThrow(/NOT stopped|could not be sent/);
      // An error, not a warning: a person must stop the robot another way.
      expect(lines.filter((l) => l.level >= 50)).toContainEqual(
        expect.objectContaining({
          by: 'estop_node',
          msg: expect.stringMatching(/could not be sent; the robot was NOT stopped/),
        }),
      );
    },
  );
});

describe('auraison-edge stop --release with no daemon running', () => {
  // The latch file it could not remove (a directory there, a read-only state dir): it printed only the
  // system's error (`Path is a directory: rm returned EISDIR ...`), not that the robot stays stopped nor
  // what to do, as the daemon's release says.
  it('says the robot stays stopped and what to do when the latch cannot be removed', async () => {
    const dir = tempDir('stop-review-release-');
    cleanups.push(dir.cleanup);
    mkdirSync(join(dir.path, '.auraison-edge', 'state', 'stop-latch.json'), { recursive: true });
    const released = await runMain(['stop', '--release'], { cwd: dir.path, env: { AURAISON_EDGE_CONFIG: '' } });
    expect(released.code).toBe(1);
    expect(released.stderr).toMatch(
      /the stop was NOT released: .*stop-latch\.json could not be removed .*; the robot stays stopped; remove .*stop-latch\.json by hand .*, then release again/,
    );
  });
});
