import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import type { NavigationService } from '../../daemon/agent/services.ts';
import { newId } from '../../daemon/util/ids.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext, type TestContext } from '../helpers/component-context.ts';
import { fauxModel, forgetAgent, startAgent, stopAgents } from './agent-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';

/**
 * A goal too close to a wall is moved by the navigator to the nearest spot the robot fits in, and
 * navigate_to reports that `goal` beside the `requested` one. goal_reached (with no x, y of its own) checks
 * where the robot was sent, so arriving there passes, also for a run resumed after a restart.
 */

afterEach(stopAgents);

function odometry(ctx: TestContext) {
  const pub = ctx.bus.advertise('/odom', 'nav_msgs/msg/Odometry', {
    source: 'test',
    qos: { durability: 'transient_local' },
  });
  return (x: number, y: number) =>
    pub.publish(
      ctx.codec.encode('nav_msgs/msg/Odometry', {
        pose: { pose: { position: { x, y, z: 0 }, orientation: { w: 1 } } },
      }),
    );
}

/** A navigator that snaps every goal 0.4 m to the east (off a wall) and arrives there exactly. */
function snappingNavigation(ctx: TestContext): NavigationService {
  const at = odometry(ctx);
  return {
    async navigateTo(goal) {
      const snapped = { x: goal.x + 0.4, y: goal.y };
      at(snapped.x, snapped.y);
      return {
        reached: true,
        outcome: 'reached',
        message: 'arrived at the nearest free cell',
        goal: snapped,
      } as Awaited<ReturnType<NavigationService['navigateTo']>>;
    },
  };
}

const navigate = { x: 1, y: 1, validators: [{ type: 'goal_reached' }] };

describe('goal_reached after a snapped goal', () => {
  it('checks the goal the robot was sent to, not the one asked for', async () => {
    const ctx = componentContext({ agent: { max_refines: 0 } });
    const agent = await startAgent(ctx, { navigation: snappingNavigation(ctx) });
    const run = await agent.submitIntent(
      {
        intent_id: newId(),
        type: 'navigate_to',
        params: navigate,
        policy_ctx: { actor: 't', source: 'internal' },
        targets: [],
      },
      'http',
    );
    await waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status), 'the run to end');
    const { run: done, events } = agent.getRun(run.run_id)!;
    expect(events.find((e) => e.kind === 'tool.result')!.payload).toMatchObject({
      result: { output: { goal: { x: 1.4, y: 1 }, requested: { x: 1, y: 1 } } },
    });
    expect(events.find((e) => e.kind === 'validator.result')!.payload).toMatchObject({
      validator: expect.stringMatching(/^goal_reached\(1\.4, 1, /),
      passed: true,
    });
    expect(done.status).toBe('succeeded');
  });

  it('checks the snapped goal of a call that ran before a restart, when the resumed run validates', async () => {
    const journal = new MemoryJournal();
    // navigate_to runs, then stop waits for approval; the validator runs once the run resumes.
    const config = { agent: { require_approval: ['stop'], max_refines: 0 } };
    const ctx = componentContext(config, { journal });
    const { faux, model } = fauxModel();
    faux.setResponses([
      fauxAssistantMessage([fauxToolCall('navigate_to', { x: 1, y: 1 }), fauxToolCall('stop', {})], {
        stopReason: 'toolUse',
      }),
      fauxAssistantMessage('Done.'),
    ]);
    const before = await startAgent(ctx, { model, navigation: snappingNavigation(ctx) });
    const run = await before.submitIntent(
      {
        intent_id: newId(),
        type: 'natural_language',
        params: { text: 'go to 1,1', validators: [{ type: 'goal_reached' }] },
        policy_ctx: { actor: 't', source: 'internal' },
        targets: [],
      },
      'http',
    );
    await waitFor(
      () => before.getRun(run.run_id)!.run.status === 'awaiting_approval',
      'the stop call to wait for approval',
    );
    await before.close();
    forgetAgent(before);

    // A new process, same bus (the robot still sits at the snapped goal).
    const after = await startAgent({ ...ctx, journal }, { model, navigation: snappingNavigation(ctx) });
    await after.approve(run.run_id, 'ada');
    await waitFor(
      () => ['succeeded', 'failed'].includes(after.getRun(run.run_id)!.run.status),
      'the resumed run to end',
    );
    const { run: done, events } = after.getRun(run.run_id)!;
    expect(events.find((e) => e.kind === 'validator.result')!.payload).toMatchObject({
      validator: expect.stringMatching(/^goal_reached\(1\.4, 1, /),
      passed: true,
    });
    expect(done.status).toBe('succeeded');
  });
});
