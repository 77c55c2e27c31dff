import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { startAgent, stopAgents } from '../agent/agent-harness.ts';

// Months unattended: whatever publishes on the intent topic can send garbage at any rate, and each kind of
// problem must cost one log line (and then one a minute), not one per message.

afterEach(stopAgents);

describe('the intent topic under a flood of garbage', () => {
  it('logs the first message of each kind of problem, not every message, and still takes a good intent', async () => {
    const lines: Record<string, unknown>[] = [];
    const ctx = {
      ...componentContext({ agent: { skills: ['stop'] } }),
      log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }),
    };
    const agent = await startAgent(ctx);
    const topic = ctx.bus.advertise('/auraison/intents', 'std_msgs/msg/String', { source: 'test' });
    const send = (data: string) => topic.publish(ctx.codec.encode('std_msgs/msg/String', { data }));
    const intent = (n: number, type: string) =>
      JSON.stringify({
        intent_id: `01a1ff93-0000-7000-8000-${String(n).padStart(12, '0')}`,
        type,
        params: {},
        policy_ctx: { actor: 't', source: 'ros' },
        targets: [],
      });
    const N = 40;
    for (let i = 0; i < N; i++) {
      send(`garbage ${i}`);
      send(intent(i, 'no_such_skill'));
    }
    // The good one comes after the garbage, on the same topic: once its run exists, the garbage was handled.
    send(intent(N, 'stop'));
    await waitFor(() => agent.listRuns().length === 1, 'the good intent to make a run');

    const byMsg = (msg: string) => lines.filter((l) => l.msg === msg);
    expect(byMsg('intent message is not JSON; ignored')).toHaveLength(1);
    expect(byMsg('intent message is not JSON; ignored')[0]).toMatchObject({
      topic: '/auraison/intents',
      err: expect.stringContaining('JSON'),
    });
    expect(byMsg('intent from the topic refused')).toHaveLength(1);
    expect(byMsg('intent from the topic refused')[0]!.err).toContain('no_such_skill');
  });
});
