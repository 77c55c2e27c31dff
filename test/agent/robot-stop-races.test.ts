import { fauxAssistantMessage, fauxToolCall, streamSimple } from '@mariozechner/pi-ai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { simPolicyLoopConfig } from '../system1/sim-policy-config.ts';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { COMPONENTS } from '../../daemon/components/index.ts';
import { provideAgent, SYSTEM2_COMPONENTS } from '../../daemon/components/system2.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import type { PolicyDecision } from '../../daemon/contract/policy-hook.ts';
import type { Intent, RunState } from '../../daemon/contract/schemas.ts';
import type { JournalRecord } from '../../daemon/contract/services.ts';
import type { RobotHaltOutcome } from '../../daemon/contract/halt.ts';
import { ControlComponent, type LoopHandle } from '../../daemon/system1/control/control-component.ts';
import type { ControlLoopOptions, ControlLoopStats } from '../../daemon/system1/control/control-loop.ts';
import { LoopState } from '../../daemon/system1/control/loop-state.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { silentLogger } from '../../daemon/log.ts';
import { startHarness } from '../api/harness.ts';
import { writeLinearModel } from '../system1/models.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startDaemon, running } from '../helpers/daemon.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { fauxModel, forgetAgent, serveStop, settled, startAgent, stopAgents } from './agent-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { drivingNavigator, isZero, watchCmdVel } from './robot-stop-fixtures.ts';
import { skillIntent } from '../helpers/intents.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';

/**
 * The operator's stop against everything else that happens at the same moment: an intent being accepted,
 * an approval being applied, a model answering, the agent restarting, a control loop starting, a journal
 * that stalls or refuses some writes. Whatever the order, nothing drives the robot after the stop answered,
 * and the answer comes even when the disk does not.
 */

const cleanups: Cleanup[] = [];
afterEach(async () => {
  await runCleanups(cleanups);
  await stopAgents();
});

type Match = (kind: string, data: unknown) => boolean;

/**
 * A journal that stalls (a stuck fsync) from the first append `hold` matches: that one and every one after
 * it wait, in order, until `release`. Appends `refuse` matches are refused (a full disk).
 */
class GatedJournal extends MemoryJournal {
  held: (() => void)[] = [];
  hold: Match | undefined;
  refuse: Match | undefined;
  override append(kind: string, data: unknown): Promise<JournalRecord> {
    if (this.refuse?.(kind, data))
      return Promise.reject(Object.assign(new Error('journal: cannot append: the disk is full'), { code: 'ENOSPC' }));
    if (this.held.length === 0 && !this.hold?.(kind, data)) return super.append(kind, data);
    return new Promise((resolve) => this.held.push(() => resolve(super.append(kind, data))));
  }
  /** Lets the held appends through, and those to come. */
  release(): void {
    this.hold = undefined;
    for (const go of this.held.splice(0)) go();
  }
}

const runStateOf = (kind: string, data: unknown) => (kind === 'run_state' ? (data as RunState) : undefined);
const eventOf = (kind: string, data: unknown) =>
  kind === 'agent_event' ? (data as { run_id: string; kind: string }) : undefined;

/** A publish of a Twist that waits for approval (the agent has agent.require_approval: [publish]). */
async function waitingPublish(agent: AgentComponent): Promise<RunState> {
  const run = await agent.submitIntent(
    skillIntent('publish', { topic: '/cmd_vel', fields: { linear: { x: 0.1 } } }),
    'http',
  );
  await waitFor(() => agent.getRun(run.run_id)!.run.status === 'awaiting_approval', 'the publish to wait for approval');
  return run;
}

/** bob approves the run while the journal holds his grant, and ada stops the robot meanwhile. */
async function stopDuringApproval(agent: AgentComponent, journal: GatedJournal, runId: string) {
  journal.hold = (kind, data) => eventOf(kind, data)?.kind === 'approval.granted';
  const approving = agent.approve(runId, 'bob');
  approving.catch(() => undefined); // awaited by the test
  await waitFor(() => journal.held.length === 1, 'the grant to be being written');
  const stopping = agent.halt('ada');
  journal.release();
  return { outcome: await stopping, approving };
}

/**
 * Every run the agent tracked has ended, its end durable: whatever a run would have done (ask the navigator, publish a
 * Twist), it has done by then.
 */
