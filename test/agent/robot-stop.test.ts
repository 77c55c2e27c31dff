import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { JournalRecord } from '../../daemon/contract/services.ts';
import type { RobotHaltOutcome } from '../../daemon/contract/halt.ts';
import type { RunState } from '../../daemon/contract/schemas.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { serveStop, startAgent, stopAgents } from './agent-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { drivingNavigator, isZero, watchCmdVel } from './robot-stop-fixtures.ts';
import { skillIntent } from '../helpers/intents.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';
import { running } from '../helpers/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';

/**
 * Stopping the robot never waits on the disk: the `stop` skill acts before its call is journaled, and the
 * operator's stop (POST /stop, `auraison-edge stop`, the bus query agent/stop) halts the robot first and
 * then cancels every run, also when the journal refuses to record it.
 */

const cleanups: Cleanup[] = [];
afterEach(async () => {
  await runCleanups(cleanups);
  await stopAgents();
});

const isToolCall = (kind: string, data: unknown) =>
  kind === 'agent_event' && (data as { kind?: string }).kind === 'tool.call';

/** A journal whose tool.call records wait (a slow fsync) until released, or are refused (a full disk). */
class SlowJournal extends MemoryJournal {
  held: (() => void)[] = [];
  refuse: ((kind: string, data: unknown) => boolean) | undefined;
  holdToolCalls = true;
  override append(kind: string, data: unknown): Promise<JournalRecord> {
    if (this.refuse?.(kind, data))
      return Promise.reject(Object.assign(new Error('journal: cannot append: the disk is full'), { code: 'ENOSPC' }));
    if (!this.holdToolCalls || !isToolCall(kind, data)) return super.append(kind, data);
    return new Promise((resolve) => this.held.push(() => resolve(super.append(kind, data))));
  }
  release(): void {
    for (const go of this.held.splice(0)) go();
  }
}

async function settledRun(agent: AgentComponent, runId: string): Promise<RunState> {
  await waitFor(
    () => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(agent.getRun(runId)!.run.status),
    `run ${runId} to end`,
  );
  return agent.getRun(runId)!.run;
}

describe('the stop skill', () => {
  it('stops the robot while its call is still being written to the journal, then journals it', async () => {
    const journal = new SlowJournal();
    const ctx = componentContext({}, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx);
    const run = await agent.submitIntent(skillIntent('stop', {}), 'http');
    await waitFor(() => journal.held.length === 1, 'the stop call to be written');
    // The disk has not answered, and the robot is already stopped.
    await waitFor(() => twists.length === 1, 'a Twist on /cmd_vel before the stop call is durable');
    expect(isZero(twists[0]!)).toBe(true);
    expect(agent.getRun(run.run_id)!.run.status).toBe('running');

    journal.release();
    expect(await settledRun(agent, run.run_id)).toMatchObject({ status: 'succeeded' });
    expect(agent.getRun(run.run_id)!.events.map((e) => e.kind)).toEqual([
      'intent.accepted',
      'tool.call',
      'tool.result',
    ]);
  });

  it('delivers its zero Twist before the journal writes its call (a write(2) can block on a disk under pressure)', async () => {
    // As DurableJournal does: records appended in a tick are written in a microtask after it. This one
    // notes, at that write, how many Twists /cmd_vel's subscribers had been given.
    let seenAtWrite: number | undefined;
    let twists: unknown[] = [];
    class WritingJournal extends MemoryJournal {
      override append(kind: string, data: unknown): Promise<JournalRecord> {
        return new Promise((resolve) =>
          queueMicrotask(() => {
            if (isToolCall(kind, data)) seenAtWrite = twists.length;
            resolve(super.append(kind, data));
          }),
        );
      }
    }
    const ctx = componentContext({}, { journal: new WritingJournal() });
    twists = watchCmdVel(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx);
    const run = await agent.submitIntent(skillIntent('stop', {}), 'http');
    expect(await settledRun(agent, run.run_id)).toMatchObject({ status: 'succeeded' });
    expect(seenAtWrite).toBe(1);
  });

  it('stops the robot when the journal refuses its call, and the run fails saying so', async () => {
    const journal = new SlowJournal();
    journal.holdToolCalls = false;
    const ctx = componentContext({}, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav });
    const drive = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => twists.some((t) => !isZero(t)), 'the robot to drive');
    const stop = await agent.submitIntent(skillIntent('stop', {}), 'http');
    journal.refuse = isToolCall; // the disk fills after the stop intent was accepted

    expect(await settledRun(agent, stop.run_id)).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('the disk is full'),
    });
    // The stop skill is the operator's stop: the drive is aborted, and its run cancelled by it.
    await waitFor(() => agent.getRun(drive.run_id)!.run.status !== 'running', 'the navigation to end');
    expect(agent.getRun(drive.run_id)!.run.reason).toContain('the stop skill');
    // The navigator's drive was stopped (its timer is gone), and nothing published after the stop's zero.
    expect(nav.driving).toBe(0);
    const sent = twists.length;
    expect(isZero(twists.at(-1)!)).toBe(true);
    await tick();
    expect(twists.length).toBe(sent);
  });
});

