import { afterAll, describe, expect, it } from 'vitest';
import { startDaemon, running } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { writeLinearModel } from './models.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { ControlComponent } from '../../daemon/system1/control/control-component.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const cleanups = cleanupStack();

describe('stale observations are counted per topic, as README says', () => {
  it('a topic read by two sources of a policy is one series in /metrics and in status, counting each stale tick once', async () => {
    const model = writeLinearModel(tmp.path, 'two-slices', [1, 0, 0, 1], [0, 0]);
    const { daemon, stop } = await startDaemon(
      {
        sim: { enabled: false },
        foxglove: { enabled: false },
        api: { port: 0 },
        policies: {
          // position and velocity of one JointState message, as a locomotion policy reads them
          p: {
            model,
            serve: false,
            inputs: {
              obs: {
                sources: [
                  { topic: '/joint_states', field: 'position', indices: [0] },
                  { topic: '/joint_states', field: 'velocity', indices: [0] },
                ],
              },
            },
            outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } },
          },
        },
        control: { loops: { l: { policy: 'p', rate_hz: 50 } } },
      },
      'stale-per-topic-',
    );
    cleanups.push(stop);
    const control = running(daemon, ControlComponent)!;
    await waitFor(() => control.loopStats()[0]!.staleTicks >= 5, 'five stale ticks');
    const url = daemon.ports.get(PORTS.api)!.url!;
    const text = await (await fetch(`${url}/metrics`)).text();
    const series = text.split('\n').filter((l) => l.startsWith('auraison_control_loop_stale_observations_total{'));
    const labels = series.map((l) => l.slice(0, l.lastIndexOf(' ')));
    expect(labels).toEqual(['auraison_control_loop_stale_observations_total{loop="l",topic="/joint_states"}']);
    const stats = control.loopStats()[0]!;
    expect(stats.topics).toEqual(['/joint_states']);
    expect(stats.staleBySource).toHaveLength(1);
    // Every stale tick had /joint_states stale, and only it: counted once per tick.
    expect(Number(series[0]!.slice(series[0]!.lastIndexOf(' ') + 1))).toBeLessThanOrEqual(stats.staleTicks);
  });
});
