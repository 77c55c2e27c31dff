import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

describe('the agent driving a sim slower than real time', () => {
  it('takes /odom that comes less often per wall second for a slow robot, not a dead one', async () => {
    // At 0.05x the sim's 30 Hz /odom comes every 0.67 wall seconds: past the navigator's 500 ms watchdog at 1x.
    const { daemon, agent, dock } = await startSimDaemon(cleanups, { speed: 0.05 });
    const { run_id } = await agent.submitIntent(skillIntent('navigate_to', { x: dock.x, y: dock.y }), 'internal');
    await waitFor(
      () => agent.getRun(run_id)!.events.some((e) => e.kind === 'tool.call'),
      'the goal to be driven',
      30_000,
    );
    // Three more /odom messages, 0.67 wall seconds apart: a watchdog that did not stretch has ended the goal by then.
    let odom = 0;
    daemon.bus.subscribe({ name: 'test-odom', topic: '/odom', handler: () => void odom++ });
    await waitFor(() => odom >= 3, 'three /odom messages', 30_000);
    expect(agent.getRun(run_id)!.run).toMatchObject({ status: 'running' });
    const stop = await agent.submitIntent(skillIntent('stop', {}), 'internal');
    await waitFor(
      () => agent.getRun(run_id)!.run.status !== 'running' && agent.getRun(stop.run_id)!.run.status === 'succeeded',
      'the stop',
      30_000,
    );
  });
});
