import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../util/ids.ts';
import type { JournalRecord } from '../contract/services.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { componentContext } from '../../test/helpers/component-context.ts';
import { MemoryJournal } from '../../test/helpers/memory-journal.ts';
import { fauxModel, forgetAgent, startAgent, stopAgents } from '../../test/agent/agent-harness.ts';
import type { AgentComponent } from './agent-component.ts';
import type { NavigationService } from './services.ts';

/**
 * The agent when things happen at once or go wrong underneath it: duplicate deliveries, duplicate
 * approvals, a journal that stops taking writes, and a long-lived process's memory.
 */

afterEach(stopAgents);

const intent = (type: string, params: Record<string, unknown> = {}) => ({
  intent_id: newId(),
  type,
  params,
  policy_ctx: { actor: 'tester', source: 'internal' },
  targets: [],
});

async function settled(
  agent: AgentComponent,
  runId: string,
  statuses = ['succeeded', 'failed', 'cancelled', 'interrupted'],
) {
  await waitFor(
    () => statuses.includes(agent.getRun(runId)?.run.status ?? ''),
    `run ${runId} to reach ${statuses.join('|')} (is ${agent.getRun(runId)?.run.status})`,
  );
  return agent.getRun(runId)!;
}

/** A MemoryJournal that can be told to refuse every write from now on, like a disk that went read-only. */
class BreakingJournal extends MemoryJournal {
  broken = false;
  override append(kind: string, data: unknown): Promise<JournalRecord> {
    if (this.broken) return Promise.reject(new Error('EROFS: read-only file system'));
    return super.append(kind, data);
  }
}

describe('the edge agent, concurrently', () => {
  it('makes one run of an intent delivered twice at once', async () => {
    const journal = new MemoryJournal();
    const agent = await startAgent(componentContext({}, { journal }));
    const once = intent('stop');
    // Both submitted before either is durable: the second must not slip between the check and the create.
    const [a, b] = await Promise.all([
      agent.submitIntent(once, 'mqtt'),
      agent.submitIntent(structuredClone(once), 'mqtt'),
    ]);
    expect(b.run_id).toBe(a.run_id);
    const accepted = journal.records.filter(
      (r) => r.kind === 'agent_event' && (r.data as { kind: string }).kind === 'intent.accepted',
    );
    expect(accepted).toHaveLength(1);
    expect(agent.listRuns()).toHaveLength(1);
    await settled(agent, a.run_id);
    // Later deliveries still find the run.
    expect((await agent.submitIntent(once, 'mqtt')).run_id).toBe(a.run_id);
  });

  it('runs the paused call of a run restored after a restart once when two approvals come at once', async () => {
    const journal = new MemoryJournal();
    const config = { agent: { require_approval: ['navigate_to'] } };
    const goals: { x: number; y: number }[] = [];
    const navigation: NavigationService = {
      async navigateTo(goal) {
        goals.push(goal);
        return { reached: true, outcome: 'reached', message: 'arrived' };
      },
    };
    const before = await startAgent(componentContext(config, { journal }), { navigation });
    const run = await before.submitIntent(intent('navigate_to', { x: 1, y: 2 }), 'http');
    await settled(before, run.run_id, ['awaiting_approval']);
    await before.close();
    forgetAgent(before);

    const after = await startAgent(componentContext(config, { journal }), { navigation });
    const [first, second] = await Promise.allSettled([
      after.approve(run.run_id, 'ada'),
      after.approve(run.run_id, 'bob'),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { status: 'running' } });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'conflict', statusCode: 409 } });
    const { run: done, events } = await settled(after, run.run_id);
    expect(done.status).toBe('succeeded');
    expect(goals).toEqual([{ x: 1, y: 2 }]);
    expect(events.filter((e) => e.kind === 'approval.granted').map((e) => e.payload.by)).toEqual(['ada']);
    expect(events.filter((e) => e.kind === 'tool.call')).toHaveLength(1);
  });

  it('answers a second approval of a live paused run with a conflict, and runs the call once', async () => {
    const cmd: unknown[] = [];
    const ctx = componentContext({ agent: { require_approval: ['publish'] } });
    ctx.bus.subscribe({ name: 'test-watch', topic: '/cmd_vel', handler: (msg) => void cmd.push(msg) });
    const { faux, model } = fauxModel();
    faux.setResponses([
      fauxAssistantMessage([fauxToolCall('publish', { topic: '/cmd_vel', fields: { linear: { x: 0.1 } } })], {
        stopReason: 'toolUse',
      }),
      fauxAssistantMessage('Moved.'),
    ]);
    const agent = await startAgent(ctx, { model });
    const run = await agent.submitIntent(intent('natural_language', { text: 'inch forward' }), 'http');
    await settled(agent, run.run_id, ['awaiting_approval']);
    const outcomes = await Promise.allSettled([agent.approve(run.run_id, 'ada'), agent.approve(run.run_id, 'bob')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    const { events } = await settled(agent, run.run_id);
    expect(events.filter((e) => e.kind === 'approval.granted')).toHaveLength(1);
    expect(cmd).toHaveLength(1);
  });
});