const runsEnded = (agent: AgentComponent) =>
  waitFor(() => (agent.health().details as { live: number }).live === 0, 'every run of the agent to end');

describe('a stop racing an intent being accepted', () => {
  it('cancels a run whose intent was being made durable when the stop came, before it moves the robot', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({}, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav, stopReplyWaitMs: 60_000 });
    journal.hold = (kind, data) => runStateOf(kind, data)?.status === 'pending';
    const submitted = agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => journal.held.length === 1, 'the run to be being written');

    const stopping = agent.halt('ada', 'person in the aisle');
    journal.release();
    const run = await submitted;
    expect(run).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada: stop: person in the aisle' });
    expect(await stopping).toEqual({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [run.run_id],
      journal_error: null,
      zeroed: [],
      latched: expect.objectContaining({ by: 'ada' }),
    });
    await runsEnded(agent);
    expect(nav.goals).toBe(0);
    expect(twists.length).toBe(1);
    expect(isZero(twists[0]!)).toBe(true);
    expect(agent.getRun(run.run_id)!.events.map((e) => e.kind)).toEqual(['intent.accepted', 'run.cancelled']);
  });

  it('cancels a run whose intent a policy hook was still judging, and its model is never asked', async () => {
    let judge: (() => void) | undefined;
    const slowHook = {
      name: 'slow-intent-check',
      onIntent: () => new Promise<PolicyDecision<Intent>>((resolve) => (judge = () => resolve({ action: 'allow' }))),
    };
    const { faux, model } = fauxModel();
    faux.setResponses([
      fauxAssistantMessage([fauxToolCall('navigate_to', { x: 1, y: 1 })], { stopReason: 'toolUse' }),
      fauxAssistantMessage('Arrived.'),
    ]);
    const ctx = componentContext();
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav, model, hooks: [slowHook] });
    const submitted = agent.submitIntent(skillIntent('natural_language', { text: 'go to the dock' }), 'http');
    await waitFor(() => judge !== undefined, 'the hook to judge the intent');

    // Its run is in the store already, pending: it is cancelled with the others, and the reply need not wait.
    const outcome = await agent.halt('ada');
    expect(outcome).toMatchObject({ cancelled: [expect.any(String)], journal_error: null });
    judge!();
    const run = await submitted;
    expect((await settled(agent, run.run_id)).run).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by ada: stop',
    });
    await runsEnded(agent);
    expect(faux.state.callCount).toBe(0);
    expect(nav.goals).toBe(0);
  });
});

describe('a stop racing an approval', () => {
  it('wins over an approval whose grant is being written: the call it approved never acts', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({ agent: { require_approval: ['publish'] } }, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { stopReplyWaitMs: 60_000 });
    const run = await waitingPublish(agent);

    const { outcome, approving } = await stopDuringApproval(agent, journal, run.run_id);
    expect(outcome).toMatchObject({ cancelled: [run.run_id], journal_error: null });
    await expect(approving).rejects.toThrow(/before the approval could be applied: cancelled by ada: stop/);
    expect((await settled(agent, run.run_id)).run).toMatchObject({ status: 'cancelled' });
    await runsEnded(agent);
    expect(twists.map(isZero)).toEqual([true]);
  });

  it('wins over an approval of a run that paused before a restart, resumed while the stop comes', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({ agent: { require_approval: ['publish'] } }, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const first = await startAgent(ctx);
    const run = await waitingPublish(first);
    forgetAgent(first);
    await first.close('restarting');
    const agent = await startAgent(ctx, { stopReplyWaitMs: 60_000 });

    const { outcome, approving } = await stopDuringApproval(agent, journal, run.run_id);
    expect(outcome).toMatchObject({ cancelled: [run.run_id], journal_error: null });
    await expect(approving).rejects.toThrow(/before the approval could be applied/);
    expect((await settled(agent, run.run_id)).run).toMatchObject({ status: 'cancelled' });
    await runsEnded(agent);
    expect(twists.map(isZero)).toEqual([true]);
  });
});

