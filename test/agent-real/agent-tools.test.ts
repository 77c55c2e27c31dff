import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../daemon/util/ids.ts';
import type { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { recordCmdVel } from '../helpers/cmd-vel.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { ENDPOINT_SETTINGS, MODEL_ID, startModelServer, type ModelServer } from './model-servers.ts';
import { madeModel } from './made-model.ts';

// The agent's skills offered to a real server as tools. On llama-server the made model opens a tool call when the
// prompt offers tools on a user's turn (its chat template marks that turn), the server's grammar fills in the first
// tool whose name starts with n, navigate_to, with x = y = 1.5 (inside the maze's second cell), and the server parses
// it into a streamed call that drives the sim's robot through the frames (the policy hooks, the CmdVelGate); after the
// tool's result the model says "Done.". llama-cpp-python's server parses no call from text: the frame's side there.

const shared = cleanupStack(afterAll);
const made = madeModel();
const cleanups = cleanupStack();

const FENCE = [
  { x: 0, y: 0 },
  { x: 1.2, y: 0 },
  { x: 1.2, y: 1.2 },
  { x: 0, y: 1.2 },
];

async function agentOn(server: ModelServer, motion: Record<string, unknown> = {}) {
  const started = await startSimDaemon(cleanups, {
    speed: 20,
    prefix: 'real-llm-agent-',
    config: {
      llm: {
        endpoints: [
          { name: 'local', base_url: server.baseUrl, model: MODEL_ID, retries: 0, ...ENDPOINT_SETTINGS[server.kind] },
        ],
      },
      agent: { skills: ['navigate_to', 'read_topic', 'stop'] },
      // Below the navigator's own 0.22 m/s, so the gate has something to clamp.
      motion: { velocity: { max_linear_x: 0.15, max_angular_z: 1.5 }, ...motion },
    },
  });
  return started;
}

async function runToEnd(agent: AgentComponent, text: string) {
  const run = await agent.submitIntent(
    {
      intent_id: newId(),
      type: 'natural_language',
      params: { text },
      policy_ctx: { actor: 'test', source: 'internal' },
      targets: [],
    },
    'internal',
  );
  await waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status), 'the run to end', 90_000);
  return agent.getRun(run.run_id)!;
}

describe("the edge agent on llama-cpp-python's server, which parses no call from text", () => {
  const kind = 'llama-cpp-python' as const;
  let server: ModelServer;
  beforeAll(async () => {
    server = await startModelServer(kind, made.path);
    shared.push(() => server.close());
  }, 90_000);

  it('offers its skills as tools, and runs nothing from a reply that only reads like a call: the robot does not move', async () => {
    const { agent, daemon, codec, sim } = await agentOn(server);
    const start = sim.world.pose();
    const twists = recordCmdVel(daemon.bus, codec);
    const { run, events } = await runToEnd(agent, 'Drive to x 1.5, y 1.5.');
    // The made model writes "<tool_call>" and JSON-ish text: llama-cpp-python's default chat handler never
    // parses a call out of it, so the reply is text, and text is never run.
    expect(['succeeded', 'failed']).toContain(run.status);
    expect(events.filter((e) => e.kind === 'tool.call')).toEqual([]);
    expect(JSON.stringify(events.map((e) => e.payload))).toContain('<tool_call>');
    expect(twists.filter((t) => t.linear !== 0 || t.angular !== 0)).toEqual([]);
    expect(sim.world.pose()).toMatchObject({ x: start.x, y: start.y });
  }, 120_000);
});

describe('the edge agent on llama-server: the server parses the tool call, the frames hold it', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await startModelServer('llama-server', made.path);
    shared.push(() => server.close());
  }, 90_000);

  it("drives the sim's robot to the goal of the server's navigate_to call, within the velocity limits, then ends on the model's answer", async () => {
    const { agent, daemon, codec, sim } = await agentOn(server);
    const twists = recordCmdVel(daemon.bus, codec);
    const { run, events } = await runToEnd(agent, 'Drive to x 1.5, y 1.5.');
    expect(run, JSON.stringify(events.map((e) => [e.kind, e.payload]))).toMatchObject({
      status: 'succeeded',
      reason: 'Done.',
    });
    const calls = events.filter((e) => e.kind === 'tool.call');
    expect(calls.map((e) => e.payload)).toEqual([
      expect.objectContaining({ tool: 'navigate_to', input: { x: 1.5, y: 1.5 } }),
    ]);
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - 1.5, pose.y - 1.5)).toBeLessThanOrEqual(0.3);
    expect(twists.length).toBeGreaterThan(10);
    expect(Math.max(...twists.map((t) => Math.abs(t.linear)))).toBeLessThanOrEqual(0.15);
    expect((agent.health().details as { gate: { clamped: number } }).gate.clamped).toBeGreaterThan(0);
  }, 120_000);

  it('refuses the same call when its goal is outside the geofence: the robot does not move', async () => {
    const { agent, daemon, codec, sim } = await agentOn(server, { geofence: { polygon: FENCE } });
    const start = sim.world.pose();
    const twists = recordCmdVel(daemon.bus, codec);
    const { events } = await runToEnd(agent, 'Drive to x 1.5, y 1.5.');
    expect(events.find((e) => e.kind === 'policy.decision')?.payload).toMatchObject({
      rule: 'geofence',
      reason: 'goal (1.5, 1.5) is outside the geofence (motion.geofence.polygon)',
    });
    expect(twists.filter((t) => t.linear !== 0 || t.angular !== 0)).toEqual([]);
    expect(sim.world.pose()).toMatchObject({ x: start.x, y: start.y });
  }, 120_000);
});