describe('the edge agent, when the journal fails', () => {
  it('ends a run past its wall-time quota even when the journal refuses the end, without an unhandled rejection', async () => {
    const journal = new BreakingJournal();
    const lines: { msg: string; run?: string }[] = [];
    const log = pino(
      { level: 'error' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
    );
    // The skill is acting (its tool.call is durable) when the journal breaks; then the quota runs out. The
    // journal breaks as the skill starts, not when the test next looks: the quota's 0.2 s runs on the wall
    // clock, and on a loaded machine a look can come later than that.
    const navigation: NavigationService = {
      navigateTo: () => {
        journal.broken = true;
        return new Promise(() => {}); // never arrives
      },
    };
    const agent = await startAgent({ ...componentContext({}, { journal }), log }, { navigation });
    const slow = {
      ...intent('navigate_to', { x: 1, y: 1 }),
      policy_ctx: { actor: 'tester', source: 'internal' as const, max_wall_s: 0.2 },
    };
    const accepted = await agent.submitIntent(slow, 'http');
    await waitFor(() => agent.getRun(accepted.run_id)!.events.some((e) => e.kind === 'tool.call'), 'the skill to act');
    expect(journal.broken).toBe(true);
    const { run } = await settled(agent, accepted.run_id, ['failed']);
    expect(run.reason).toMatch(
      /^quota\.wall_time: the run acted for more than its quota of 0\.2 s \(not journaled: EROFS/,
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        run: accepted.run_id,
        msg: expect.stringMatching(/wall-time end .* could not be journaled/),
      }),
    );
    journal.broken = false;
  });

  it('logs a run whose end could not be journaled and shows it failed, not running forever', async () => {
    const journal = new BreakingJournal();
    const lines: { msg: string; err?: string; run?: string }[] = [];
    const log = pino(
      { level: 'error' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
    );
    const agent = await startAgent({ ...componentContext({}, { journal }), log });
    const accepted = await agent.submitIntent(intent('stop'), 'http');
    // The run is durable and pending; from now on nothing more can be written, its end included.
    journal.broken = true;
    const { run } = await settled(agent, accepted.run_id, ['failed']);
    expect(run.reason).toMatch(/^internal error: EROFS: read-only file system \(not journaled: EROFS/);
    expect(lines).toContainEqual(
      expect.objectContaining({
        run: accepted.run_id,
        err: expect.stringMatching(/^EROFS/),
        msg: expect.stringMatching(/could not be journaled/),
      }),
    );
    // The journal's last word is still `pending`: a restart brings the run back interrupted.
    journal.broken = false;
    await agent.close();
    forgetAgent(agent);
    const after = await startAgent(componentContext({}, { journal }));
    expect(after.getRun(accepted.run_id)!.run.status).toBe('interrupted');
  });
});

describe('the edge agent, over a long life', () => {
  it('keeps agent.keep_finished_runs finished runs in memory and counts all of them in its metrics', async () => {
    const journal = new MemoryJournal();
    const config = { agent: { keep_finished_runs: 2 } };
    const agent = await startAgent(componentContext(config, { journal }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await agent.submitIntent(intent('stop'), 'http');
      await settled(agent, run.run_id);
      ids.push(run.run_id);
    }
    expect(ids.map((id) => agent.getRun(id)?.run.status)).toEqual([undefined, 'succeeded', 'succeeded']);
    const metric = (name: string) => agent.metrics().find((m) => m.name === name)!.samples;
    expect(metric('auraison_agent_tool_calls_total')).toEqual([{ value: 3 }]);
    expect(metric('auraison_agent_runs')).toContainEqual({ labels: { status: 'succeeded' }, value: 3 });
    expect(agent.health().details).toMatchObject({ runs: { succeeded: 3 } });

    const after = await startAgent(componentContext(config, { journal }));
    expect(ids.map((id) => after.getRun(id)?.run.status)).toEqual([undefined, 'succeeded', 'succeeded']);
    expect(after.metrics().find((m) => m.name === 'auraison_agent_tool_calls_total')!.samples).toEqual([{ value: 3 }]);
  });
});
