import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { startDaemon, running } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { simPolicyLoopConfig } from './sim-policy-config.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { ControlComponent } from '../../daemon/system1/control/control-component.ts';
import { postJson } from '../helpers/post-json.ts';

// The operator's stop latches (motion.stop.latch): a control loop that runs on its own (autostart) is held
// at its safe action until the latch is released, not left driving beside a robot the page says is stopped; and
// after the release until an operator starts it (a release moves nothing by itself).

const cleanups = cleanupStack();

type Twist = { linear: { x: number }; angular: { z: number } };
const moving = (t: Twist) => t.linear.x !== 0 || t.angular.z !== 0;

/** After the release: `twists` hold still for ten more ticks, until `start` lets the policy drive again. */
async function heldUntilStarted(twists: () => Twist[], start: () => Promise<void> | void): Promise<void> {
  const mark = twists().length;
  await waitFor(() => twists().length >= mark + 10, 'ten ticks after the release', 20_000);
  expect(twists().slice(mark).filter(moving)).toEqual([]);
  await start();
  await waitFor(() => twists().slice(mark).some(moving), 'the policy to drive once started', 20_000);
}

/** Every Twist the `avoid` loop puts on /cmd_vel, decoded, in order. */
function loopTwists(daemon: Daemon, codec: MessageCodec): Twist[] {
  const fromLoop: Twist[] = [];
  daemon.bus.subscribe({
    name: 'test',
    topic: '/cmd_vel',
    queue: { depth: 10_000 },
    handler: (m) => void (m.source === 'control:avoid' && fromLoop.push(codec.decode<Twist>(m.type, m.data))),
  });
  return fromLoop;
}

