import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../helpers/component-context.ts';
import { fauxModel, settled, startAgent, stopAgents } from './agent-harness.ts';
import { skillIntent } from '../helpers/intents.ts';

// The daemon's own bus queries are not the model's to call by default: pausing the recorder would stop what
// happens on the robot from being recorded, and agent/stop is the operator's stop, which latches until a
// person releases it (the model has the stop skill, which does not latch). agent.rules.services.deny says so
// (default ['recorder/**', 'agent/**']); a config that wants them lets them through.

afterEach(() => stopAgents());

async function callAsModel(
  ctx: TestContext,
  name: string,
): Promise<{ called: string[]; result: Record<string, unknown> }> {
  const called: string[] = [];
  for (const service of ['recorder/pause', 'agent/stop', 'arm/home']) {
    ctx.bus.serve(service, async () => {
      called.push(service);
      return { encoding: 'application/json', payload: new TextEncoder().encode('{}') };
    });
  }
  const { faux, model } = fauxModel();
  faux.setResponses([
    fauxAssistantMessage([fauxToolCall('call_service', { name, request: {} })], { stopReason: 'toolUse' }),
    fauxAssistantMessage('Done.'),
  ]);
  const agent = await startAgent(ctx, { model });
  const run = await agent.submitIntent(skillIntent('natural_language', { text: 'go' }), 'http');
  const { events } = await settled(agent, run.run_id);
  return { called, result: events.find((e) => e.kind === 'tool.result')!.payload };
}

describe("call_service and the daemon's own queries", () => {
  for (const name of ['recorder/pause', 'agent/stop']) {
    it(`refuses ${name} by default`, async () => {
      const { called, result } = await callAsModel(componentContext(), name);
      expect(called).toEqual([]);
      expect(result).toMatchObject({
        refused: true,
        result: { ok: false, error: expect.stringMatching(/^refused by policy: services\.deny/) },
      });
    });
  }

  it("calls an application service, and the daemon's own once the config allows them", async () => {
    expect((await callAsModel(componentContext(), 'arm/home')).called).toEqual(['arm/home']);
    expect(
      (await callAsModel(componentContext({ agent: { rules: { services: { deny: [] } } } }), 'recorder/pause')).called,
    ).toEqual(['recorder/pause']);
  });
});
