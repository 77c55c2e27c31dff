import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

const navigate = (x: number, y: number) => skillIntent('navigate_to', { x, y });

describe('one motion at a time', () => {
  it('a new goal supersedes the running one, whose run names the run that took over; stop names itself', async () => {
    const { agent, dock } = await startSimDaemon(cleanups, { speed: 1 });
    const ended = (runId: string) => ['succeeded', 'failed', 'cancelled'].includes(agent.getRun(runId)!.run.status);

    // The dock is far from the start: at speed 1 the first goal is still being driven when the second comes.
    const first = await agent.submitIntent(navigate(dock.x, dock.y), 'internal');
    await waitFor(
      () => agent.getRun(first.run_id)!.events.some((e) => e.kind === 'tool.call'),
      'the first goal to be driven',
      30_000,
    );
    const second = await agent.submitIntent(navigate(dock.x, dock.y), 'internal');
    await waitFor(() => ended(first.run_id), 'the first run to end', 30_000);
    expect(agent.getRun(first.run_id)!.run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining(`failed (cancelled): superseded by navigate_to of run ${second.run_id}`),
    });

    await waitFor(
      () => agent.getRun(second.run_id)!.events.some((e) => e.kind === 'tool.call'),
      'the second goal to be driven',
      30_000,
    );
    const stop = await agent.submitIntent(skillIntent('stop', {}), 'internal');
    await waitFor(() => ended(second.run_id) && ended(stop.run_id), 'the second run and the stop to end', 30_000);
    // The stop skill is the operator's stop: every other run is cancelled, by it.
    expect(agent.getRun(second.run_id)!.run).toMatchObject({
      status: 'cancelled',
      reason: expect.stringContaining('cancelled by the stop skill'),
    });
  });
});
