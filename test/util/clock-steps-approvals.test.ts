// isolated: fakes the wall clock (vitest.config.ts)
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import { componentContext } from '../helpers/component-context.ts';
import { forgetAgent, startAgent, stopAgents } from '../agent/agent-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { waitFor } from '../helpers/wait.ts';
import { HOUR_MS, SteppedWallClock, YEAR_MS } from './clock-steps-clock.ts';

/**
 * Approval deadlines under NTP steps. Within the process the wait is timed on the monotonic clock; the
 * journaled wall-clock deadline only carries it across a restart, and is read back with suspicion.
 */

const clock = new SteppedWallClock();
afterEach(async () => {
  await stopAgents();
  clock.uninstall();
});

const stopIntent = () => ({
  intent_id: newId(),
  type: 'stop',
  params: {},
  policy_ctx: { actor: 'tester', source: 'internal' },
  targets: [],
});
const status = (agent: AgentComponent, runId: string) => agent.getRun(runId)?.run.status;

async function awaiting(config: Record<string, unknown>, journal = new MemoryJournal()) {
  const agent = await startAgent(componentContext(config, { journal }));
  const { run_id: runId } = await agent.submitIntent(stopIntent(), 'http');
  await waitFor(() => status(agent, runId) === 'awaiting_approval', 'the run to await approval');
  return { agent, runId, journal };
}

async function restarted(agent: AgentComponent, config: Record<string, unknown>, journal: MemoryJournal) {
  await agent.close();
  forgetAgent(agent);
  return startAgent(componentContext(config, { journal }));
}

describe('approval deadlines when the wall clock steps', () => {
  it('a step forward of 3 years (the first NTP sync) does not expire an approval that is waiting', async () => {
    clock.install();
    const { agent, runId } = await awaiting({ agent: { require_approval: ['stop'], approval_timeout_s: 3600 } });
    await clock.step(3 * YEAR_MS);
    expect((await agent.approve(runId, 'ada')).status).toBe('running');
    await waitFor(() => status(agent, runId) === 'succeeded', 'the approved run to succeed');
  });

  it('a step back of an hour does not keep an approval waiting past its timeout', async () => {
    clock.install();
    const { agent, runId } = await awaiting({ agent: { require_approval: ['stop'], approval_timeout_s: 1 } });
    await clock.step(-HOUR_MS);
    await waitFor(() => status(agent, runId) === 'failed', 'the approval to time out');
    expect(agent.getRun(runId)!.run.reason).toBe('approval timed out after 1 s');
  });

  it('after a restart, a deadline the clock stepped back from waits at most one whole timeout', async () => {
    clock.install();
    const config = { agent: { require_approval: ['stop'], approval_timeout_s: 1 } };
    const { agent, runId, journal } = await awaiting(config);
    await clock.step(-HOUR_MS);
    const after = await restarted(agent, config, journal);
    await waitFor(() => status(after, runId) === 'failed', 'the approval to time out');
  });

  it('after a restart with the clock not set yet (a reboot without an RTC), a waiting approval ends: the time that passed is unknown', async () => {
    clock.install();
    const config = { agent: { require_approval: ['stop'], approval_timeout_s: 3600 } };
    const { agent, runId, journal } = await awaiting(config);
    await clock.set(Date.UTC(1970, 0, 1, 0, 5));
    const after = await restarted(agent, config, journal);
    await expect(after.approve(runId, 'ada')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/approval timed out/),
    });
    await waitFor(() => status(after, runId) === 'failed', 'the approval to end');
  });
});