describe('the operator stop', () => {
  it('halts the drive, cancels every run and reports a journal that refused the cancels', async () => {
    const journal = new SlowJournal();
    journal.holdToolCalls = false;
    const ctx = componentContext({ agent: { require_approval: ['publish'] } }, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav });
    const drive = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    const waiting = await agent.submitIntent(
      skillIntent('publish', { topic: '/cmd_vel', fields: { linear: { x: 0.1 } } }),
      'http',
    );
    await waitFor(
      () => agent.getRun(waiting.run_id)!.run.status === 'awaiting_approval',
      'the publish to wait for approval',
    );
    await waitFor(() => twists.some((t) => !isZero(t)), 'the robot to drive');
    journal.refuse = () => true; // the disk is full from here on

    const outcome = await agent.halt('ada', 'person in the aisle');
    expect(outcome).toEqual({
      topic: '/cmd_vel',
      aborted: 'navigate_to',
      cancelled: expect.arrayContaining([drive.run_id, waiting.run_id]),
      journal_error: expect.stringContaining('the disk is full'),
      latched: { by: 'ada', reason: 'person in the aisle', since: expect.any(String), persisted: true, error: null },
      zeroed: [],
    });
    expect(outcome.cancelled).toHaveLength(2);
    expect(nav.driving).toBe(0);
    const sent = twists.length;
    expect(isZero(twists.at(-1)!)).toBe(true);
    await tick();
    expect(twists.length).toBe(sent);
    // Approving the cancelled run acts on nothing.
    await expect(agent.approve(waiting.run_id, 'bob')).rejects.toThrow();
    expect(twists.length).toBe(sent);
  });

  it("sends a zero to every velocity topic the agent drove, a namespaced robot's Twist and TwistStamped too", async () => {
    const ctx = componentContext({ motion: { velocity: { topics: ['/robot*/cmd_vel'] } } });
    const agent = await startAgent(ctx);
    const seen: { topic: string; value: { linear?: { x: number }; twist?: { linear: { x: number } } } }[] = [];
    ctx.bus.subscribe({
      name: 'test',
      topic: '/robot*/cmd_vel',
      queue: { policy: 'drop-newest', depth: 100 },
      handler: (m) => void seen.push({ topic: m.topic, value: ctx.codec.decode(m.type, m.data) }),
    });
    const published = (params: Record<string, unknown>) =>
      agent.submitIntent(skillIntent('publish', params), 'http').then((run) => settledRun(agent, run.run_id));
    expect(
      await published({ topic: '/robot1/cmd_vel', type: 'geometry_msgs/msg/Twist', fields: { linear: { x: 0.1 } } }),
    ).toMatchObject({ status: 'succeeded' });
    expect(
      await published({
        topic: '/robot2/cmd_vel',
        type: 'geometry_msgs/msg/TwistStamped',
        fields: { twist: { linear: { x: 0.1 } } },
      }),
    ).toMatchObject({ status: 'succeeded' });
    await waitFor(() => seen.length === 2, 'the two moving commands');

    await agent.halt('ada');
    await waitFor(() => seen.length === 4, "a zero on each robot's topic");
    expect(seen.slice(2)).toEqual([
      { topic: '/robot1/cmd_vel', value: expect.objectContaining({ linear: { x: 0, y: 0, z: 0 } }) },
      {
        topic: '/robot2/cmd_vel',
        value: expect.objectContaining({ twist: expect.objectContaining({ linear: { x: 0, y: 0, z: 0 } }) }),
      },
    ]);
  });

  it('answers a bus query agent/stop, and refuses a request it cannot read without stopping anything', async () => {
    const ctx = componentContext();
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    await serveStop(ctx, await startAgent(ctx));
    const ask = async (text: string) => {
      const reply = await ctx.bus.query('agent/stop', {
        encoding: 'application/json',
        payload: new TextEncoder().encode(text),
      });
      return JSON.parse(new TextDecoder().decode(reply.payload)) as RobotHaltOutcome;
    };
    expect(await ask('')).toEqual({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: expect.objectContaining({ by: 'bus', reason: null }),
      zeroed: [],
    });
    // A stop while latched zeroes again, and keeps the latch the first one made.
    expect(await ask('{"by": "nav2_bt", "reason": "lost localization"}')).toEqual({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: expect.objectContaining({ by: 'bus', reason: null }),
      zeroed: [],
    });
    expect(twists.filter(isZero)).toHaveLength(2);
    await expect(ask('stop!')).rejects.toThrow(/agent\/stop: the request is not JSON .*The robot was NOT stopped/);
    await expect(ask('{"who": "ada"}')).rejects.toThrow(/agent\/stop: .*who.*The robot was NOT stopped/);
    expect(twists).toHaveLength(2);
  });
});

