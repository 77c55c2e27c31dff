import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../util/ids.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { componentContext } from '../../../test/helpers/component-context.ts';
import { AgentComponent } from '../agent-component.ts';
import type { NavigationService } from '../services.ts';

const agents: AgentComponent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close();
});

async function navigate(navigation: NavigationService, x: number, y: number) {
  const agent = new AgentComponent(componentContext(), { navigation });
  agents.push(agent);
  await agent.start();
  const run = await agent.submitIntent(
    {
      intent_id: newId(),
      type: 'navigate_to',
      params: { x, y },
      policy_ctx: { actor: 't', source: 'internal' },
      targets: [],
    },
    'http',
  );
  await waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status), 'the run to end');
  return agent.getRun(run.run_id)!.events.find((e) => e.kind === 'tool.result')!.payload;
}

describe('navigate_to', () => {
  it('returns the goal the robot was sent to when the navigator moved it off a wall, and the goal asked for', async () => {
    // What daemon/navigation's Navigator answers for a goal 0.12 m from a wall.
    const navigation: NavigationService = {
      navigateTo: async () => ({
        reached: true,
        outcome: 'reached',
        message: 'reached (0.53, 0.28), the nearest spot the robot fits in to (0.55, 0.12) (0.16 m from it)',
        goal: { x: 0.525, y: 0.275 },
        goalOffsetM: 0.157,
      }),
    };
    const payload = await navigate(navigation, 0.55, 0.12);
    expect(payload).toMatchObject({
      result: {
        ok: true,
        output: {
          reached: true,
          goal: { x: 0.525, y: 0.275 },
          requested: { x: 0.55, y: 0.12 },
          offset_m: 0.157,
          message: expect.stringMatching(/^reached \(0\.53, 0\.28\)/),
        },
      },
    });
  });

  it('returns the goal asked for when the navigator does not say where it went', async () => {
    const payload = await navigate(
      { navigateTo: async () => ({ reached: true, outcome: 'reached', message: 'arrived' }) },
      2,
      1,
    );
    expect(payload).toMatchObject({
      result: { ok: true, output: { reached: true, goal: { x: 2, y: 1 }, requested: { x: 2, y: 1 }, offset_m: 0 } },
    });
  });
});