describe('a stop while the model thinks', () => {
  it('a model that answers navigate_to after the stop (its stream did not see the abort) moves nothing', async () => {
    const { faux, model } = fauxModel();
    let answer: (() => void) | undefined;
    faux.setResponses([
      () =>
        new Promise(
          (resolve) =>
            (answer = () =>
              resolve(fauxAssistantMessage([fauxToolCall('navigate_to', { x: 1, y: 1 })], { stopReason: 'toolUse' }))),
        ),
      fauxAssistantMessage('Arrived.'),
    ]);
    // A server that already sent its tool call: the abort does not reach the stream.
    const deaf = {
      ...model,
      streamFn: ((m, c, o) => streamSimple(m, c, { ...o, signal: undefined })) as typeof model.streamFn,
    };
    const ctx = componentContext();
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav, model: deaf });
    const run = await agent.submitIntent(skillIntent('natural_language', { text: 'go to the dock' }), 'http');
    await waitFor(() => answer !== undefined, 'the model to be asked');

    expect(await agent.halt('ada')).toMatchObject({ cancelled: [run.run_id] });
    answer!();
    expect((await settled(agent, run.run_id)).run).toMatchObject({ status: 'cancelled' });
    await runsEnded(agent);
    expect(nav.goals).toBe(0);
    expect(faux.state.callCount).toBe(1);
    expect(twists.map(isZero)).toEqual([true]);
    expect(agent.getRun(run.run_id)!.events.some((e) => e.kind === 'tool.call')).toBe(false);
  });
});

describe('a stop and the agent restarting', () => {
  it('a run accepted while the agent stops does not start once it is written', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({}, { journal });
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav });
    journal.hold = (kind, data) => runStateOf(kind, data)?.status === 'pending';
    const submitted = agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => journal.held.length === 1, 'the run to be being written');
    forgetAgent(agent);
    await agent.close('the agent component restarted for a config reload');
    journal.release();

    const run = await submitted;
    expect(run).toMatchObject({
      status: 'interrupted',
      reason: expect.stringContaining('the agent component restarted for a config reload'),
    });
    await runsEnded(agent);
    expect(nav.goals).toBe(0);
  });

  it('an agent stopped while it was starting leaves the intent topic to the next one, which agent/stop reaches', async () => {
    const crashed = componentContext();
    const first = await startAgent(crashed, { navigation: drivingNavigator(crashed.bus, crashed.codec) });
    const run = await first.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => first.getRun(run.run_id)!.run.status === 'running', 'the run to be running');
    // The daemon died here, the run running: the next start writes it interrupted, and that write stalls.
    const journal = new GatedJournal();
    journal.records.push(...(crashed.journal as MemoryJournal).records);
    const ctx = componentContext({}, { journal });
    journal.hold = () => true;
    const stuck = new AgentComponent(ctx);
    const starting = stuck.start();
    await waitFor(() => journal.held.length > 0, 'the start to write the run interrupted');
    // The supervisor's stop budget ran out: it stops the agent still starting, and makes the next one.
    await stuck.close('the agent component restarted for a config reload');
    journal.release();
    await starting;
    expect(ctx.bus.subscriptions().map((s) => s.name)).not.toContain('agent-intents');

    await serveStop(ctx, await startAgent(ctx));
    const reply = await ctx.bus.query('agent/stop', { encoding: 'application/json', payload: new Uint8Array() });
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toMatchObject({ topic: '/cmd_vel', cancelled: [] });
  });

  it('agent/stop is answered before and after a reload restarts the agent, by the agent running then', async () => {
    const dir = tempDir('robot-stop-reload-');
    cleanups.push(dir.cleanup);
    const spec = SYSTEM2_COMPONENTS.find((s) => s.name === 'agent')!;
    const stop = COMPONENTS.find((s) => s.name === 'stop')!;
    const config = parseConfigText(stringify({ data_dir: './data' }), 'edge.yaml', {});
    const codec = componentContext().codec;
    const daemon = new Daemon({
      config,
      log: silentLogger(),
      cwd: dir.path,
      specs: [
        stop,
        {
          ...spec,
          create: (ctx) => provideAgent(ctx, new AgentComponent(ctx, { navigation: drivingNavigator(ctx.bus, codec) })),
        },
      ],
    });
    await daemon.start();
    cleanups.push(() => daemon.close());
    const twists = watchCmdVel(daemon.bus, codec);
    const agent = () => running(daemon, AgentComponent)!;
    const ask = async () =>
      JSON.parse(
        new TextDecoder().decode(
          (await daemon.bus.query('agent/stop', { encoding: 'application/json', payload: new Uint8Array() })).payload,
        ),
      ) as RobotHaltOutcome;

    const before = agent();
    const drive = await before.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => twists.some((t) => !isZero(t)), 'the robot to drive');
    const next: EdgeConfig = structuredClone(config);
    next.agent.approval_timeout_s = 7;
    // The stop goes out in the same tick as the reload: the agent running then answers it.
    const reloading = daemon.reload(next);
    expect(await ask()).toMatchObject({ aborted: 'navigate_to', cancelled: [drive.run_id] });
    expect(await reloading).toEqual(['agent']);
    expect(agent()).not.toBe(before);
    expect(agent().getRun(drive.run_id)!.run.status).toBe('cancelled');
    // The agent the reload made holds the stop the old one latched, whatever the disk has done with it.
    const refused = await agent().submitIntent(skillIntent('navigate_to', { x: 2, y: 2 }), 'http');
    await waitFor(
      () => agent().getRun(refused.run_id)!.run.status === 'failed',
      'the latched stop to refuse the drive',
    );
    expect(agent().getRun(refused.run_id)!.run.reason).toMatch(/the robot is stopped: latched by bus/);
    expect(await agent().releaseHalt('ada')).toMatchObject({ released: true, latch: { by: 'bus' } });

    const again = await agent().submitIntent(skillIntent('navigate_to', { x: 2, y: 2 }), 'http');
    await waitFor(() => twists.length > 0 && !isZero(twists.at(-1)!), 'the robot to drive again');
    expect(await ask()).toMatchObject({ aborted: 'navigate_to', cancelled: [again.run_id] });
    await runsEnded(agent());
    const sent = twists.length;
    await tick();
    expect(twists.length).toBe(sent);
    expect(isZero(twists.at(-1)!)).toBe(true);
  });
});

