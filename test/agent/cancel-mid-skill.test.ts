import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentComponent } from '../../daemon/agent/agent-component.ts';
import type { NavigationService, PolicyRunnerService } from '../../daemon/agent/services.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { fauxModel, forgetAgent, startAgent, stopAgents } from './agent-harness.ts';
import { isZero, watchCmdVel } from './cmd-vel-watch.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';
import { errorText } from '../../daemon/util/index.ts';

/**
 * A run that ends while its skill acts (cancelled, interrupted by the daemon stopping, or killed) journals
 * that call's outcome, so its record never shows a tool call without a result; and the robot is stopped.
 */

const cleanups: Cleanup[] = [];
afterEach(async () => {
  await runCleanups(cleanups);
  await stopAgents();
});

const resultsOf = (events: readonly AgentEvent[]) =>
  events.filter((e) => e.kind === 'tool.result').map((e) => e.payload);

/** The tool.result of a call the run's end cut off. */
function cutOff(
  tool: string,
  runEnded: string,
  error: unknown,
  options: { callId?: unknown; duration?: unknown } = {},
) {
  const { callId = 'skill-1', duration = expect.any(Number) } = options;
  return { call_id: callId, tool, run_ended: runEnded, duration_ms: duration, result: { ok: false, error } };
}

async function acting(agent: AgentComponent, runId: string): Promise<void> {
  await waitFor(() => agent.getRun(runId)!.events.some((e) => e.kind === 'tool.call'), 'the skill to act');
}