describe('a latched stop and an autostart control loop', () => {
  it(
    'holds the loop at its safe action while latched, and after the release until an operator starts it',
    { timeout: 60_000 },
    async () => {
      const config = simPolicyLoopConfig();
      (config.control as { loops: { avoid: { autostart: boolean } } }).loops.avoid.autostart = true;
      const { daemon, codec, stop } = await startDaemon(config, 'loop-latch-');
      cleanups.push(stop);
      const fromLoop = loopTwists(daemon, codec);
      const agent = running(daemon, AgentComponent)!;
      const sim = running(daemon, TurtlebotMazeSim)!;
      const heldActions = () =>
        (daemon.status().components.control?.details as Record<string, { held_actions: number }>).avoid!.held_actions;
      await waitFor(() => fromLoop.some(moving), 'the policy to drive', 20_000);

      await agent.halt('ada', 'person in the aisle');
      await new Promise((resolve) => setImmediate(resolve)); // what the loop published before the stop is delivered
      const mark = fromLoop.length;
      await waitFor(() => fromLoop.length >= mark + 10, 'ten more ticks of the loop', 20_000);
      expect(fromLoop.slice(mark).filter(moving)).toEqual([]);
      expect(heldActions()).toBeGreaterThan(0);
      const control = running(daemon, ControlComponent)!;
      expect(
        control.metrics().find((m) => m.name === 'auraison_control_loop_held_actions_total')!.samples[0]!.value,
      ).toBeGreaterThan(0);
      const distance = sim.world.distance;
      await waitFor(() => fromLoop.length >= mark + 15, 'five more ticks');
      expect(sim.world.distance - distance).toBeLessThan(0.01);

      await agent.releaseHalt('ada');
      await heldUntilStarted(
        () => fromLoop,
        () => void expect(control.startLoop('avoid')).toMatchObject({ ok: true, started: true }),
      );
    },
  );

  it(
    "sends a zero Twist while latched, also when the loop's safe action moves (allow_moving_safe_action)",
    { timeout: 60_000 },
    async () => {
      const config = simPolicyLoopConfig();
      // A safe action that creeps forward when observations go stale: the user's choice for a stale /scan, not for
      // a robot an operator stopped.
      const loop = (config.control as { loops: { avoid: Record<string, unknown> } }).loops.avoid;
      Object.assign(loop, { autostart: true, safe_action: [0.05, 0], allow_moving_safe_action: true });
      const { daemon, codec, stop } = await startDaemon(config, 'loop-latch-moving-safe-');
      cleanups.push(stop);
      const fromLoop = loopTwists(daemon, codec);
      const agent = running(daemon, AgentComponent)!;
      await waitFor(() => fromLoop.some(moving), 'the policy to drive', 20_000);

      await agent.halt('ada', 'person in the aisle');
      await new Promise((resolve) => setImmediate(resolve));
      const mark = fromLoop.length;
      await waitFor(() => fromLoop.length >= mark + 10, 'ten more ticks of the loop', 20_000);
      expect(fromLoop.slice(mark).filter(moving)).toEqual([]);

      await agent.releaseHalt('ada');
      const control = running(daemon, ControlComponent)!;
      await heldUntilStarted(
        () => fromLoop,
        () => void control.startLoop('avoid'),
      );
    },
  );

  it(
    'with no agent (agent.enabled false), POST /stop still sends the zero Twist and latches, holding the loop until released and started',
    { timeout: 60_000 },
    async () => {
      const config: Record<string, unknown> = { ...simPolicyLoopConfig(), api: { port: 0 }, agent: { enabled: false } };
      (config.control as { loops: { avoid: { autostart: boolean } } }).loops.avoid.autostart = true;
      const { daemon, codec, stop } = await startDaemon(config, 'loop-latch-noagent-');
      cleanups.push(stop);
      const commands: { source: string; twist: Twist }[] = [];
      daemon.bus.subscribe({
        name: 'test',
        topic: '/cmd_vel',
        queue: { depth: 10_000 },
        handler: (m) => void commands.push({ source: m.source, twist: codec.decode<Twist>(m.type, m.data) }),
      });
      const url = daemon.ports.get(PORTS.api)!.url!;
      const post = (path: string, body: unknown) => postJson(url, path, body);
      await waitFor(() => commands.some((c) => moving(c.twist)), 'the policy to drive', 20_000);

      const stopped = await post('/stop', { by: 'ada', reason: 'no agent here' });
      expect(stopped.status).toBe(200);
      expect(stopped.json).toMatchObject({
        topic: '/cmd_vel',
        aborted: null,
        cancelled: [],
        latched: { by: 'ada', reason: 'no agent here', persisted: true },
      });
      await new Promise((resolve) => setImmediate(resolve));
      const mark = commands.length;
      expect(commands.some((c) => c.source === 'stop' && !moving(c.twist))).toBe(true);
      await waitFor(() => commands.length >= mark + 10, 'ten more ticks of the loop', 20_000);
      expect(commands.slice(mark).filter((c) => moving(c.twist))).toEqual([]);

      expect(await post('/stop/release', { by: 'ada', since: '2026-01-01T00:00:00.000Z' })).toMatchObject({
        status: 409,
      });
      expect(await post('/stop/release', { by: 'ada' })).toMatchObject({
        status: 200,
        json: { released: true, latch: { by: 'ada' } },
      });
      // No agent: the operator starts the loop through the API.
      await heldUntilStarted(
        () => commands.map((c) => c.twist),
        async () =>
          void expect(await post('/control/loops/avoid/start', {})).toMatchObject({
            status: 200,
            json: { loop: 'avoid', started: true },
          }),
      );
    },
  );
});

describe("the operator's stop with motion.stop.latch false and an autostart control loop", () => {
  it(
    'stops the loop (its safe action once) instead of letting the policy drive again at its next tick',
    { timeout: 60_000 },
    async () => {
      const config = simPolicyLoopConfig();
      (config.control as { loops: { avoid: { autostart: boolean } } }).loops.avoid.autostart = true;
      (config as { motion?: Record<string, unknown> }).motion = {
        ...((config as { motion?: Record<string, unknown> }).motion ?? {}),
        stop: { latch: false },
      };
      const { daemon, codec, stop } = await startDaemon(config, 'loop-nolatch-');
      cleanups.push(stop);
      const fromLoop = loopTwists(daemon, codec);
      const sim = running(daemon, TurtlebotMazeSim)!;
      await waitFor(() => fromLoop.some(moving), 'the policy to drive', 20_000);

      const outcome = await daemon.haltAuthority.halt('ada', 'person in the aisle');
      expect(outcome.latched).toBeNull();
      await waitFor(() => !moving(fromLoop.at(-1)!), 'the safe action', 20_000);
      const mark = fromLoop.length;
      const distance = sim.world.distance;
      await sim.until(sim.world.time + 1); // a second of sim time: some 20 ticks of a loop still running
      expect(fromLoop.slice(mark)).toEqual([]);
      expect(sim.world.distance - distance).toBeLessThan(0.01);
      expect(daemon.status().components.control).toMatchObject({
        state: 'degraded',
        reason: expect.stringMatching(
          /^control loops stopped by ada: person in the aisle \(motion\.stop\.latch is false/,
        ),
      });
    },
  );
});