/** A control loop double whose start waits until `ready()`, as a worker loading its model does. */
class SlowStartLoop implements LoopHandle {
  readonly name: string;
  readonly options: ControlLoopOptions;
  starting = true;
  stopped = 0;
  ready!: () => void;
  #started = new Promise<void>((resolve) => (this.ready = resolve));
  constructor(options: ControlLoopOptions) {
    this.name = options.name;
    this.options = options;
  }
  async start(): Promise<void> {
    await this.#started;
    this.starting = false;
  }
  async close(): Promise<void> {
    this.stopped++;
  }
  alive(): boolean {
    return !this.starting && this.stopped === 0;
  }
  stats(): ControlLoopStats {
    return {
      ...new LoopState(0).snapshot(),
      name: this.name,
      policy: 'p',
      rateHz: 50,
      mode: 'step',
      scheduling: 'SCHED_OTHER nice 0',
      tid: 0,
      chunkSize: 1,
      topics: [],
      observationErrors: 0,
      decodesAbandoned: 0,
      measuredTaken: 0,
      observations: [],
      alive: this.alive(),
      starting: this.starting,
    };
  }
}

describe('a stop and a control loop run_policy started', () => {
  it(
    'stops a loop driving the sim: the loop is gone, and the last command on /cmd_vel is zero',
    { timeout: 60_000 },
    async () => {
      const { daemon, codec, stop } = await startDaemon(simPolicyLoopConfig(), 'robot-stop-loop-');
      cleanups.push(stop);
      const twists = watchCmdVel(daemon.bus, codec);
      const agent = running(daemon, AgentComponent)!;
      const loops = () => Object.keys((daemon.status().components.control?.details ?? {}) as Record<string, unknown>);
      const run = await agent.submitIntent(skillIntent('run_policy', { name: 'avoid', seconds: 600 }), 'http');
      await waitFor(() => twists.some((t) => t.linear.x > 0.05), 'the policy to drive the robot');

      expect(await agent.halt('ada')).toMatchObject({
        aborted: 'run_policy',
        cancelled: [run.run_id],
        journal_error: null,
      });
      const done = await settled(agent, run.run_id);
      expect(done.run).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada: stop' });
      expect(done.events.find((e) => e.kind === 'tool.result')!.payload).toMatchObject({
        result: { ok: false, error: expect.stringMatching(/stopped early \(cancelled\)/) },
      });
      expect(loops()).toEqual([]);
      await runsEnded(agent);
      const sent = twists.length;
      expect(isZero(twists.at(-1)!)).toBe(true); // the loop's safe action, after the gate's zero
      // The world goes on for three of the loop's periods (the sim at speed 1 paces no faster than the wall clock):
      // nothing sends another command.
      const sim = running(daemon, TurtlebotMazeSim)!;
      await sim.until(sim.time + 0.3);
      expect(twists.length).toBe(sent);
    },
  );

  // daemon/system1/control/control-component.ts runPolicy listens for the abort only once the loop has started: a
  // stop that comes while the worker loads its model is missed, and the loop runs its whole `seconds`.
  it('stops a loop the stop caught starting: it never runs its seconds, and its safe action goes out', async () => {
    const dir = tempDir('robot-stop-loop-');
    cleanups.push(dir.cleanup);
    const loops: SlowStartLoop[] = [];
    const config = parseConfigText(
      stringify({
        policies: {
          p: {
            model: writeLinearModel(dir.path, 'p', [1, 0, 0, 1], [0, 0]),
            serve: false,
            inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }] } },
            outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } },
          },
        },
        control: { loops: { arm: { policy: 'p', rate_hz: 50, autostart: false } } },
      }),
      'test.yaml',
    );
    const ctx = componentContext();
    const control = new ControlComponent(
      { ...ctx, config },
      { createLoop: (o) => loops[loops.push(new SlowStartLoop(o)) - 1]! },
    );
    await control.start();
    cleanups.push(() => control.close());
    // What ends a loop missed by the stop before its 600 s: a crash (the run then ends).
    cleanups.push(() => loops.forEach((l) => l.options.onCrash?.(new Error('the test is over'))));
    const agent = await startAgent(ctx, { policies: control, stopReplyWaitMs: 1 });
    const run = await agent.submitIntent(skillIntent('run_policy', { name: 'arm', seconds: 600 }), 'http');
    await waitFor(() => loops.length === 1, 'the loop to be starting');

    expect(await agent.halt('ada')).toMatchObject({ aborted: 'run_policy', cancelled: [run.run_id] });
    loops[0]!.ready();
    // Stopped as soon as it has started (the next turn of the event loop), not 600 s later.
    await new Promise((resolve) => setImmediate(resolve));
    expect(loops[0]!.stopped).toBe(1);
    expect(control.loopStats()).toEqual([]);
  });
});

