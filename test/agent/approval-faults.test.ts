import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import type { NavigationService } from '../../daemon/agent/services.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { newId } from '../../daemon/util/ids.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { forgetAgent, settled, startAgent, stopAgents } from './agent-harness.ts';
import type { JournalRecord } from '../../daemon/contract/services.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';

/**
 * Approval gates the way a deployment meets them: a cancel and an approval at once, an approval that comes
 * after its deadline (also one that passed while the daemon was down), and an approval after a config reload
 * changed what the paused call may do. Whatever happens, a skill never acts for a run that is over or under
 * a policy no longer in force.
 */

afterEach(stopAgents);

const intent = (type: string, params: Record<string, unknown> = {}) => ({
  intent_id: newId(),
  type,
  params,
  policy_ctx: { actor: 'tester', source: 'internal' },
  targets: [],
});
const WAITS = { agent: { require_approval: ['navigate_to', 'publish'] } };

/** A navigation that arrives at once and remembers every goal it was sent: the robot's motion. */
function recordingNavigation(goals: unknown[]): NavigationService {
  return {
    async navigateTo(goal) {
      goals.push(goal);
      return { reached: true, outcome: 'reached', message: 'arrived' };
    },
  };
}

/** An agent with a navigate_to run paused for approval, stopped; the journal it leaves. */
async function pausedThenStopped(goals: unknown[]): Promise<{ journal: MemoryJournal; runId: string }> {
  const journal = new MemoryJournal();
  const before = await startAgent(componentContext(WAITS, { journal }), { navigation: recordingNavigation(goals) });
  const run = await before.submitIntent(intent('navigate_to', { x: 1, y: 2 }), 'http');
  await settled(before, run.run_id, ['awaiting_approval']);
  await before.close();
  forgetAgent(before);
  return { journal, runId: run.run_id };
}

/** A MemoryJournal that holds back the write of a run's `succeeded` state until told: its end is being written. */
class SlowEndJournal extends MemoryJournal {
  held: (() => void) | undefined;
  override async append(kind: string, data: unknown): Promise<JournalRecord> {
    if (kind === 'run_state' && (data as { status?: string }).status === 'succeeded')
      await new Promise<void>((resolve) => (this.held = resolve));
    return super.append(kind, data);
  }
}