describe('a run cancelled while its skill acts', () => {
  it('journals navigate_to as cancelled with where the robot stopped and how far it had left, and stops the robot', async () => {
    const { daemon, agent, dock } = await startSimDaemon(cleanups, { speed: 1 });
    const twists = watchCmdVel(daemon.bus, new MessageCodec(daemon.definitions));
    const run = await agent.submitIntent(skillIntent('navigate_to', { x: dock.x, y: dock.y }), 'internal');
    await acting(agent, run.run_id);
    await waitFor(() => twists.some((t) => !isZero(t)), 'the robot to drive');

    const sentBefore = twists.length;
    const cancelled = await agent.cancel(run.run_id, 'ada', 'wrong room');
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada: wrong room' });
    const { events } = agent.getRun(run.run_id)!;
    expect(events.map((e) => e.kind)).toEqual(['intent.accepted', 'tool.call', 'run.cancelled', 'tool.result']);
    const goal = `(${dock.x.toFixed(2)}, ${dock.y.toFixed(2)})`;
    const pattern = `^navigation to \\(${dock.x}, ${dock.y}\\) failed \\(cancelled\\): cancelled by ada: wrong room; the robot stopped at \\(-?[\\d.]+, -?[\\d.]+\\) after [\\d.]+ s of driving \\(robot time\\), [\\d.]+ m \\(straight line\\) from ${goal.replace(/[()]/g, '\\$&')}$`;
    expect(resultsOf(events)).toEqual([cutOff('navigate_to', 'cancelled', expect.stringMatching(new RegExp(pattern)))]);
    // Stopped: the last word on /cmd_vel is a zero Twist.
    await waitFor(
      () => twists.length > 0 && isZero(twists.at(-1)!) && twists.slice(sentBefore).some(isZero),
      'a zero Twist on /cmd_vel',
    );

    // `runs show` replays the call's end from the journal files.
    const dir = tempDir('cancel-mid-skill-');
    cleanups.push(dir.cleanup);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, `data_dir: ${JSON.stringify(daemon.dataDir)}\n`);
    const show = await runMain(['runs', 'show', run.run_id, '--config', config], { cwd: dir.path });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(
      /tool\.result +navigate_to error: navigation to .* failed \(cancelled\): cancelled by ada: wrong room; the robot stopped at/,
    );
    // Whole: where it stopped and how far it had left, not cut at 160 characters in the middle of a word.
    const { error } = (resultsOf(events)[0] as { result: { error: string } }).result;
    expect(show.stdout).toContain(`navigate_to error: ${error} in `);
    expect(show.stdout).toMatch(/state +cancelled: cancelled by ada: wrong room\n$/);
  });

  it('journals what run_policy reported when stopped, and sends a zero Twist though the policy runner did not', async () => {
    const ctx = componentContext();
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    // A System 1 runner that stops on its signal and says how far it got, but leaves the stop to others.
    const policies: PolicyRunnerService = {
      runPolicy: (_name, { signal }) =>
        new Promise((resolve) =>
          signal.addEventListener(
            'abort',
            () => resolve({ ok: false, message: 'stopped early (cancelled) after 120 ticks' }),
            { once: true },
          ),
        ),
      startLoop: () => ({ ok: false, started: false, message: 'not used here' }),
    };
    const agent = await startAgent(ctx, { policies });
    const run = await agent.submitIntent(skillIntent('run_policy', { name: 'avoid', seconds: 60 }), 'http');
    await acting(agent, run.run_id);
    await agent.cancel(run.run_id, 'ada');
    const { run: done, events } = agent.getRun(run.run_id)!;
    expect(done).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada' });
    expect(resultsOf(events)).toEqual([
      cutOff('run_policy', 'cancelled', 'policy avoid failed: stopped early (cancelled) after 120 ticks'),
    ]);
    await waitFor(() => twists.length === 1, 'a Twist on /cmd_vel');
    expect(isZero(twists[0]!)).toBe(true);
  });

  it('journals a skill that does not return when stopped as unknown, after a short wait, and stops the robot', async () => {
    const ctx = componentContext();
    const twists = watchCmdVel(ctx.bus, ctx.codec);
    const policies: PolicyRunnerService = {
      runPolicy: () => new Promise(() => {}), // deaf to its signal
      startLoop: () => ({ ok: false, started: false, message: 'not used here' }),
    };
    const agent = await startAgent(ctx, { policies });
    const run = await agent.submitIntent(skillIntent('run_policy', { name: 'avoid', seconds: 60 }), 'http');
    await acting(agent, run.run_id);
    await agent.cancel(run.run_id, 'ada');
    const { run: done, events } = agent.getRun(run.run_id)!;
    expect(done.status).toBe('cancelled');
    const unknown =
      'the run ended (cancelled by ada) while run_policy was acting, and it did not return within 2000 ms of being stopped: what it did is unknown';
    expect(resultsOf(events)).toEqual([cutOff('run_policy', 'cancelled', unknown)]);
    expect(twists.filter(isZero)).toHaveLength(1);
  });
});

/** A navigator that drives until it is stopped, and says so. */
const endless: NavigationService = {
  navigateTo: (_goal, { signal }) =>
    new Promise((resolve) =>
      signal!.addEventListener(
        'abort',
        () => resolve({ reached: false, outcome: 'cancelled', message: String(errorText(signal!.reason)) }),
        { once: true },
      ),
    ),
};

describe('the drive a cancelled navigate_to reports', () => {
  /** A navigator that has sent its first drive command when cancelled, before any robot time passed. */
  const justStarted = (commanded: boolean): NavigationService => ({
    pose: { x: 0.5, y: 0.5 },
    navigateTo: (_goal, { signal }) =>
      new Promise((resolve) =>
        signal!.addEventListener(
          'abort',
          () => resolve({ reached: false, outcome: 'cancelled', message: 'cancelled by ada', elapsedS: 0, commanded }),
          { once: true },
        ),
      ),
  });

  for (const [commanded, said] of [
    [
      true,
      'cancelled by ada; the robot stopped at (0.50, 0.50) after 0.0 s of driving (robot time), 0.50 m (straight line) from (1.00, 0.50)',
    ],
    [
      false,
      'cancelled by ada; it had not started driving: the robot is at (0.50, 0.50), 0.50 m (straight line) from (1.00, 0.50)',
    ],
  ] as const) {
    it(`says the robot ${commanded ? 'had' : 'had not'} started when the navigator ${commanded ? 'had' : 'had not'} sent a drive command`, async () => {
      const agent = await startAgent(componentContext(), { navigation: justStarted(commanded) });
      const run = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 0.5 }), 'http');
      await acting(agent, run.run_id);
      await agent.cancel(run.run_id, 'ada');
      expect(resultsOf(agent.getRun(run.run_id)!.events)).toEqual([
        cutOff('navigate_to', 'cancelled', `navigation to (1, 0.5) failed (cancelled): ${said}`),
      ]);
    });
  }
});