describe('a journal that stalls or refuses the cancels', () => {
  it('POST /stop answers once the robot is stopped, saying the cancels are still being written', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({}, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const nav = drivingNavigator(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx, { navigation: nav, stopReplyWaitMs: 50 });
    await serveStop(ctx, agent);
    const harness = await startHarness();
    cleanups.push(() => harness.close());
    harness.components.set('agent', agent);
    const drive = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => twists.some((t) => !isZero(t)), 'the robot to drive');
    journal.hold = () => true; // an fsync that does not come back

    const response = await fetch(`${harness.url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ada' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      topic: '/cmd_vel',
      aborted: 'navigate_to',
      cancelled: [drive.run_id],
      journal_error: expect.stringMatching(
        /^not yet journaled: the cancel of 1 run is still being written .*the journal's disk/,
      ),
      latched: expect.objectContaining({ by: 'ada' }),
      zeroed: [],
    });
    // The run's end is never durable here (the journal holds it): its navigator stopped driving all the same.
    expect(nav.driving).toBe(0);
    const sent = twists.length;
    await tick();
    expect(twists.length).toBe(sent);
    expect(isZero(twists.at(-1)!)).toBe(true);

    // auraison-edge stop says the robot is stopped, and warns, rather than "NOT stopped: no reply".
    const cli = await runMain(['stop', '--by', 'ada', '--url', harness.url]);
    expect(cli).toMatchObject({ code: 0, stderr: '' });
    expect(cli.stdout).toMatch(
      /^daemon: .* \(pid \d+, http:\/\/127\.0\.0\.1:\d+\)\nstopped: zero Twist on \/cmd_vel\n.*\nwarning: the robot is stopped and the runs are ended, but their cancels are not all journaled: not yet journaled: /,
    );

    // The bus query answers the same way, well within its own timeout.
    const reply = await ctx.bus.query(
      'agent/stop',
      { encoding: 'application/json', payload: new Uint8Array() },
      { timeoutMs: 60_000 },
    );
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toMatchObject({
      aborted: null,
      journal_error: expect.stringContaining('still being written'),
    });

    journal.release();
    expect((await settled(agent, drive.run_id)).run).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by ada: stop',
    });
  });

  it('some cancels journaled, some refused: every run shows ended, and the reply names the refusal', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({ agent: { require_approval: ['publish'] } }, { journal });
    const agent = await startAgent(ctx, { navigation: drivingNavigator(ctx.bus, ctx.codec) });
    const drive = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 1 }), 'http');
    const waiting = await waitingPublish(agent);
    await waitFor(() => agent.getRun(drive.run_id)!.run.status === 'running', 'the drive to run');
    journal.refuse = (kind, data) => (runStateOf(kind, data) ?? eventOf(kind, data))?.run_id === waiting.run_id;

    const outcome = await agent.halt('ada');
    expect(outcome).toMatchObject({
      cancelled: expect.arrayContaining([drive.run_id, waiting.run_id]),
      journal_error: expect.stringContaining('the disk is full'),
    });
    expect(outcome.cancelled).toHaveLength(2);
    expect(agent.getRun(drive.run_id)!.run).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada: stop' });
    // Not journaled, yet ended: the API shows it cancelled, saying it was not recorded, rather than waiting.
    expect(agent.getRun(waiting.run_id)!.run).toMatchObject({
      status: 'cancelled',
      reason: expect.stringMatching(/^cancelled by ada: stop \(not journaled: .*the disk is full\)$/),
    });
    expect(agent.listRuns({ status: 'awaiting_approval' })).toEqual([]);
    await expect(agent.approve(waiting.run_id, 'bob')).rejects.toThrow(/already ended|not awaiting approval/);
  });
});

describe('the stop skill in a run', () => {
  it('journals its call before its result, counts as a tool call, and replays the same after a restart', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({}, { journal });
    const agent = await startAgent(ctx);
    const run = await agent.submitIntent(skillIntent('stop', {}), 'http');
    const done = await settled(agent, run.run_id);
    expect(done.run.status).toBe('succeeded');
    expect(done.events.map((e) => e.kind)).toEqual(['intent.accepted', 'tool.call', 'tool.result']);
    const kinds = journal.records
      .filter((r) => (r.data as { run_id?: string }).run_id === run.run_id)
      .map((r) =>
        r.kind === 'run_state' ? `state:${(r.data as RunState).status}` : (r.data as { kind: string }).kind,
      );
    expect(kinds.indexOf('tool.call')).toBeLessThan(kinds.indexOf('tool.result'));
    expect(agent.store.counters.toolCalls).toBe(1);

    forgetAgent(agent);
    await agent.close();
    const after = await startAgent(ctx);
    expect(after.getRun(run.run_id)).toEqual(done);
  });

  it('a stop skill whose run is cancelled while its call is being written still stopped the robot, and its result is journaled', async () => {
    const journal = new GatedJournal();
    const ctx = componentContext({}, { journal });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx);
    journal.hold = (kind, data) => eventOf(kind, data)?.kind === 'tool.call';
    const run = await agent.submitIntent(skillIntent('stop', {}), 'http');
    // The call is held, and what follows it (the stop's own event) waits behind it.
    await waitFor(() => journal.held.length >= 1, 'the stop call to be being written');
    // The disk has not taken its call, and the robot is stopped.
    expect(twists.map(isZero)).toEqual([true]);
    const cancelling = agent.cancel(run.run_id, 'bob');
    journal.release();
    expect(await cancelling).toMatchObject({ status: 'cancelled' });
    const { events } = agent.getRun(run.run_id)!;
    expect(events.map((e) => e.kind)).toEqual(['intent.accepted', 'tool.call', 'run.cancelled', 'tool.result']);
    expect(events.at(-1)!.payload).toMatchObject({
      tool: 'stop',
      result: { ok: true, output: { stopped: true } },
      run_ended: 'cancelled',
    });
  });
});

describe('stop requests it cannot read', () => {
  it('POST /stop: each is a 4xx naming the problem, nothing is stopped, and the daemon goes on', async () => {
    const ctx = componentContext({ agent: { require_approval: ['publish'] } });
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const agent = await startAgent(ctx);
    const harness = await startHarness();
    cleanups.push(() => harness.close());
    harness.components.set('agent', agent);
    const waiting = await waitingPublish(agent);
    const post = (body: string | undefined, type: string | undefined = 'application/json') =>
      fetch(`${harness.url}/stop`, { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
    const cases: [string | undefined, string | undefined, number, RegExp][] = [
      ['null', undefined, 400, /body/],
      ['[]', undefined, 400, /body/],
      ['"stop"', undefined, 400, /body/],
      ['{"by": 5}', undefined, 400, /body\.by/],
      ['{"by": "ada", "force": true}', undefined, 400, /force/],
      [`{"reason": "${'x'.repeat(1025)}"}`, undefined, 400, /body\.reason/],
      ['{"by": "ada"', undefined, 400, /not valid JSON/],
      // An empty text/plain POST is what a web page's form sends: refused, as any change not declared JSON.
      ['', 'text/plain', 415, /Content-Type: application\/json/],
      ['stop', 'text/plain', 415, /application\/json/],
    ];
    for (const [body, type, status, message] of cases) {
      const response = await post(body, type ?? 'application/json');
      expect({ body, status: response.status }).toEqual({ body, status });
      expect((await response.json()) as { message: string }).toMatchObject({ message: expect.stringMatching(message) });
    }
    expect(twists).toEqual([]);
    expect(agent.getRun(waiting.run_id)!.run.status).toBe('awaiting_approval');
    expect((await post(undefined)).status).toBe(200);
    expect(agent.getRun(waiting.run_id)!.run.status).toBe('cancelled');
  });

  it('agent/stop: each is an error reply saying the robot was NOT stopped, and the query is served still', async () => {
    const ctx = componentContext();
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    await serveStop(ctx, await startAgent(ctx));
    const ask = (payload: Uint8Array, encoding = 'application/json') =>
      ctx.bus.query('agent/stop', { encoding, payload });
    const text = (t: string) => new TextEncoder().encode(t);
    for (const bad of [
      text('null'),
      text('[]'),
      text('7'),
      text(' '),
      text('{"by": ""}'),
      text('{"by": "a", "reason": 3}'),
      new Uint8Array([0xff, 0xfe, 0x7b]),
    ]) {
      await expect(ask(bad)).rejects.toThrow(/agent\/stop: .*The robot was NOT stopped/);
    }
    expect(twists).toEqual([]);
    const reply = await ask(text('{"by": "nav2_bt"}'));
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toMatchObject({ topic: '/cmd_vel', cancelled: [] });
    expect(twists.map(isZero)).toEqual([true]);
  });
});

describe('a stop whose zero Twist cannot go out', () => {
  it('still cancels every run, then answers 500 saying the robot was NOT stopped', async () => {
    const ctx = componentContext({ agent: { require_approval: ['publish'] } });
    const agent = await startAgent(ctx);
    const harness = await startHarness();
    cleanups.push(() => harness.close());
    harness.components.set('agent', agent);
    const waiting = await waitingPublish(agent);
    // Something else took the velocity topic with a type that is no velocity: no zero goes. (A TwistStamped
    // base gets a zero TwistStamped: stop-service-edges.test.ts.)
    ctx.bus.advertise('/cmd_vel', 'std_msgs/msg/String', { source: 'other' });

    const response = await fetch(`${harness.url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: 'not_stopped',
      message: expect.stringMatching(
        /^the zero Twist could not be sent to \/cmd_vel: .*std_msgs\/msg\/String.*; 1 run cancelled \(.*\)\. Stop the robot another way \(its hardware e-stop\)$/,
      ),
    });
    expect(agent.getRun(waiting.run_id)!.run.status).toBe('cancelled');
    // Inside a run, the stop skill fails the same way, naming it.
    const skill = await agent.submitIntent(skillIntent('stop', {}), 'http');
    expect((await settled(agent, skill.run_id)).run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('stop: the zero Twist could not be sent to /cmd_vel'),
    });
  });
});

describe('auraison-edge stop', () => {
  it('stops the robot when $USER is empty (a service environment), as by "cli"', async () => {
    const dir = tempDir('robot-stop-user-');
    cleanups.push(dir.cleanup);
    const configFile = join(dir.path, 'edge.yaml');
    const yaml = [
      `data_dir: ${join(dir.path, 'data')}`,
      'sim: {enabled: false}',
      'api: {port: 0}',
      'foxglove: {enabled: false}',
    ].join('\n');
    writeFileSync(configFile, yaml);
    const daemon = new Daemon({ config: parseConfigText(yaml, configFile), log: silentLogger(), cwd: dir.path });
    await daemon.start();
    cleanups.push(() => daemon.close());
    const stop = await runMain(['stop', '--json', '--config', configFile], { cwd: dir.path, env: { USER: '' } });
    expect(stop.stderr).toBe('');
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toEqual({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: expect.objectContaining({ by: 'cli' }),
      zeroed: [],
    });
  });
});
