import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../daemon/util/ids.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

// agent.navigation.odom_timeout_ms: how long navigate_to drives on without odometry before it stops the robot. The
// default (500 ms) suits a robot or the built-in sim; a Gazebo of the user's own below real time needs more.

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

describe('agent.navigation.odom_timeout_ms', () => {
  it('is the silence after which a drive whose odometry stopped ends no_data, as its message says', async () => {
    const { sim, agent, dock } = await startSimDaemon(cleanups, {
      config: { agent: { navigation: { odom_timeout_ms: 1500 } } },
      prefix: 'odom-timeout-',
    });
    const { run_id } = await agent.submitIntent(
      {
        intent_id: newId(),
        type: 'navigate_to',
        params: { x: dock.x, y: dock.y },
        policy_ctx: { actor: 'test', source: 'internal' },
        targets: [],
      },
      'http',
    );
    await waitFor(() => sim.world.distance > 0.02, 'the robot driving');
    sim.pause(); // no more /odom, as from a sim that stopped or a driver that died
    await waitFor(() => agent.getRun(run_id)!.run.status === 'failed', 'the drive to end');
    const said = JSON.stringify(agent.getRun(run_id)!.events);
    expect(said).toContain('failed (no_data): no /odom for 1500 ms');
    expect(agent.health().details).toMatchObject({ navigator_odom_timeout_ms: 1500 });
  });
});
