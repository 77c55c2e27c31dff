import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { AgentEvent, Intent } from '../../daemon/contract/schemas.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon, running } from '../helpers/daemon.ts';

/**
 * navigate_to stopped before the robot moved: the navigator is still waiting for its first /map and /odom
 * (here they never come: the daemon runs with no sim and no robot). The wait ends at once on a cancel or a
 * newer goal, and the run names what ended it.
 */

const cleanups = cleanupStack();

/** A real daemon with the agent and no sim: nothing publishes /map or /odom. */
async function daemonWithoutRobot() {
  const config = { sim: { enabled: false }, api: { enabled: false }, foxglove: { enabled: false } };
  const { daemon, stop } = await startDaemon(config, 'nav-cancel-');
  cleanups.push(stop);
  return { daemon, agent: running(daemon, AgentComponent)! };
}

const navigate = (x: number, y: number): Intent => ({
  intent_id: newId(),
  type: 'navigate_to',
  params: { x, y },
  policy_ctx: { actor: 'test', source: 'internal' },
  targets: [],
});
const resultsOf = (events: readonly AgentEvent[]) =>
  events.filter((e) => e.kind === 'tool.result').map((e) => e.payload as { result: { ok: boolean; error?: string } });
const acting = (agent: AgentComponent, runId: string) =>
  waitFor(() => agent.getRun(runId)!.events.some((e) => e.kind === 'tool.call'), 'navigate_to to act');
const ended = (agent: AgentComponent, runId: string) =>
  ['succeeded', 'failed', 'cancelled'].includes(agent.getRun(runId)!.run.status);

describe('navigate_to stopped while the navigator waits for /map', () => {
  it('returns cancelled as soon as its run is cancelled, so the run journals what the skill did', async () => {
    const { agent } = await daemonWithoutRobot();
    const run = await agent.submitIntent(navigate(1.5, 2), 'internal');
    await acting(agent, run.run_id);

    const cancelled = await agent.cancel(run.run_id, 'ada', 'wrong room');
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada: wrong room' });
    // The skill's own answer, not the run's "it did not return ... what it did is unknown".
    const [result] = resultsOf(agent.getRun(run.run_id)!.events);
    expect(result!.result).toEqual({
      ok: false,
      error: 'navigation to (1.5, 2) failed (cancelled): cancelled by ada: wrong room before the robot moved',
    });
  });

  it('a newer goal supersedes it, and its run names the run that took over', async () => {
    const { agent } = await daemonWithoutRobot();
    const first = await agent.submitIntent(navigate(1.5, 2), 'internal');
    await acting(agent, first.run_id);
    const second = await agent.submitIntent(navigate(2.5, 2), 'internal');
    await waitFor(() => ended(agent, first.run_id), 'the first run to end');
    expect(agent.getRun(first.run_id)!.run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining(
        `navigation to (1.5, 2) failed (cancelled): superseded by navigate_to of run ${second.run_id} before the robot moved`,
      ),
    });
    // The second still waits for the robot; a cancel ends it at once too.
    await acting(agent, second.run_id);
    await agent.cancel(second.run_id, 'ada', 'done');
    expect(resultsOf(agent.getRun(second.run_id)!.events)[0]!.result.error).toBe(
      'navigation to (2.5, 2) failed (cancelled): cancelled by ada: done before the robot moved',
    );
  });
});
