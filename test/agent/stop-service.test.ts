import { describe, expect, it } from 'vitest';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import type { RobotHaltOutcome } from '../../daemon/contract/halt.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { runMain } from '../helpers/cli.ts';
import { startDaemon, running } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { HaltService } from '../../daemon/halt/index.ts';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';

// The bus query agent/stop is the operator's stop for any process on the bus (a ROS node's e-stop button, a
// Zenoh peer). It is answered whether or not an agent runs: with agent.enabled false (a robot that runs only
// System 1 loops), and while a reload restarts the agent.

const cleanups = cleanupStack();

type Twist = { linear: { x: number }; angular: { z: number } };

const bare = {
  sim: { enabled: false },
  foxglove: { enabled: false },
  lakehouse: { enabled: false },
  retention: { enabled: false },
};

async function ask(daemon: Daemon, body?: unknown): Promise<RobotHaltOutcome> {
  const payload = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
  const reply = await daemon.bus.query('agent/stop', { encoding: 'application/json', payload });
  return JSON.parse(new TextDecoder().decode(reply.payload)) as RobotHaltOutcome;
}

/** Every Twist on `topic`, decoded, with who sent it. */
function watch(
  daemon: Daemon,
  codec: { decode<T>(type: string, data: Uint8Array): T },
  topic: string,
): { source: string; twist: Twist }[] {
  const seen: { source: string; twist: Twist }[] = [];
  daemon.bus.subscribe({
    name: `test ${topic}`,
    topic,
    queue: { depth: 10_000 },
    handler: (m) => void seen.push({ source: m.source, twist: codec.decode<Twist>(m.type, m.data) }),
  });
  return seen;
}

