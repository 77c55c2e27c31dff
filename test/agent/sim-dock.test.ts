import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { OpenAiSseServer, type RecordedRequest } from '../doubles/openai-sse-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startSimDaemon, running } from '../helpers/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';

const cleanups = cleanupStack();

/** The scripted model reads the named place from the system prompt the agent sent, as a real one would. */
function planDock(request: RecordedRequest) {
  const system =
    (request.body.messages as { role: string; content: string }[]).find((m) => m.role === 'system')?.content ?? '';
  const dock = /- charging_dock: x=(-?[\d.]+), y=(-?[\d.]+)/.exec(system);
  if (!dock) return { text: 'I do not know where the charging dock is.' };
  return { toolCalls: [{ name: 'navigate_to', arguments: { x: Number(dock[1]), y: Number(dock[2]) } }] };
}

describe('the edge agent in the turtlebot-maze sim', () => {
  it('plans "go to the charging dock" into navigate_to, drives there within the velocity limits, and checks it arrived', async () => {
    const server = new OpenAiSseServer();
    await server.start();
    cleanups.push(() => server.close());
    server.enqueue(planDock, { text: 'I am at the charging dock.' });
    const config = {
      llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model' }] },
      // Below the path follower's own 0.22 m/s, so the limit has something to do.
      motion: { velocity: { max_linear_x: 0.15, max_angular_z: 1.5 } },
    };
    const { daemon } = await startSimDaemon(cleanups, { speed: 1000, config, prefix: 'sim-dock-' });
    const codec = new MessageCodec(daemon.definitions);
    let maxLinear = 0;
    let maxAngular = 0;
    let commands = 0;
    daemon.bus.subscribe({
      name: 'test-cmd-vel',
      topic: '/cmd_vel',
      queue: { policy: 'drop-oldest', depth: 10_000 },
      handler: (msg) => {
        const twist = codec.decode<{ linear: { x: number }; angular: { z: number } }>(msg.type, msg.data);
        commands++;
        maxLinear = Math.max(maxLinear, Math.abs(twist.linear.x));
        maxAngular = Math.max(maxAngular, Math.abs(twist.angular.z));
      },
    });

    const agent = running(daemon, AgentComponent)!;
    const dock = running(daemon, TurtlebotMazeSim)!.namedPoses.charging_dock!;
    const run = await agent.submitIntent(
      {
        intent_id: newId(),
        type: 'natural_language',
        params: { text: 'go to the charging dock', validators: [{ type: 'goal_reached', tolerance_m: 0.2 }] },
        policy_ctx: { actor: 'test', source: 'internal' },
        targets: [],
      },
      'internal',
    );
    await waitFor(
      () => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status),
      'the run to end',
      90_000,
    );
    const { run: done, events } = agent.getRun(run.run_id)!;
    expect(done).toMatchObject({ status: 'succeeded', reason: 'I am at the charging dock.' });
    const call = events.find((e) => e.kind === 'tool.call')!;
    expect(call.payload).toMatchObject({ tool: 'navigate_to' });
    const goal = call.payload.input as { x: number; y: number };
    expect(goal.x).toBeCloseTo(dock.x, 3);
    expect(goal.y).toBeCloseTo(dock.y, 3);
    expect(events.find((e) => e.kind === 'validator.result')!.payload).toMatchObject({ passed: true, score: 1 });
    // What reached the wheels stayed within the limits, though the navigator asked for more.
    expect(commands).toBeGreaterThan(10);
    expect(maxLinear).toBeLessThanOrEqual(0.15);
    expect(maxAngular).toBeLessThanOrEqual(1.5);
    expect((agent.health().details as { gate: { clamped: number } }).gate.clamped).toBeGreaterThan(0);
  }, 120_000); // past the run's own 90 s wait (the config's 60 s would end the test first)
});