describe('a natural-language run cancelled while its tool acts', () => {
  it('journals the tool call the model made as cancelled, and asks the model nothing more', async () => {
    const { faux, model } = fauxModel();
    faux.setResponses([
      fauxAssistantMessage([fauxToolCall('navigate_to', { x: 1, y: 2 })], { stopReason: 'toolUse' }),
      fauxAssistantMessage('Arrived.'),
    ]);
    const agent = await startAgent(componentContext(), { model, navigation: endless });
    const intent = {
      intent_id: newId(),
      type: 'natural_language',
      params: { text: 'go to (1, 2)' },
      policy_ctx: { actor: 't', source: 'internal' },
      targets: [],
    };
    const run = await agent.submitIntent(intent, 'http');
    await acting(agent, run.run_id);
    await agent.cancel(run.run_id, 'ada');
    const { run: done, events } = agent.getRun(run.run_id)!;
    expect(done.status).toBe('cancelled');
    const call = events.find((e) => e.kind === 'tool.call')!;
    expect(resultsOf(events)).toEqual([
      cutOff('navigate_to', 'cancelled', 'navigation to (1, 2) failed (cancelled): cancelled by ada', {
        callId: call.payload.call_id,
      }),
    ]);
    await stopAgents();
    expect(faux.state.callCount).toBe(1);
  });
});

describe('a run whose daemon stops while its skill acts', () => {
  it('journals the call as interrupted when the daemon stops', async () => {
    const journal = new MemoryJournal();
    const agent = await startAgent(componentContext({}, { journal }), { navigation: endless });
    const run = await agent.submitIntent(skillIntent('navigate_to', { x: 1, y: 2 }), 'http');
    await acting(agent, run.run_id);
    await agent.close();
    forgetAgent(agent);
    const { run: done, events } = agent.getRun(run.run_id)!;
    expect(done.status).toBe('interrupted');
    const stopped =
      'navigation to (1, 2) failed (cancelled): the daemon stopped while the run was running; submit the intent again to retry';
    expect(resultsOf(events)).toEqual([cutOff('navigate_to', 'interrupted', stopped)]);
  });

  it('gives a call cut off by kill -9 a result at the next start, saying its outcome is unknown', async () => {
    const journal = new MemoryJournal();
    const killed = await startAgent(componentContext({}, { journal }), { navigation: endless });
    const run = await killed.submitIntent(skillIntent('navigate_to', { x: 1, y: 2 }), 'http');
    await acting(killed, run.run_id);
    // What kill -9 leaves: the records durable at that moment.
    const left = new MemoryJournal();
    for (const record of journal.records) await left.append(record.kind, record.data);

    const after = await startAgent(componentContext({}, { journal: left }), { navigation: endless });
    const { run: done, events } = after.getRun(run.run_id)!;
    expect(done.status).toBe('interrupted');
    expect(events.map((e) => e.kind)).toEqual(['intent.accepted', 'tool.call', 'tool.result']);
    const unknown =
      'the daemon stopped while navigate_to was acting (it did not shut down cleanly): what it did is unknown';
    expect(resultsOf(events)).toEqual([cutOff('navigate_to', 'interrupted', unknown, { duration: null })]);
  });
});