describe('approvals under faults', () => {
  it('never moves the robot for a run cancelled while its approval is applied, live or after a restart', async () => {
    const goals: unknown[] = [];
    // Restored after a restart: the approval resumes the run from its events while the cancel ends it.
    const { journal, runId } = await pausedThenStopped(goals);
    const restored = await startAgent(componentContext(WAITS, { journal }), { navigation: recordingNavigation(goals) });
    const [approved] = await Promise.allSettled([restored.approve(runId, 'ada'), restored.cancel(runId, 'bob')]);
    expect((await settled(restored, runId)).run.status).toBe('cancelled');
    // The approval did not take: it says so, rather than answer with a state the run is leaving.
    expect(approved).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'conflict',
        message: expect.stringMatching(/ended \(cancelled\) before the approval could be applied/),
      },
    });

    // Live: the approval releases the waiting call while the cancel ends the run.
    const run = await restored.submitIntent(intent('navigate_to', { x: 3, y: 4 }), 'http');
    await settled(restored, run.run_id, ['awaiting_approval']);
    const [approvedLive] = await Promise.allSettled([
      restored.approve(run.run_id, 'ada'),
      restored.cancel(run.run_id, 'bob'),
    ]);
    const { run: live, events } = await settled(restored, run.run_id);
    expect(live.status).toBe('cancelled');
    expect(approvedLive).toMatchObject({ status: 'rejected', reason: { code: 'conflict' } });

    // Stopping waits for every run task: anything that was going to act has acted by now.
    await restored.close();
    forgetAgent(restored);
    expect(goals).toEqual([]);
    expect(events.filter((e) => e.kind === 'tool.call')).toEqual([]);
  });

  it('refuses an approval that comes after the deadline, also one that passed while the daemon was down', async () => {
    const goals: unknown[] = [];
    const { journal, runId } = await pausedThenStopped(goals);
    // The deadline passed while the daemon was down.
    const requested = journal.records.find((r) => (r.data as { kind?: string }).kind === 'approval.requested')!;
    (requested.data as { payload: { deadline: string } }).payload.deadline = '1';
    const after = await startAgent(componentContext(WAITS, { journal }), { navigation: recordingNavigation(goals) });
    // Asked at once, before the re-armed deadline's timer has had a chance to fire.
    await expect(after.approve(runId, 'ada')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/approval timed out/),
    });
    const { run, events } = await settled(after, runId);
    expect(run).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^approval timed out/) });
    expect(events.map((e) => e.kind)).toEqual(['intent.accepted', 'approval.requested', 'approval.expired']);
    await after.close();
    forgetAgent(after);
    expect(goals).toEqual([]);
  });

  it('ends a run whose skill a reload removed when it is approved, saying why, instead of leaving it running', async () => {
    const goals: unknown[] = [];
    const { journal, runId } = await pausedThenStopped(goals);
    // The reload restarted the agent with navigate_to no longer among its skills.
    const after = await startAgent(componentContext({ agent: { skills: ['stop', 'read_topic'] } }, { journal }), {
      navigation: recordingNavigation(goals),
    });
    await expect(after.approve(runId, 'ada')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/cannot resume under the current config: .*unknown intent type "navigate_to"/),
    });
    const { run } = after.getRun(runId)!;
    expect(run).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^approved by ada, but the run cannot resume/),
    });
    // And so it stays after another restart: the end is in the journal.
    await after.close();
    forgetAgent(after);
    const again = await startAgent(componentContext({}, { journal }));
    expect(again.getRun(runId)!.run.status).toBe('failed');
    expect(goals).toEqual([]);
  });

  it('holds a call approved after a policy reload to the new policy, naming the rule', async () => {
    const sent: unknown[] = [];
    const ctx = componentContext(WAITS);
    ctx.bus.subscribe({ name: 'test-watch', topic: '/cmd_vel', handler: (msg) => void sent.push(msg) });
    const agent = await startAgent(ctx);
    const run = await agent.submitIntent(
      intent('publish', { topic: '/cmd_vel', fields: { linear: { x: 0.1 } } }),
      'http',
    );
    await settled(agent, run.run_id, ['awaiting_approval']);
    // A SIGHUP denies publishing while the call waits; policy.* is taken live, the run goes on waiting.
    agent.applySettings(
      parseConfigText(stringify({ ...WAITS, agent: { rules: { skills: { deny: ['publish'] } } } }), 'edge.yaml', {}),
    );
    await agent.approve(run.run_id, 'ada');
    const { run: done, events } = await settled(agent, run.run_id);
    expect(done).toMatchObject({
      status: 'failed',
      reason: 'publish: refused by policy: skills.deny: publish matches agent.rules.skills.deny',
    });
    expect(events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload)).toEqual([
      expect.objectContaining({ rule: 'skills.deny', stage: 'before', tool: 'publish' }),
    ]);
    expect(events.filter((e) => e.kind === 'tool.call')).toEqual([]);
    expect(sent).toEqual([]);
  });

  it("refuses a cancel that comes while the run's end is being written, naming how it ended", async () => {
    const journal = new SlowEndJournal();
    const agent = await startAgent(componentContext({}, { journal }));
    const run = await agent.submitIntent(intent('stop'), 'http');
    await waitFor(() => journal.held !== undefined, 'the run to be writing its end');
    const cancelling = agent.cancel(run.run_id, 'bob');
    journal.held!();
    await expect(cancelling).rejects.toMatchObject({
      code: 'conflict',
      message: `run ${run.run_id} already ended (succeeded)`,
    });
    expect((await settled(agent, run.run_id)).run.status).toBe('succeeded');
  });
});
