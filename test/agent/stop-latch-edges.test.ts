import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AGENT_NAV_CMD_VEL, AgentComponent } from '../../daemon/agent/agent-component.ts';
import type { HaltAuthority } from '../../daemon/halt/halt-authority.ts';
import { haltLatchPath } from '../../daemon/halt/halt-latch.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startDaemon, running } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { forgetAgent, settled, startAgent, stopAgents } from './agent-harness.ts';
import { isZero, watchCmdVel } from './robot-stop-fixtures.ts';
import { skillIntent } from '../helpers/intents.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';

/**
 * The latched stop, from the robot's side: every way a Twist that moves can reach the wheels while
 * the stop is latched, and every way the latch can be lost or wrongly released.
 */

/**
 * The sim's policy driver, as the main job starts it (`sim turtlebot-maze --driver policy`): when `stopWhileLoading`,
 * the operator's stop (agent/stop) comes while the driver starts, i.e. after the main job checked the latch
 * but before it holds the robot; `stopped` counts the driver's stops.
 */
const policyDriver = vi.hoisted(() => ({ stopWhileLoading: false, stopped: 0 }));
// The main job loads the driver through the LeRobot part's index (daemon/components/loaders.ts).
vi.mock('../../sim/scan-policy/index.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../sim/scan-policy/index.ts')>();
  return {
    ...real,
    createPolicyDriver: async (...args: Parameters<typeof real.createPolicyDriver>) => {
      const driver = await real.createPolicyDriver(...args);
      const stop = driver.close.bind(driver);
      driver.close = () => {
        policyDriver.stopped++;
        return stop();
      };
      if (policyDriver.stopWhileLoading)
        await args[0].bus.query('agent/stop', {
          encoding: 'application/json',
          payload: new TextEncoder().encode('{"by": "ada"}'),
        });
      return driver;
    },
  };
});

const cleanups: Cleanup[] = [];
afterEach(async () => {
  await runCleanups(cleanups);
  await stopAgents();
});

describe('a latched stop refuses a moving Twist however the publish names its type', () => {
  // The publish skill sends anything on motion.velocity.topic as a Twist through the gate, whatever `type`
  // says: a `type` that makes the latch read the fields as something else must not let it through.
  for (const type of ['geometry_msgs/msg/TwistStamped', 'std_msgs/msg/String', 'Geometry_msgs/msg/Twist']) {
    it(`type ${type} on the velocity topic`, async () => {
      const ctx = componentContext();
      const twists = watchCmdVel(ctx.bus, ctx.codec);
      const agent = await startAgent(ctx);
      await agent.halt('ada', 'person in the aisle');
      const stopTwists = twists.length;
      const run = await settled(
        agent,
        (
          await agent.submitIntent(
            skillIntent('publish', { topic: '/cmd_vel', type, fields: { linear: { x: 0.5 } } }),
            'http',
          )
        ).run_id,
      );
      expect(twists.slice(stopTwists).every(isZero)).toBe(true);
      expect(run.run).toMatchObject({
        status: 'failed',
        reason: expect.stringContaining('the robot is stopped: latched by ada'),
      });
    });
  }
});

describe("a latched stop refuses a Twist on the agent's own navigation topic", () => {
  it('which the gate forwards to the velocity topic', async () => {
    const ctx = componentContext({ agent: { navigation: { timeout_s: 600 } } });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx);
    // The agent's navigator (made by the first navigate_to) publishes on AGENT_NAV_CMD_VEL; the gate forwards it.
    const drive = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(
      () => agent.getRun(drive.run_id)?.events.some((e) => e.kind === 'tool.call') === true,
      'navigate_to to act',
    );
    await agent.halt('ada');
    const stopTwists = twists.length;
    const run = await settled(
      agent,
      (
        await agent.submitIntent(
          skillIntent('publish', {
            topic: AGENT_NAV_CMD_VEL,
            type: 'geometry_msgs/msg/Twist',
            fields: { linear: { x: 0.5 } },
          }),
          'http',
        )
      ).run_id,
    );
    expect(run.run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('the robot is stopped: latched by ada'),
    });
    // What was forwarded, if anything, has reached the watcher by the time a later zero Twist has.
    await settled(
      agent,
      (await agent.submitIntent(skillIntent('publish', { topic: '/cmd_vel', fields: {} }), 'http')).run_id,
    );
    await waitFor(() => twists.length > stopTwists, 'the zero Twist');
    expect(twists.slice(stopTwists).every(isZero)).toBe(true);
  });
});

