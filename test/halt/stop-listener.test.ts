import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/index.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { HaltLine } from '../../daemon/halt/index.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { blockThisLoopUntil, requestFromThread } from '../helpers/blocked-loop.ts';
import { deadPort } from '../helpers/closed-port.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { running, startDaemon } from '../helpers/daemon.ts';
import { postJson } from '../helpers/post-json.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { simPolicyLoopConfig } from '../system1/sim-policy-config.ts';
import { stopEvents } from './listener-daemon.ts';

// The operator's stop off the daemon's event loop: POST /stop on the stop listener is answered, the control loops'
// threads and the sim hold, and the Zenoh graph gets its zero Twist, all while the daemon's main thread is blocked
// on purpose (this test's own thread, which an in-process daemon shares, waits in Atomics.wait and runs nothing).
// Then the main thread takes the stop: the latch, the journal's stop.engaged saying what the listener zeroed.

const cleanups = cleanupStack();
const TWIST = 'geometry_msgs/msg/Twist';
const STOP_BODY = JSON.stringify({ by: 'ada', reason: 'person in the aisle' });

type Twist = { linear: { x: number }; angular: { z: number } };
const moving = (t: Twist) => t.linear.x !== 0 || t.angular.z !== 0;

function stopUrl(daemon: Daemon): string {
  const url = readApiFile(daemon.dataDir)?.stop_url;
  if (!url) throw new Error(`no stop_url in ${daemon.dataDir}/run/api.json`);
  return url;
}

/** Every Twist a source puts on /cmd_vel, decoded, in order. */
function twistsFrom(daemon: Daemon, codec: MessageCodec, source: (s: string) => boolean): Twist[] {
  const seen: Twist[] = [];
  daemon.bus.subscribe({
    name: 'test',
    topic: '/cmd_vel',
    queue: { depth: 10_000 },
    handler: (m) => void (source(m.source) && seen.push(codec.decode<Twist>(m.type, m.data))),
  });
  return seen;
}

