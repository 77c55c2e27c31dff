import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { blockThisLoopUntil } from '../helpers/blocked-loop.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { ros2Peer } from '../peers/ros2.ts';
import { listenerDaemon } from '../halt/listener-daemon.ts';
import { DISTROS, startRclpyWorld } from './rclpy-daemon.ts';
import { RclpyPeer } from './rclpy-peer.ts';

// motion.stop.ros_service.process: the operator's stop as a ROS 2 service from a node of its own (rclpy), which sends
// each call to the stop listener's thread. An rclpy client calls it while the daemon's main thread, which this test's
// in-process daemon shares, is blocked on purpose; no rclnodejs runs.

const SERVICE = '/auraison/stop';
let domain = 60;

/** The ros_stop component's health, as GET /status shows it. */
function rosStop(daemon: Daemon) {
  return daemon.componentHealth().ros_stop!;
}

/**
 * Runs `body` with this process's environment as the peer's ROS 2 sets it: the daemon runs in this process, and its
 * stop service node inherits its environment, as it would a sourced ROS 2's.
 */
async function inRos2<T>(env: NodeJS.ProcessEnv, body: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

describe.each(DISTROS)("ROS 2's stop service in a process of its own, on rclpy ($name)", ({ name }) => {
  const cleanups = cleanupStack();

  it(
    "marks the stop line while the main loop is blocked, answers with the listener's report, and latches once the loop runs",
    { timeout: 180_000 },
    async () => {
      const peer = ros2Peer(name as 'jazzy');
      const env = peer.env(domain++);
      await inRos2(env, async () => {
        const { daemon, line } = await listenerDaemon(cleanups, 'ros-stop-', {
          motion: { stop: { ros_service: { process: true, python: peer.python } } },
        });
        await waitFor(() => rosStop(daemon).details?.serving === true, 'the stop service node to serve');
        const client = await RclpyPeer.start(peer.python, env, { role: 'trigger_client', service: SERVICE });
        cleanups.push(() => client.kill());
        const stopsBefore = line.stops;
        // Blocked from here: the call is found, sent and answered by other processes and the listener's thread.
        const marked = blockThisLoopUntil(() => line.stops > stopsBefore, 60_000);
        const whileBlocked = { pending: line.pending, holds: line.holds, latch: daemon.haltAuthority.latch.state };
        expect(marked, client.output).toBe(true);
        expect(whileBlocked).toMatchObject({ pending: 1, holds: true, latch: undefined });

        const response = await client.next((e) => e.event === 'response', 'the Trigger response');
        expect(response.success).toBe(true);
        expect(JSON.parse(response.message as string)).toMatchObject({
          stopped: true,
          by: 'ros',
          reason: `ROS 2 service ${SERVICE}`,
          zeroed: expect.arrayContaining(['line']),
          taken_by_daemon: expect.any(String),
        });
        await waitFor(
          () => daemon.haltAuthority.latch.state?.by === 'ros' && line.pending === 0,
          'the main thread to latch the stop',
        );
        // The node reports its call on its stdout, which the main thread reads apart from the listener's path.
        await waitFor(() => rosStop(daemon).details?.calls === 1, "the node's report of its call");
        expect(rosStop(daemon).details).toMatchObject({ calls: 1, failed_calls: 0 });
      });
    },
  );

  it('starts the node again after it is killed, and the new one serves the stop', { timeout: 180_000 }, async () => {
    const peer = ros2Peer(name as 'jazzy');
    const env = peer.env(domain++);
    await inRos2(env, async () => {
      const { daemon } = await listenerDaemon(cleanups, 'ros-stop-restart-', {
        motion: { stop: { ros_service: { process: true, python: peer.python } } },
      });
      await waitFor(() => rosStop(daemon).details?.serving === true, 'the stop service node to serve');
      const first = rosStop(daemon).details!.pid as number;
      process.kill(first, 'SIGKILL');
      await waitFor(() => rosStop(daemon).state === 'degraded', 'the component to say the node died');
      expect(rosStop(daemon).reason).toMatch(/is not served: its node .* killed by SIGKILL; restarting it in \d+ ms/);
      await waitFor(() => rosStop(daemon).details?.serving === true, 'the node to serve again');
      expect(rosStop(daemon)).toMatchObject({ state: 'running', details: { starts: 2 } });
      expect(rosStop(daemon).details!.pid).not.toBe(first);

      const client = await RclpyPeer.start(peer.python, env, { role: 'trigger_client', service: SERVICE });
      cleanups.push(() => client.kill());
      const response = await client.next((e) => e.event === 'response', 'the Trigger response');
      expect(response.success, client.output).toBe(true);
      await waitFor(() => daemon.haltAuthority.latch.state?.by === 'ros', 'the stop latched');
    });
  });

  it(
    'leaves real time while a node floods the service, every call still answered, and takes it again after',
    {
      timeout: 180_000,
    },
    async () => {
      const peer = ros2Peer(name as 'jazzy');
      // A flood here is past 3 calls a second (50 by default): a loaded machine answers fewer than 50 a second.
      const env = { ...peer.env(domain++), AURAISON_EDGE_STOP_FLOOD_CALLS: '3' };
      await inRos2(env, async () => {
        const { daemon } = await listenerDaemon(cleanups, 'ros-stop-flood-', {
          motion: { stop: { ros_service: { process: true, python: peer.python } } },
        });
        await waitFor(() => rosStop(daemon).details?.serving === true, 'the stop service node to serve');
        const pid = rosStop(daemon).details!.pid as number;
        // A thread's policy: field 41 of its stat (0 SCHED_OTHER, 1 SCHED_FIFO), after the name's parenthesis.
        const policies = () =>
          readdirSync(`/proc/${pid}/task`).map((tid) => {
            const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
            return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
          });
        if (!policies().includes(1))
          return void console.warn('the node could not run SCHED_FIFO here: nothing to test');
        // Status says what the node got, and when a flood took it out of real time.
        expect(rosStop(daemon).details).toMatchObject({
          resolved: SERVICE,
          scheduling: 'SCHED_FIFO 50',
          flooded: false,
        });
        const flood = await RclpyPeer.start(peer.python, env, { role: 'trigger_client', service: SERVICE, calls: 40 });
        cleanups.push(() => flood.kill());
        await waitFor(() => policies().every((p) => p === 0), 'every thread of the node off real time', 120_000);
        await waitFor(() => rosStop(daemon).details?.flooded === true, 'status saying the node is flooded');
        await waitFor(() => flood.all('response').length === 40, 'every call answered', 120_000);
        expect(flood.all('response').every((r) => r.success === true)).toBe(true);
        await waitFor(() => policies().includes(1), 'the node real time again', 30_000);
        await waitFor(() => rosStop(daemon).details?.flooded === false, 'status saying the flood ended');
      });
    },
  );

  it(
    "falls back to the API's POST /stop where no stop listener runs, and answers with the daemon's report",
    { timeout: 180_000 },
    async () => {
      const peer = ros2Peer(name as 'jazzy');
      const env = peer.env(domain++);
      await inRos2(env, async () => {
        const { daemon } = await listenerDaemon(cleanups, 'ros-stop-api-', {
          motion: { stop: { listener: false, ros_service: { process: true, python: peer.python } } },
        });
        await waitFor(() => rosStop(daemon).details?.serving === true, 'the stop service node to serve');
        const client = await RclpyPeer.start(peer.python, env, { role: 'trigger_client', service: SERVICE });
        cleanups.push(() => client.kill());
        const response = await client.next((e) => e.event === 'response', 'the Trigger response');
        expect(response.success, client.output).toBe(true);
        // The API's own answer (a RobotHaltOutcome), not the listener's
        expect(JSON.parse(response.message as string)).toMatchObject({ cancelled: [], latched: expect.anything() });
        expect(daemon.haltAuthority.latch.state?.by).toBe('ros');
      });
    },
  );

  it(
    'leaves the service name to its process: rclnodejs does not serve it from ros.services.serve too',
    { timeout: 180_000 },
    async () => {
      const world = await startRclpyWorld(
        name,
        domain++,
        {
          services: {
            serve: [
              // The stop's name spelled relative: it resolves in the node's namespace (/) to the stop service's.
              { query: 'agent/stop', service: SERVICE.slice(1), type: 'std_srvs/srv/Trigger' },
              { query: 'agent/stop', service: '/other/stop', type: 'std_srvs/srv/Trigger' },
            ],
          },
        },
        { motion: { stop: { ros_service: { process: true, python: ros2Peer(name as 'jazzy').python } } } },
      );
      cleanups.push(() => world.bus.close());
      cleanups.push(async () => void (await world.daemon.stop()));
      const status = await waitForValue(async () => {
        const now = await world.daemon.status();
        const served = now.components.ros?.details?.services_served as string[] | undefined;
        return now.components.ros_stop?.details?.serving === true && served?.length ? now : undefined;
      }, 'the bridge serving its services and the stop service node serving');
      expect(status.components.ros!.details!.services_served).toEqual(['/other/stop']);
      const client = await RclpyPeer.start(world.peer.python, world.env, { role: 'trigger_client', service: SERVICE });
      cleanups.push(() => client.kill());
      const response = await client.next((e) => e.event === 'response', 'the Trigger response');
      expect(response.success, client.output).toBe(true);
      // The node's stop (by: ros), not the bridge's bus query (by: bus)
      expect(JSON.parse(response.message as string)).toMatchObject({ by: 'ros' });
    },
  );
});

describe("ROS 2's stop service in a process of its own, with a Python that does not exist", () => {
  const cleanups = cleanupStack();

  it('says in its status that the python could not be run, and keeps trying', async () => {
    const { daemon } = await listenerDaemon(cleanups, 'ros-stop-nopython-', {
      motion: { stop: { ros_service: { process: true, python: '/nonexistent/python3' } } },
    });
    const health = await waitForValue(
      () => (rosStop(daemon).state === 'degraded' ? rosStop(daemon) : undefined),
      'the component degraded',
    );
    expect(health.reason).toContain('/nonexistent/python3 could not be run');
    expect(health.reason).toContain('ENOENT');
    await waitFor(() => (rosStop(daemon).details!.starts as number) > 1, 'another start');
  });
});
