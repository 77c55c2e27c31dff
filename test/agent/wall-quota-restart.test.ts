import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import type { NavigationService } from '../../daemon/agent/services.ts';
import { newId } from '../../daemon/util/ids.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { fauxModel, forgetAgent, settled, startAgent, stopAgents } from './agent-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';

/**
 * A run's wall-time quota counts the time the run acts. It holds across a restart: the time acted before
 * is in the journal (each `approval.requested` records `acted_ms`), and the resumed run goes on from it.
 * The time waiting for a person, and the time the daemon was down, do not count.
 */

afterEach(stopAgents);

const nl = (text: string, policyCtx: Record<string, unknown> = {}) => ({
  intent_id: newId(),
  type: 'natural_language',
  params: { text },
  policy_ctx: { actor: 't', source: 'internal', ...policyCtx },
  targets: [],
});

/** A navigator that takes `ms` of wall time to drive (the time the run acts), then arrives. */
function drivingFor(ms: number): NavigationService {
  return {
    navigateTo: () =>
      // The drive takes wall time on purpose: what the wall quota counts across a restart.
      // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
      new Promise((resolve) =>
        setTimeout(() => resolve({ reached: true, outcome: 'reached', message: 'arrived' }), ms),
      ),
  };
}

describe('the wall-time quota across a restart', () => {
  it('counts the time the run acted before the restart: a resumed run past its quota ends before the approved call acts', async () => {
    const journal = new MemoryJournal();
    const { faux, model } = fauxModel();
    faux.setResponses([
      fauxAssistantMessage([fauxToolCall('navigate_to', { x: 1, y: 1 })], { stopReason: 'toolUse' }), // acts for 300 ms
      fauxAssistantMessage([fauxToolCall('stop', {})], { stopReason: 'toolUse' }), // waits for approval
      fauxAssistantMessage('Done.'),
    ]);
    const navigation = drivingFor(300);
    const before = await startAgent(componentContext({ agent: { require_approval: ['stop'] } }, { journal }), {
      model,
      navigation,
    });
    const run = await before.submitIntent(nl('drive, then stop'), 'http');
    const paused = await settled(before, run.run_id, ['awaiting_approval']);
    const requested = paused.events.find((e) => e.kind === 'approval.requested')!;
    expect(requested.payload.acted_ms).toBeGreaterThanOrEqual(250);
    await before.close();
    forgetAgent(before);

    // The quota is lowered (a reload of the config while the daemon was down) below what the run acted.
    const after = await startAgent(
      componentContext({ agent: { require_approval: ['stop'], rules: { quotas: { max_wall_s: 0.25 } } } }, { journal }),
      { model, navigation },
    );
    await after.approve(run.run_id, 'ada');
    const { run: done, events } = await settled(after, run.run_id);
    expect(done).toMatchObject({
      status: 'failed',
      reason: 'quota.wall_time: the run acted for more than its quota of 0.25 s',
    });
    // The approved stop never acted, and the model was not asked again.
    expect(events.filter((e) => e.kind === 'tool.call').map((e) => e.payload.tool)).toEqual(['navigate_to']);
    expect(faux.state.callCount).toBe(2);
    expect(events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload.rule)).toEqual(['quota.wall_time']);
  });

  it('does not count the time waiting for approval, nor the time the daemon was down', async () => {
    const journal = new MemoryJournal();
    const { faux, model } = fauxModel();
    faux.setResponses([
      fauxAssistantMessage([fauxToolCall('stop', {})], { stopReason: 'toolUse' }),
      fauxAssistantMessage('Stopped.'),
    ]);
    const config = { agent: { require_approval: ['stop'] } };
    const before = await startAgent(componentContext(config, { journal }), { model });
    const run = await before.submitIntent(nl('stop', { max_wall_s: 0.2 }), 'http');
    const paused = await settled(before, run.run_id, ['awaiting_approval']);
    const pausedAt = Number(BigInt(paused.events.find((e) => e.kind === 'approval.requested')!.ts) / 1_000_000n);
    await before.close();
    forgetAgent(before);
    // Longer than the run's quota passes, waiting and down.
    await waitFor(() => Date.now() - pausedAt > 300, 'more than the quota to pass');

    const after = await startAgent(componentContext(config, { journal }), { model });
    await after.approve(run.run_id, 'ada');
    const { run: done, events } = await settled(after, run.run_id);
    expect(done).toMatchObject({ status: 'succeeded', reason: 'Stopped.' });
    expect(events.filter((e) => e.kind === 'tool.call').map((e) => e.payload.tool)).toEqual(['stop']);
  });
});