describe("the operator's stop on the stop listener, with the daemon's event loop blocked", () => {
  it(
    'is answered, and an autostart control loop holds its commands, before the main thread runs again',
    { timeout: 90_000 },
    async () => {
      const config = simPolicyLoopConfig();
      const loop = (config.control as { loops: { avoid: Record<string, unknown> } }).loops.avoid;
      // Observations stay fresh while the main thread (which publishes /scan) is blocked: the loop's policy goes on.
      Object.assign(loop, { autostart: true, rate_hz: 50, max_observation_age_ms: 600_000 });
      const { daemon, codec, stop } = await startDaemon(
        { ...config, api: { enabled: true, port: 0 }, motion: { stop: { listener: true } } },
        'stop-listener-loop-',
      );
      cleanups.push(stop);
      const fromLoop = twistsFrom(daemon, codec, (s) => s === 'control:avoid');
      const events = stopEvents(daemon);
      const line = new HaltLine(daemon.haltAuthority.haltLine);
      const heldActions = () =>
        (daemon.status().components.control?.details as Record<string, { held_actions: number }>).avoid!.held_actions;
      await waitFor(() => fromLoop.some(moving), 'the policy to drive', 30_000);
      const stopsBefore = line.stops;
      expect(heldActions()).toBe(0);

      const operator = requestFromThread(`${stopUrl(daemon)}/stop`, { body: STOP_BODY });
      // Blocked from here: nothing of the daemon's main thread runs until this returns.
      const held = blockThisLoopUntil(() => operator.reply() !== undefined && heldActions() > 0, 60_000);
      const whileBlocked = {
        reply: operator.reply(),
        held: heldActions(),
        stops: line.stops,
        pending: line.pending,
        latch: daemon.haltAuthority.latch.state,
        refusal: daemon.haltAuthority.latch.refusal(),
      };
      expect(held, JSON.stringify(whileBlocked)).toBe(true);
      expect(whileBlocked.reply).toMatchObject({ status: 200 });
      const answer = JSON.parse((whileBlocked.reply as { body: string }).body) as Record<string, unknown>;
      expect(answer).toMatchObject({ stopped: true, by: 'ada', reason: 'person in the aisle', zeroed: ['line'] });
      expect(whileBlocked.stops).toBe(stopsBefore + 1);
      // The main thread had not taken it: no latch of its own yet, but motion is refused already.
      expect(whileBlocked.pending).toBe(1);
      expect(whileBlocked.latch).toBeUndefined();
      expect(whileBlocked.refusal).toMatch(/stop listener/);

      // The main thread takes it when it runs again: the latch, and the stop's event naming what the listener did.
      await waitFor(() => daemon.haltAuthority.latch.state !== undefined, 'the latch');
      expect(daemon.haltAuthority.latch.state).toMatchObject({ by: 'ada', reason: 'person in the aisle' });
      expect(line.pending).toBe(0);
      const event = await waitForValue(() => events[0], 'the stop.engaged event');
      expect(event).toMatchObject({ by: 'ada', off_loop: { at: answer.at, zeroed: ['line'], failed: {} } });
      await operator.done;
      // Held for good: every command of the loop since is still.
      const mark = fromLoop.length;
      await waitFor(() => fromLoop.length >= mark + 10, 'ten more ticks of the loop');
      expect(fromLoop.slice(mark).filter(moving)).toEqual([]);
      const url = daemon.ports.get(PORTS.api)!.url!;
      expect((await postJson(url, '/stop/release', { by: 'ada' })).status).toBe(200);
      // A release moves nothing by itself: the operator starts the loop.
      expect((await postJson(url, '/control/loops/avoid/start', {})).status).toBe(200);
      await waitFor(() => fromLoop.slice(mark).some(moving), 'the policy to drive once started', 30_000);
    },
  );

  it('answers with the zero commands it could not send when the Zenoh link is down, and the daemon still stops', async () => {
    const { daemon, stop } = await startDaemon(
      {
        api: { port: 0 },
        motion: { stop: { listener: true } },
        foxglove: { enabled: false },
        zenoh: { enabled: true, endpoint: `ws://127.0.0.1:${await deadPort()}`, publish: ['/cmd_vel'] },
      },
      'stop-listener-no-zenoh-',
    );
    cleanups.push(stop);
    const events = stopEvents(daemon);
    const { status, json } = await postJson(stopUrl(daemon), '/stop', { by: 'ada' });
    expect(status).toBe(200);
    expect(json).toMatchObject({ stopped: true, zeroed: ['line'] });
    expect((json.not_zeroed as Record<string, string>).zenoh).toMatch(/could not be put on \/cmd_vel/);
    await waitFor(() => daemon.haltAuthority.latch.state?.by === 'ada', 'the latch');
    const event = await waitForValue(() => events[0], 'the stop.engaged event');
    expect((event.off_loop as { failed: Record<string, string> }).failed.zenoh).toMatch(/\/cmd_vel/);
  });

  it('zeroes the sim on its next step, with no zero Twist on the bus', { timeout: 60_000 }, async () => {
    // Slow sim time: the command below would hold the robot moving for its 0.5 s timeout, several wall seconds.
    const { daemon, codec, stop } = await startDaemon(
      { sim: { enabled: true, speed: 0.2 }, api: { enabled: false }, foxglove: { enabled: false } },
      'stop-line-sim-',
    );
    cleanups.push(stop);
    const sim = running(daemon, TurtlebotMazeSim)!;
    const onBus = twistsFrom(daemon, codec, () => true);
    const drive = daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    drive.publish(codec.encode(TWIST, { linear: { x: 0.2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }));
    const commandedAt = await waitForValue(() => sim.world.twist().linear > 0 && sim.world.time, 'the robot to move');
    // As the stop listener's thread does: a stop counted on the line, and no message to anyone.
    new HaltLine(daemon.haltAuthority.haltLine).haltedOffLoop();
    await waitFor(() => sim.world.twist().linear === 0, 'the robot to stop');
    // Stopped by the line, well before its command went stale (the sim's 0.5 s command timeout).
    expect(sim.world.time - commandedAt).toBeLessThan(0.5);
    expect((daemon.status().components.sim!.details as { stops_obeyed: number }).stops_obeyed).toBe(1);
    expect(onBus.filter((t) => !moving(t))).toEqual([]);
  });

  it('runs its thread real time by default and at the niceness asked under other, shown in /status', async () => {
    const root = process.getuid?.() === 0;
    const base = getPriority(); // this thread's, the daemon's (in process here)
    /** policy (field 41: 0 other, 1 fifo), rt priority (40) and niceness (19) of a thread of this process. */
    const sched = (tid: number | 'self') => {
      const stat = readFileSync(tid === 'self' ? '/proc/thread-self/stat' : `/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { policy: Number(fields[41 - 3]), rt: Number(fields[40 - 3]), nice: Number(fields[19 - 3]) };
    };
    const listenerOf = (daemon: Daemon) =>
      (daemon.status().components.api!.details as { stop_listener: { scheduling: string; tid: number } }).stop_listener;

    const real = await startDaemon(
      { api: { enabled: true, port: 0 }, motion: { stop: { listener: true } } },
      'stop-listener-rt-',
    );
    cleanups.push(real.stop);
    const fifo = listenerOf(real.daemon);
    if (root) {
      expect(fifo.scheduling).toBe('SCHED_FIFO 60');
      expect(sched(fifo.tid)).toMatchObject({ policy: 1, rt: 60 });
    } else expect(fifo.scheduling).toMatch(/refused/);

    const normal = await startDaemon(
      {
        api: { enabled: true, port: 0 },
        motion: { stop: { listener: true, scheduling: 'other', nice: -5 } },
      },
      'stop-listener-nice-',
    );
    cleanups.push(normal.stop);
    const other = listenerOf(normal.daemon);
    if (root) {
      expect(other.scheduling).toBe('SCHED_OTHER nice -5');
      expect(sched(other.tid)).toMatchObject({ policy: 0, nice: -5 });
    } else {
      // Without CAP_SYS_NICE it runs at the daemon's, and says why.
      expect(other.scheduling).toMatch(/nice -5 refused/);
      expect(sched(other.tid).nice).toBe(base);
    }
    // The daemon's own thread keeps its priority: only the listeners' were changed.
    expect(sched('self')).toMatchObject({ policy: 0, nice: base });
  });
});
