import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NavigationService } from '../../daemon/agent/services.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { JournalRecord } from '../../daemon/contract/services.ts';
import { nowNs } from '../../daemon/util/time.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { forgetAgent, settled, startAgent, stopAgents } from './agent-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';

/**
 * The agent driven over its API: decisions that cross while a run's end is being written, and runs replayed
 * from a journal with records that are odd or damaged.
 */

const cleanups: Cleanup[] = [];
afterEach(async () => {
  await stopAgents();
  await runCleanups(cleanups);
});

const intent = (type: string, params: Record<string, unknown> = {}) => ({
  intent_id: newId(),
  type,
  params,
  policy_ctx: { actor: 'tester', source: 'internal' },
  targets: [],
});

/** A MemoryJournal that holds back the write of a run's `cancelled` state until told, as a slow fsync does. */
class SlowCancelJournal extends MemoryJournal {
  held: (() => void) | undefined;
  override async append(kind: string, data: unknown): Promise<JournalRecord> {
    if (kind === 'run_state' && (data as { status?: string }).status === 'cancelled')
      await new Promise<void>((resolve) => (this.held = resolve));
    return super.append(kind, data);
  }
}

describe('a cancel and an approval that cross', () => {
  it('refuses an approval that comes while the cancel is being written, and the skill never acts', async () => {
    const journal = new SlowCancelJournal();
    const goals: unknown[] = [];
    const navigation: NavigationService = {
      async navigateTo(goal) {
        goals.push(goal);
        return { reached: true, outcome: 'reached', message: 'arrived' };
      },
    };
    const agent = await startAgent(componentContext({ agent: { require_approval: ['navigate_to'] } }, { journal }), {
      navigation,
    });
    const run = await agent.submitIntent(intent('navigate_to', { x: 3, y: 4 }), 'http');
    await settled(agent, run.run_id, ['awaiting_approval']);

    // The cancel stops the run's runner at once; its end is durable only when the journal lets it through.
    const cancelling = agent.cancel(run.run_id, 'bob');
    await waitFor(() => journal.held !== undefined, 'the cancel to be written');
    const approving = agent.approve(run.run_id, 'ada');
    journal.held!();
    await expect(cancelling).resolves.toMatchObject({ status: 'cancelled' });
    await expect(approving).rejects.toMatchObject({
      code: 'conflict',
      message: `run ${run.run_id} ended (cancelled) before the approval could be applied: cancelled by bob`,
    });

    const { run: done, events } = await settled(agent, run.run_id);
    expect(done.status).toBe('cancelled');
    expect(events.map((e) => e.kind)).toEqual(['intent.accepted', 'approval.requested', 'run.cancelled']);
    // Stopping waits for every run task: anything that was going to act has acted by now.
    await stopAgents();
    expect(goals).toEqual([]);
    expect(
      journal.records.filter((r) => r.kind === 'run_state').map((r) => (r.data as { status: string }).status),
    ).toEqual(['pending', 'running', 'awaiting_approval', 'cancelled']);
  });
});

describe('runs show and diff on a journal with odd records', () => {
  it('replay a run whose records do not match the contract, or hold payloads of the wrong shape, or were damaged on disk', async () => {
    const dir = tempDir('agent-review-');
    cleanups.push(dir.cleanup);
    const log = join(dir.path, 'data', 'log');
    const journal = new DurableJournal({ dir: log, fsync: 'never' });
    const agent = await startAgent(componentContext({}, { journal }));
    const run = await agent.submitIntent(intent('stop'), 'cli');
    await settled(agent, run.run_id);
    const other = await agent.submitIntent(intent('stop'), 'cli');
    await settled(agent, other.run_id);
    await agent.close();
    forgetAgent(agent);
    // Records of the run as a bug, another version or a hand edit may leave them.
    const event = (kind: string, payload: unknown) => ({
      event_id: newId(),
      run_id: run.run_id,
      kind,
      payload,
      ts: nowNs().toString(),
    });
    await journal.append('agent_event', event('tool.result', { call_id: 'skill-9', tool: 'stop' })); // no result
    await journal.append('agent_event', event('llm.message', { message: { role: 'assistant', content: [null, 7] } }));
    await journal.append('agent_event', event('intent.accepted', { intent: { type: 5 } }));
    await journal.append('agent_event', { run_id: run.run_id, kind: 'tool.call' }); // not an AgentEvent
    await journal.append('run_state', { run_id: run.run_id, status: 'weird' }); // not a RunState
    await journal.append('run_state', null);
    await journal.close();
    // Bytes of the run's tool.call flipped on disk: its CRC no longer matches.
    const segment = join(
      log,
      readdirSync(log).find((f) => f.endsWith('.log'))!,
    );
    const bytes = readFileSync(segment);
    const at = bytes.indexOf(`"run_id":"${run.run_id}","kind":"tool.call"`);
    expect(at).toBeGreaterThan(0);
    bytes[at + 2] ^= 0xff;
    writeFileSync(segment, bytes);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');

    const show = await runMain(['runs', 'show', run.run_id, '--config', config], { cwd: dir.path });
    expect(show.stderr).toMatch(/corrupt record\(s\) at byte \d+ skipped/);
    expect(show.code).toBe(0);
    const lines = show.stdout.split('\n').map((l) => l.replace(/^ *\+[\d.]+s {2}/, ''));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^gap +journal record \d+ could not be read \(damaged on disk\): events of this run may be missing here$/,
        ),
        expect.stringMatching(/^tool\.result +stop ok \{"stopped":true,"cancelled":null\} in [\d.]+ ms$/),
        'tool.result        {"call_id":"skill-9","tool":"stop"}',
        'llm.message        assistant: null 7 [undefined]',
        'intent.accepted    {"intent":{"type":5}}',
        expect.stringMatching(
          /^skipped +journal record \d+ is not a valid agent event \(wrong or missing: event_id, payload, ts\); not shown$/,
        ),
        expect.stringMatching(
          /^skipped +journal record \d+ is not a valid run state \(wrong or missing: .*status.*\); not shown$/,
        ),
      ]),
    );
    expect(show.stdout).toMatch(/^run \S+: succeeded\nintent \S+ stop, plan skill:stop\n/);

    const diff = await runMain(['runs', 'diff', run.run_id, other.run_id, '--config', config, '--json'], {
      cwd: dir.path,
    });
    expect(diff.code).toBe(0);
    const facts = (JSON.parse(diff.stdout) as { facts: { name: string; a: string; b: string }[] }).facts;
    expect(facts.find((f) => f.name === 'unreadable')).toMatchObject({ a: '3', b: '0' });
    expect(facts.find((f) => f.name === 'tool_errors')).toMatchObject({ a: '0', b: '0' });
    expect(facts.find((f) => f.name === 'status')).toMatchObject({ a: 'succeeded', b: 'succeeded' });
  });
});
