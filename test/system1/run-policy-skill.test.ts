import { simPolicyLoopConfig } from './sim-policy-config.ts';
import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { startDaemon, running } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

describe('the run_policy skill drives an on-demand System 1 loop', () => {
  it('runs the sim policy for the seconds asked, then stops the loop; unknown loops fail with the reason', async () => {
    const { daemon, codec, stop } = await startDaemon(simPolicyLoopConfig(), 'run-policy-');
    cleanups.push(stop);
    const commands: number[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/cmd_vel',
      queue: { depth: 10_000 },
      handler: (m) => void commands.push(codec.decode<{ linear: { x: number } }>(m.type, m.data).linear.x),
    });
    const sim = running(daemon, TurtlebotMazeSim)!;
    const agent = running(daemon, AgentComponent)!;
    const control = daemon.status().components.control;
    expect(control?.state).toBe('running'); // with no loop running: on-demand loops start only when asked

    const submit = (params: Record<string, unknown>) =>
      agent.submitIntent(
        {
          intent_id: newId(),
          type: 'run_policy',
          params,
          policy_ctx: { actor: 'test', source: 'internal' },
          targets: [],
        },
        'internal',
      );
    const ended = (id: string) => () => ['succeeded', 'failed'].includes(agent.getRun(id)!.run.status);

    const before = sim.world.distance;
    const run = await submit({ name: 'avoid', seconds: 2 });
    await waitFor(ended(run.run_id), 'the run_policy run to end', 30_000);
    const done = agent.getRun(run.run_id)!;
    expect(done.run.status).toBe('succeeded');
    const result = done.events.find((e) => e.kind === 'tool.result')!.payload as { output?: { message: string } };
    expect(JSON.stringify(result)).toMatch(/ran 2 s: \d+ ticks at 10 Hz/);
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.slice(0, -1).some((v) => v > 0.05)).toBe(true); // the policy drove forward
    expect(commands.at(-1)).toBe(0); // the loop's stop sent the safe action
    expect(sim.world.distance - before).toBeGreaterThan(0.1);
    expect(sim.world.collisions).toBe(0);

    const unknown = await submit({ name: 'dance', seconds: 1 });
    await waitFor(ended(unknown.run_id), 'the failing run to end', 30_000);
    expect(agent.getRun(unknown.run_id)!.run).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('no on-demand loop "dance"'),
    });
  });
});
