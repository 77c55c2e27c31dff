import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../daemon/util/ids.ts';
import { componentContext } from '../helpers/component-context.ts';
import { fauxModel, forgetAgent, settled, startAgent, stopAgents } from './agent-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';

/** A run's tool-call quota holds across a restart: calls refused before it still count after it. */

afterEach(stopAgents);

describe('the tool-call quota across a restart', () => {
  it('counts the calls refused before the restart, so the resumed run still ends at its quota', async () => {
    const journal = new MemoryJournal();
    // publish is denied; stop needs approval. Quota: 2 calls.
    const config = { agent: { require_approval: ['stop'], rules: { skills: { deny: ['publish'] } } } };
    const { faux, model } = fauxModel();
    faux.setResponses([
      // call 1: refused
      fauxAssistantMessage([fauxToolCall('publish', { topic: '/cmd_vel', fields: {} })], { stopReason: 'toolUse' }),
      fauxAssistantMessage([fauxToolCall('stop', {})], { stopReason: 'toolUse' }), // call 2: waits for approval
      // call 3: over the quota
      fauxAssistantMessage([fauxToolCall('read_topic', { topic: '/odom' })], { stopReason: 'toolUse' }),
      fauxAssistantMessage('Done.'),
    ]);
    const before = await startAgent(componentContext(config, { journal }), { model });
    const intent = {
      intent_id: newId(),
      type: 'natural_language',
      params: { text: 'stop' },
      policy_ctx: { actor: 't', source: 'internal', max_tool_calls: 2 },
      targets: [],
    };
    const run = await before.submitIntent(intent, 'http');
    await settled(before, run.run_id, ['awaiting_approval']);
    await before.close();
    forgetAgent(before);

    const after = await startAgent(componentContext(config, { journal }), { model });
    await after.approve(run.run_id, 'ada');
    const { run: done, events } = await settled(after, run.run_id);
    expect(done).toMatchObject({
      status: 'failed',
      reason: "quota.tool_calls: call 3 exceeds the run's quota of 2 tool calls",
    });
    expect(events.filter((e) => e.kind === 'tool.call').map((e) => e.payload.tool)).toEqual(['stop']);
  });
});
