import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { haltLatchPath } from '../../daemon/halt/halt-latch.ts';
import { CmdVelGate } from '../../daemon/motion/cmd-vel-gate.ts';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { forgetAgent, serveStop, settled, startAgent, stopAgents } from './agent-harness.ts';
import { drivingNavigator, isZero, watchCmdVel } from './robot-stop-fixtures.ts';
import { skillIntent } from '../helpers/intents.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';

/**
 * The operator's stop latches (motion.stop.latch, on by default): after POST /stop, `auraison-edge stop` or
 * agent/stop, nothing the agent governs moves the robot until a person releases it, across restarts.
 */

const cleanups: Cleanup[] = [];
afterEach(async () => {
  await runCleanups(cleanups);
  await stopAgents();
});

const moving = { topic: '/cmd_vel', fields: { linear: { x: 0.1 } } };
const decisions = (events: AgentEvent[]) =>
  events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload as { rule?: string; action?: string });

describe('a latched stop', () => {
  it('refuses every motion, from any run, until released; what does not move the robot still runs', async () => {
    // /chatter is declared not to move the robot; every other topic it may publish is a command topic.
    const ctx = componentContext({ motion: { non_actuating: { topics: ['/rosout', '/chatter'] } } });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav });
    const outcome = await agent.halt('ada', 'person in the aisle');
    expect(outcome.latched).toEqual({
      by: 'ada',
      reason: 'person in the aisle',
      since: expect.any(String),
      persisted: true,
      error: null,
    });
    expect(agent.health().details).toMatchObject({ stop_latch: { by: 'ada' } });
    const stopTwists = twists.length;

    const drive = await settled(
      agent,
      (await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http')).run_id,
    );
    expect(drive.run).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /the robot is stopped: latched by ada at .* \(person in the aisle\); .*auraison-edge stop --release/,
      ),
    });
    expect(decisions(drive.events)).toContainEqual(expect.objectContaining({ rule: 'stop_latch', action: 'deny' }));
    expect(nav.goals).toBe(0);

    const policy = await settled(
      agent,
      (await agent.submitIntent(skillIntent('run_policy', { name: 'any', seconds: 1 }), 'http')).run_id,
    );
    expect(policy.run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('the robot is stopped: latched by ada'),
    });

    const twist = await settled(agent, (await agent.submitIntent(skillIntent('publish', moving), 'http')).run_id);
    expect(twist.run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('a Twist that moves, on /cmd_vel'),
    });
    // A zero Twist is a stop: it passes. So does a read.
    const zero = await settled(
      agent,
      (await agent.submitIntent(skillIntent('publish', { topic: '/cmd_vel', fields: {} }), 'http')).run_id,
    );
    expect(zero.run.status).toBe('succeeded');
    expect(twists.slice(stopTwists).every(isZero)).toBe(true);
    const other = await settled(
      agent,
      (
        await agent.submitIntent(
          skillIntent('publish', { topic: '/chatter', type: 'std_msgs/msg/String', fields: { data: 'hi' } }),
          'http',
        )
      ).run_id,
    );
    expect(other.run.status).toBe('succeeded');
    // A type no rule calls motion, on a topic not declared: a command topic holds it (a servo's Float64).
    const servo = await settled(
      agent,
      (
        await agent.submitIntent(
          skillIntent('publish', { topic: '/servo/command', type: 'std_msgs/msg/Float64', fields: { data: 0.4 } }),
          'http',
        )
      ).run_id,
    );
    expect(servo.run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining(
        'on a command topic (motion.non_actuating does not declare it), on /servo/command',
      ),
    });

    expect(await agent.releaseHalt('bob')).toMatchObject({ released: true, latch: { by: 'ada' } });
    expect(agent.health().details).toMatchObject({ stop_latch: null });
    expect(existsSync(haltLatchPath(ctx.dataDir))).toBe(false);
    const again = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => nav.goals === 1 && !isZero(twists.at(-1)!), 'the robot to drive once released');
    const latch = (await agent.halt('bob', 'first stop')).latched!;
    expect((await settled(agent, again.run_id)).run.status).toBe('cancelled');
    // A stop while latched keeps the latch it found, and counts itself there with who and why; a release that names
    // another latch does not release it.
    expect((await agent.halt('carol', 'second stop')).latched).toMatchObject({
      by: 'bob',
      since: latch.since,
      again: { count: 1, by: 'carol', reason: 'second stop' },
    });
    await expect(agent.releaseHalt('bob', '2026-01-01T00:00:00.000Z')).rejects.toThrow(
      /^not released: the stop now latched is a newer one, by bob at .* \(first stop\); stopped again once since, last by carol at \S+ \(second stop\), not the one of 2026-01-01T00:00:00\.000Z you were shown; look at it, then release again$/,
    );
    expect(agent.health().details).toMatchObject({ stop_latch: { by: 'bob' } });
    expect(await agent.releaseHalt('bob', latch.since)).toMatchObject({ released: true, latch: { by: 'bob' } });
    // Releasing twice: nothing was latched the second time.
    await agent.releaseHalt('bob');
    expect(await agent.releaseHalt('bob')).toEqual({ released: false, latch: null });
  });

  it('holds across a restart: the next agent reads it from the data dir, and says so', async () => {
    const ctx = componentContext();
    const first = await startAgent(ctx);
    await first.halt('ada', 'wheel slipping');
    await first.close();
    forgetAgent(first);
    expect(JSON.parse(readFileSync(haltLatchPath(ctx.dataDir), 'utf8'))).toEqual({
      by: 'ada',
      reason: 'wheel slipping',
      since: expect.any(String),
    });

    const warnings: string[] = [];
    const log = ctx.log.child({});
    log.warn = ((_obj: unknown, message: string) => void warnings.push(message)) as typeof log.warn;
    const second = await startAgent({ ...ctx, log });
    expect(warnings).toContainEqual(
      expect.stringMatching(/^the robot is stopped: latched by ada .*: the stop is latched since before this start$/),
    );
    const run = await settled(
      second,
      (await second.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http')).run_id,
    );
    expect(run.run).toMatchObject({ status: 'failed', reason: expect.stringContaining('latched by ada') });
  });

  it('a latch file it cannot read latches all the same (a file cut short by a full disk)', async () => {
    const ctx = componentContext();
    mkdirSync(join(ctx.dataDir, 'state'));
    writeFileSync(haltLatchPath(ctx.dataDir), '{"by": "ad');
    const agent = await startAgent(ctx);
    expect(agent.health().details).toMatchObject({
      stop_latch: {
        by: 'unknown',
        reason: expect.stringContaining('is unreadable (not a latch record): latched to be safe'),
      },
    });
    const run = await settled(agent, (await agent.submitIntent(skillIntent('publish', moving), 'http')).run_id);
    expect(run.run.status).toBe('failed');
    expect(await agent.releaseHalt('ada')).toMatchObject({ released: true });
    expect(existsSync(haltLatchPath(ctx.dataDir))).toBe(false);
  });

  it("a FIFO at the latch path latches as unreadable rather than block the agent's start on reading it", async () => {
    const ctx = componentContext();
    mkdirSync(join(ctx.dataDir, 'state'));
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [haltLatchPath(ctx.dataDir)]);
    const agent = await startAgent(ctx);
    expect(agent.health().details).toMatchObject({
      stop_latch: {
        by: 'unknown',
        reason: expect.stringContaining('is unreadable (not a regular file): latched to be safe'),
      },
    });
  });

  it('a latch that cannot be written holds in this process and says a restart would not find it', async () => {
    const ctx = componentContext();
    writeFileSync(join(ctx.dataDir, 'state'), 'a file where the state dir goes');
    const agent = await startAgent(ctx);
    const outcome = await agent.halt('ada');
    expect(outcome.latched).toMatchObject({
      by: 'ada',
      persisted: false,
      error: expect.stringMatching(/could not be written to .*stop-latch\.json .*a restart would not find it/),
    });
    const run = await settled(
      agent,
      (await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http')).run_id,
    );
    expect(run.run.status).toBe('failed');
  });

  it('a release the disk refuses leaves the latch in place', async () => {
    if (process.getuid?.() === 0) {
      // root removes files from a read-only directory: the refusal is made another way, with the same effect.
      const ctx = componentContext();
      const agent = await startAgent(ctx);
      await agent.halt('ada');
      const path = haltLatchPath(ctx.dataDir);
      // A directory where the file was: rm without recursive fails as a busy or read-only disk would.
      const { rmSync } = await import('node:fs');
      rmSync(path);
      mkdirSync(join(path, 'x'), { recursive: true });
      await expect(agent.releaseHalt('bob')).rejects.toThrow(
        /the stop latch could not be released: .*stop-latch\.json could not be removed .*the robot stays stopped/,
      );
      expect(agent.health().details).toMatchObject({ stop_latch: { by: 'ada' } });
      return;
    }
    const ctx = componentContext();
    const agent = await startAgent(ctx);
    await agent.halt('ada');
    chmodSync(join(ctx.dataDir, 'state'), 0o500);
    cleanups.push(() => chmodSync(join(ctx.dataDir, 'state'), 0o700));
    await expect(agent.releaseHalt('bob')).rejects.toThrow(/the robot stays stopped/);
    expect(agent.health().details).toMatchObject({ stop_latch: { by: 'ada' } });
  });

  it('motion.stop.latch false: a stop only stops, and a latch file left from before is reported, not obeyed', async () => {
    const ctx = componentContext({ motion: { stop: { latch: false } } });
    mkdirSync(join(ctx.dataDir, 'state'));
    writeFileSync(
      haltLatchPath(ctx.dataDir),
      JSON.stringify({ by: 'ada', reason: null, since: '2026-11-23T00:00:00.000Z' }),
    );
    const warnings: string[] = [];
    const log = ctx.log.child({});
    log.warn = ((_obj: unknown, message: string) => void warnings.push(message)) as typeof log.warn;
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent({ ...ctx, log }, { navigation: nav });
    expect(warnings).toContainEqual(
      expect.stringMatching(/^motion\.stop\.latch is false: the latch in .* \(by ada\) is not obeyed$/),
    );
    expect((await agent.halt('bob')).latched).toBeNull();
    const run = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => nav.goals === 1, 'the robot to drive after an unlatched stop');
    await agent.halt('bob');
    expect((await settled(agent, run.run_id)).run.status).toBe('cancelled');
  });
});