describe('the bus query agent/stop', () => {
  it('stops and latches with no agent running, refuses what it cannot read, and shows in status', async () => {
    const { daemon, codec, stop } = await startDaemon(
      { ...bare, api: { enabled: false }, agent: { enabled: false } },
      'stop-service-',
    );
    cleanups.push(stop);
    const twists = watch(daemon, codec, '/cmd_vel');
    expect(daemon.bus.queryables()).toContain('agent/stop');

    expect(await ask(daemon, { by: 'estop_node', reason: 'button pressed' })).toEqual({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: expect.objectContaining({ by: 'estop_node', reason: 'button pressed', persisted: true }),
      zeroed: [],
    });
    expect(twists).toEqual([
      {
        source: 'stop',
        twist: expect.objectContaining({ linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }),
      },
    ]);
    expect(daemon.status().components.stop!.details).toMatchObject({ stop_latch: { by: 'estop_node' } });

    await expect(
      daemon.bus.query('agent/stop', { encoding: 'application/json', payload: new TextEncoder().encode('{"by": 7}') }),
    ).rejects.toThrow(/agent\/stop: .*by.*The robot was NOT stopped/);
    expect(twists).toHaveLength(1);
    expect(daemon.status().components.stop).toMatchObject({
      state: 'running',
      details: { query: 'agent/stop', asked: 2 },
    });
    const gauge = running(daemon, HaltService)!.metrics();
    expect(gauge).toEqual([expect.objectContaining({ name: 'auraison_agent_stop_latched', samples: [{ value: 1 }] })]);
  });

  it(
    'is answered while a reload restarts the agent, and the agent the reload made holds the latch',
    { timeout: 30_000 },
    async () => {
      const { daemon, stop } = await startDaemon({ ...bare, api: { enabled: false } }, 'stop-service-reload-');
      cleanups.push(stop);
      const next: EdgeConfig = structuredClone(daemon.config);
      next.agent.approval_timeout_s = 7;
      const reloading = daemon.reload(next);
      // Asked again and again through the restart, also while no agent is in the daemon (the old one stopping,
      // the new one starting): every one answered. Before, the query went and came with the agent.
      const replies: Promise<RobotHaltOutcome>[] = [];
      let done = false;
      let withoutAgent = 0;
      void reloading.finally(() => (done = true));
      for (let i = 0; !done; i++) {
        if (!daemon.ports.get(PORTS.agent)) withoutAgent++;
        replies.push(ask(daemon, { by: 'estop_node' }));
        // Microtasks mostly, to land between the supervisor's steps; now and then a turn, for its I/O.
        await (i % 50 === 49 ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
      }
      expect(await reloading).toEqual(['agent']);
      const outcomes = await Promise.all(replies);
      expect(withoutAgent).toBeGreaterThan(0);
      for (const outcome of outcomes)
        expect(outcome).toMatchObject({ topic: '/cmd_vel', latched: { by: 'estop_node' } });
      const agent = running(daemon, AgentComponent)!;
      expect(await agent.releaseHalt('ada')).toMatchObject({ released: true, latch: { by: 'estop_node' } });
    },
  );

  it('with no agent, a stop after a reload that moved the velocity topic goes to the new topic, also through POST /stop', async () => {
    const { daemon, codec, stop } = await startDaemon(
      { ...bare, api: { port: 0 }, agent: { enabled: false } },
      'stop-service-topic-',
    );
    cleanups.push(stop);
    const old = watch(daemon, codec, '/cmd_vel');
    const moved = watch(daemon, codec, '/robot1/cmd_vel');
    const next: EdgeConfig = structuredClone(daemon.config);
    next.motion.velocity.topic = '/robot1/cmd_vel';
    // The stop component takes it live: nothing restarts, so agent/stop is served throughout.
    expect(await daemon.reload(next)).toEqual([]);

    expect(await ask(daemon)).toMatchObject({ topic: '/robot1/cmd_vel', latched: { by: 'bus' } });
    const url = daemon.ports.get(PORTS.api)!.url!;
    const response = await fetch(`${url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ada' }),
    });
    // A stop while latched keeps the latch the first one made.
    expect({ status: response.status, body: await response.json() }).toMatchObject({
      status: 200,
      body: { topic: '/robot1/cmd_vel', latched: { by: 'bus' } },
    });
    await waitFor(() => moved.length === 2, 'both zero Twists on the new topic');
    expect(old).toEqual([]);
    // With no agent, `status` still says first that the robot is stopped (from the stop component), and who stopped
    // it again while latched.
    const status = await runMain(['status', '--url', url]);
    expect(status.stdout).toMatch(
      /\nROBOT STOPPED: latched by bus at \S+; stopped again once since, last by ada at \S+; nothing moves it until `auraison-edge stop --release`\n/,
    );
    const release = await fetch(`${url}/stop/release`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect({ status: release.status, body: await release.json() }).toMatchObject({
      status: 200,
      body: { released: true },
    });
  });
});

describe('the operator stop and the other velocity topics', () => {
  it(
    'sends a zero of its type to every governed velocity topic on the bus, with or without an agent, and says which',
    { timeout: 30_000 },
    async () => {
      for (const agentEnabled of [true, false]) {
        const { daemon, codec, stop } = await startDaemon(
          { ...bare, api: { port: 0 }, agent: { enabled: agentEnabled } },
          'stop-service-sweep-',
        );
        cleanups.push(stop);
        // Two namespaced bases driven by their own controllers, one stamped; a Twist topic the limits do not
        // govern; a governed topic that carries something else.
        const twist = { linear: { x: 0.1, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.2 } };
        daemon.bus
          .advertise('/robot1/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'controller1' })
          .publish(codec.encode('geometry_msgs/msg/Twist', twist));
        daemon.bus
          .advertise('/robot2/cmd_vel', 'geometry_msgs/msg/TwistStamped', { source: 'controller2' })
          .publish(codec.encode('geometry_msgs/msg/TwistStamped', { header: { frame_id: 'base_link' }, twist }));
        daemon.bus.advertise('/arm/joint_vel', 'geometry_msgs/msg/Twist', { source: 'arm' });
        daemon.bus.advertise('/robot3/cmd_vel', 'std_msgs/msg/String', { source: 'odd' });
        const seen = new Map<string, { source: string; value: Record<string, unknown> }[]>();
        for (const topic of ['/cmd_vel', '/robot1/cmd_vel', '/robot2/cmd_vel', '/arm/joint_vel', '/robot3/cmd_vel']) {
          seen.set(topic, []);
          daemon.bus.subscribe({
            name: `test ${topic}`,
            topic,
            queue: { depth: 100 },
            handler: (m) => void seen.get(topic)!.push({ source: m.source, value: codec.decode(m.type, m.data) }),
          });
        }

        const outcome = await ask(daemon, { by: 'estop_node' });
        expect(outcome).toMatchObject({
          topic: '/cmd_vel',
          zeroed: ['/robot1/cmd_vel', '/robot2/cmd_vel'],
          latched: { by: 'estop_node' },
        });
        await waitFor(() => seen.get('/robot2/cmd_vel')!.length === 1, 'the zero TwistStamped');
        expect(seen.get('/robot1/cmd_vel')).toEqual([
          { source: 'stop', value: { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } } },
        ]);
        const stamped = seen.get('/robot2/cmd_vel')![0]!.value as {
          header: { stamp: { sec: number } };
          twist: unknown;
        };
        expect(stamped.twist).toEqual({ linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });
        expect(stamped.header.stamp.sec).toBeGreaterThan(0);
        expect(seen.get('/cmd_vel')!.length).toBeGreaterThan(0);
        expect(seen.get('/arm/joint_vel')).toEqual([]);
        expect(seen.get('/robot3/cmd_vel')).toEqual([]);

        // `auraison-edge stop` says where the zeros went.
        const url = daemon.ports.get(PORTS.api)!.url!;
        const cli = await runMain(['stop', '--by', 'ada', '--url', url]);
        expect(cli.stdout).toMatch(
          /^daemon: .*\nstopped: zero Twist on \/cmd_vel \(and a stop command on \/robot1\/cmd_vel, \/robot2\/cmd_vel\)/,
        );

        // A reload that narrows motion.velocity.topics: the next stop sweeps the topics in force.
        const next: EdgeConfig = structuredClone(daemon.config);
        next.motion.velocity.topics = ['/cmd_vel', '/robot1/cmd_vel'];
        expect(await daemon.reload(next)).toEqual([]);
        expect(await ask(daemon)).toMatchObject({ zeroed: ['/robot1/cmd_vel'] });
      }
    },
  );
});