describe('auraison-edge stop --release with a daemon running', () => {
  it(
    'asks the daemon, also when its run/daemon.json is gone (a full disk at its start): the data dir lock says it runs',
    { timeout: 60_000 },
    async () => {
      const { daemon, dir, stop } = await startDaemon(
        {
          api: { port: 0 },
          foxglove: { enabled: false },
          lakehouse: { enabled: false },
          retention: { enabled: false },
        },
        'stop-latch-review-',
      );
      cleanups.push(stop);
      const config = join(dir, 'edge.yaml');
      writeFileSync(config, 'data_dir: ./data\napi: {port: 0}\nfoxglove: {enabled: false}\n');
      const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: dir, env: { USER: 'ada' } });
      expect((await cli('stop')).code).toBe(0);
      rmSync(join(dir, 'data', 'run', 'daemon.json'));

      const released = await cli('stop', '--release');
      expect(released.code, released.stderr).toBe(0);
      // The daemon's latch, not only its file: what the robot obeys.
      expect(running(daemon, AgentComponent)!.health().details).toMatchObject({ stop_latch: null });
      expect(existsSync(haltLatchPath(join(dir, 'data')))).toBe(false);
      expect(released.stdout).toMatch(/^daemon: .+\nreleased: the stop latched by ada/);
    },
  );
});

describe("the sim's main job", () => {
  it(
    'a stop that comes while the policy driver loads ends the drive: the driver is stopped, not left driving',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir('stop-latch-sim-');
      cleanups.push(dir.cleanup);
      policyDriver.stopWhileLoading = true;
      cleanups.push(() => void (policyDriver.stopWhileLoading = false));
      const job = await runMain(['sim', 'turtlebot-maze', '--driver', 'policy', '--speed', '4', '--duration', '5'], {
        cwd: dir.path,
      });
      expect(policyDriver.stopped).toBeGreaterThan(0);
      expect(job.code).toBe(1);
      expect(job.stdout).toContain('stopped by ada');
    },
  );
});

describe('releasing the latch', () => {
  it('a release while motion.stop.latch is false leaves no latch behind for a later reload that turns it on again', async () => {
    const ctx = componentContext();
    const latching = await startAgent(ctx);
    await latching.halt('ada');
    await latching.close();
    forgetAgent(latching);
    // A reload with motion.stop.latch: false restarts the agent on the same data dir; a person releases the stop.
    // The daemon's one stop takes the reload's setting (Daemon.reload applies it before restarting the agent).
    const off = componentContext({ motion: { stop: { latch: false } } });
    const stop = ctx.haltAuthority as HaltAuthority;
    stop.applySettings(off.config);
    const unlatched = await startAgent({ ...ctx, config: off.config });
    await unlatched.releaseHalt('bob');
    expect(existsSync(haltLatchPath(ctx.dataDir))).toBe(false);
    await unlatched.close();
    forgetAgent(unlatched);
    // Back to true: nothing on disk, and nothing in memory either (a restart would find none).
    stop.applySettings(ctx.config);
    const again = await startAgent(ctx);
    expect(again.health().details).toMatchObject({ stop_latch: null });
  });

  it('a latch file that cannot be removed (a directory put there) says what to do', async () => {
    const ctx = componentContext();
    mkdirSync(join(haltLatchPath(ctx.dataDir), 'x'), { recursive: true });
    const agent = await startAgent(ctx);
    expect(agent.health().details).toMatchObject({ stop_latch: { by: 'unknown' } });
    await expect(agent.releaseHalt('bob')).rejects.toThrow(
      /the robot stays stopped; remove .*stop-latch\.json by hand .*, then release again/,
    );
  });
});