describe('the CmdVelGate under a latched stop', () => {
  it('sends a moving Twist that reached it without the policy hooks as a zero one, and counts it', async () => {
    const ctx = componentContext();
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    let latched: string | undefined;
    const gate = new CmdVelGate({
      bus: ctx.bus,
      codec: ctx.codec,
      limits: { topic: '/cmd_vel', max_linear_x: 0.5, max_angular_z: 1, mode: 'clamp' },
      latched: () => latched,
    });
    gate.forward('/controller/cmd_vel', 'test-gate');
    cleanups.push(() => gate.close());
    const controller = ctx.bus.advertise('/controller/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'test' });
    const drive = () =>
      controller.publish(ctx.codec.encode('geometry_msgs/msg/Twist', { linear: { x: 0.3 }, angular: { z: 0.2 } }));

    drive();
    await waitFor(() => twists.length === 1, 'the Twist through the gate');
    expect(isZero(twists[0]!)).toBe(false);
    latched = 'the robot is stopped: latched by ada';
    drive();
    await waitFor(() => twists.length === 2, 'the held Twist');
    expect(isZero(twists[1]!)).toBe(true);
    expect(gate.send({ linear: { x: 0.1 } }).twist.linear.x).toBe(0);
    expect(gate.counters).toMatchObject({ sent: 3, held: 2 });
    latched = undefined;
    drive();
    await waitFor(() => twists.length === 4, 'the Twist once released');
    expect(isZero(twists[3]!)).toBe(false);
  });

  it('the stop component exports the latch, and the agent the held Twists, as metrics', async () => {
    const ctx = componentContext();
    const agent = await startAgent(ctx);
    const service = await serveStop(ctx, agent);
    const gauge = () => service.metrics().find((m) => m.name === 'auraison_agent_stop_latched')!.samples[0]!.value;
    expect(gauge()).toBe(0);
    await agent.halt('ada');
    expect(gauge()).toBe(1);
    expect(agent.metrics().find((m) => m.name === 'auraison_agent_cmd_vel_held_total')!.samples[0]!.value).toBe(0);
    await agent.releaseHalt('ada');
    expect(gauge()).toBe(0);
  });
});

describe('auraison-edge stop --release', () => {
  it(
    "releases the running daemon's latch; a teleop Twist is refused until then; with no daemon it removes the file",
    { timeout: 60_000 },
    async () => {
      const { daemon, dir, stop } = await startDaemon(
        {
          sim: { enabled: true, speed: 10 },
          api: { port: 0 },
          foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel'] } },
          lakehouse: { enabled: false },
          retention: { enabled: false },
        },
        'stop-latch-',
      );
      cleanups.push(stop);
      const config = join(dir, 'edge.yaml');
      writeFileSync(config, 'data_dir: ./data\napi: {port: 0}\nfoxglove: {port: 0}\n');
      const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: dir, env: { USER: 'ada' } });

      const stopped = await cli('stop', '--reason', 'checking the gripper');
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toContain(
        'latched: nothing the daemon governs moves the robot until released (`auraison-edge stop --release`)',
      );
      // A Foxglove client's (here `topic pub`'s) moving Twist is refused, naming the latch.
      const pub = await cli('topic', 'pub', '/cmd_vel', 'geometry_msgs/msg/Twist', '{linear: {x: 0.1}}', '--once');
      expect(pub.code).toBe(1);
      expect(pub.stderr).toMatch(/the robot is stopped: latched by ada .*checking the gripper/);

      const status = await cli('status');
      expect(status.stdout).toMatch(
        /\nROBOT STOPPED: latched by ada at \S+ \(checking the gripper\); nothing moves it until `auraison-edge stop --release`\n/,
      );
      // A second operator's stop: the latch stays the first's (a release names it), and lists the later one.
      const again = await cli('stop', '--by', 'bob', '--reason', 'arm near the fixture');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(
        /\nalready latched by ada at \S+ \(checking the gripper\); stopped again once since, last by bob at \S+ \(arm near the fixture\): /,
      );
      expect((await cli('status')).stdout).toMatch(
        /\nROBOT STOPPED: latched by ada at \S+ \(checking the gripper\); stopped again once since, last by bob at \S+ \(arm near the fixture\); nothing moves it/,
      );
      // POST /stop/release naming a latch other than the one held: 409, and the latch stays.
      const { readApiFile } = await import('../../daemon/api/discovery.ts');
      const url = readApiFile(join(dir, 'data'))!.url;
      const conflict = await fetch(`${url}/stop/release`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'page', since: '2026-01-01T00:00:00.000Z' }),
      });
      expect(conflict.status).toBe(409);
      expect(await conflict.json()).toMatchObject({
        error: 'conflict',
        message: expect.stringContaining('a newer one, by ada'),
      });
      const released = await cli('stop', '--release', '--by', 'bob');
      expect(released.code, released.stderr).toBe(0);
      // which daemon was released, then what
      expect(released.stdout).toMatch(
        /^daemon: .+\nreleased: the stop latched by ada at \S+ \(checking the gripper\); stopped again once since, last by bob at \S+ \(arm near the fixture\); the robot may move again\n$/,
      );
      const pubAgain = await cli('topic', 'pub', '/cmd_vel', 'geometry_msgs/msg/Twist', '{linear: {x: 0.1}}', '--once');
      expect(pubAgain.code, pubAgain.stderr).toBe(0);
      expect((await cli('status')).stdout).not.toContain('ROBOT STOPPED');
      const none = await cli('stop', '--release', '--json');
      expect(JSON.parse(none.stdout)).toEqual({ released: false, latch: null });

      // Stopped again, then the daemon goes away: the latch is only its file, which --release removes.
      expect((await cli('stop')).code).toBe(0);
      await daemon.close();
      const path = haltLatchPath(join(dir, 'data'));
      expect(existsSync(path)).toBe(true);
      const offline = await cli('stop', '--release');
      expect(offline.code, offline.stderr).toBe(0);
      expect(offline.stdout).toMatch(
        /^no daemon runs with data dir .*: removed its latch file: the stop latched by ada at /,
      );
      expect(existsSync(path)).toBe(false);
    },
  );

  it(
    'the main job does not drive while a stop is latched on its data dir, and says how to release it',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir('stop-latch-sim-');
      cleanups.push(dir.cleanup);
      mkdirSync(join(dir.path, '.auraison-edge', 'state'), { recursive: true });
      writeFileSync(
        haltLatchPath(join(dir.path, '.auraison-edge')),
        JSON.stringify({ by: 'status-page', reason: null, since: '2026-11-23T10:00:00.000Z' }),
      );
      const job = await runMain(['sim', 'turtlebot-maze', '--speed', '10', '--duration', '5'], { cwd: dir.path });
      expect(job.code).toBe(1);
      expect(job.stderr).toMatch(
        /not driving: the robot is stopped: latched by status-page at 2026-11-23T10:00:00\.000Z; .*auraison-edge stop --release/,
      );
      const released = await runMain(['stop', '--release'], { cwd: dir.path });
      expect(released.code, released.stderr).toBe(0);
      expect(existsSync(haltLatchPath(join(dir.path, '.auraison-edge')))).toBe(false);
    },
  );

  it('refuses --reason with --release (bad usage, exit 2)', async () => {
    const r = await runMain(['stop', '--release', '--reason', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--reason is for a stop, not --release');
  });
});