describe('auraison-edge stop', () => {
  it('stops a robot the sim drives, through the API, and says what it cancelled', { timeout: 60_000 }, async () => {
    const dir = tempDir('robot-stop-');
    cleanups.push(dir.cleanup);
    const configFile = join(dir.path, 'edge.yaml');
    const yaml = [
      `data_dir: ${join(dir.path, 'data')}`,
      'sim: {enabled: true, speed: 1}',
      'api: {port: 0}',
      'foxglove: {enabled: false}',
    ].join('\n');
    writeFileSync(configFile, yaml);
    const daemon = new Daemon({
      config: parseConfigText(yaml, configFile),
      log: pino({ level: 'silent' }),
      cwd: dir.path,
    });
    await daemon.start();
    cleanups.push(() => daemon.close());
    const agent = running(daemon, AgentComponent)!;
    const twists = watchCmdVel(daemon.bus, new MessageCodec(daemon.definitions));
    const dock = running(daemon, TurtlebotMazeSim)!.namedPoses.charging_dock!;
    const drive = await agent.submitIntent(skillIntent('navigate_to', { x: dock.x, y: dock.y }), 'http');
    await waitFor(() => twists.some((t) => !isZero(t)), 'the robot to drive');
    // The CLI finds the API by the file its daemon writes once it listens.
    await waitFor(() => readApiFile(join(dir.path, 'data')) !== undefined, 'the API to write run/api.json');

    const stop = await runMain(['stop', '--by', 'ada', '--reason', 'person in the aisle', '--config', configFile], {
      cwd: dir.path,
    });
    expect(stop.stderr).toBe('');
    expect(stop.code).toBe(0);
    // First which daemon it stopped (its data dir, pid and API), then what it did.
    const [addressed, ...done] = stop.stdout.split('\n');
    expect(addressed).toContain(`daemon: ${daemon.status().data_dir} (pid ${process.pid}, http://`);
    expect(done.join('\n')).toBe(
      `stopped: zero Twist on /cmd_vel, navigate_to aborted\ncancelled 1 run: ${drive.run_id.slice(0, 13)}\nlatched: nothing the daemon governs moves the robot until released (\`auraison-edge stop --release\`)\n`,
    );
    expect(agent.getRun(drive.run_id)!.run).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by ada: stop: person in the aisle',
    });
    expect(isZero(twists.at(-1)!)).toBe(true);

    // Nothing left to stop: the zero Twist goes out all the same, and ada's latch holds. And --json.
    const again = await runMain(['stop', '--json', '--config', configFile], { cwd: dir.path, env: { USER: 'bob' } });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: expect.objectContaining({ by: 'ada', persisted: true }),
      zeroed: [],
    });

    // curl -X POST -H 'content-type: application/json' with no body; a body it cannot take is a 400 that stops nothing.
    const url = JSON.parse((await import('node:fs')).readFileSync(join(dir.path, 'data', 'run', 'api.json'), 'utf8'))
      .url as string;
    const bare = await fetch(`${url}/stop`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(bare.status).toBe(200);
    const sentBefore = twists.length;
    const bad = await fetch(`${url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"by": ""}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request', message: expect.stringContaining('body.by') });
    expect(twists.length).toBe(sentBefore);
  });

  it('says the robot was NOT stopped when no daemon answers', async () => {
    const dir = tempDir('robot-stop-none-');
    cleanups.push(dir.cleanup);
    const configFile = join(dir.path, 'edge.yaml');
    writeFileSync(configFile, `data_dir: ${join(dir.path, 'data')}\napi: {port: 1}\n`);
    const stop = await runMain(['stop', '--config', configFile], { cwd: dir.path });
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(
      /^auraison-edge stop: the robot was NOT stopped: .*\nno daemon is running with data dir/,
    );
  });
});
