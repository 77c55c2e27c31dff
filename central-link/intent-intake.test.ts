import { describe, expect, it, vi } from 'vitest';
import type { AgentService, SubmittedIntent } from '../daemon/contract/services.ts';
import type { RunState } from '../daemon/contract/schemas.ts';
import { IntentIntake, type Ack } from './intent-intake.ts';
import { centralTopics } from './topics.ts';

const topics = centralTopics('auraison', 'lab', 'r1');
const run = { run_id: 'run-1', intent_id: 'i-1', tree_ref: '', status: 'pending' } as unknown as RunState;

function intake(agent: () => AgentService | undefined, extra: { ackTimeoutMs?: number; agentOff?: string } = {}) {
  const acks: { ack: Ack; topic: string }[] = [];
  const it = new IntentIntake({
    robot: 'r1',
    topics,
    agent,
    agentOff: () => extra.agentOff,
    takeIntents: true,
    maxIntentBytes: 1024 * 1024,
    ackTimeoutMs: extra.ackTimeoutMs ?? 1000,
    sendAck: (ack, to) => acks.push({ ack, topic: to.topic }),
    logRefusal: () => {},
    handleConfig: () => Promise.resolve(0x80),
  });
  return { intake: it, acks };
}

const agentSubmitting = (submit: () => Promise<SubmittedIntent>) => ({ submit }) as unknown as AgentService;
const payload = Buffer.from(JSON.stringify({ intent_id: 'i-1', type: 'stop', params: {} }));

describe('IntentIntake', () => {
  it('acknowledges a run not durable in time with a pending ack, then tells the outcome', async () => {
    let durable!: (s: SubmittedIntent) => void;
    const slow = new Promise<SubmittedIntent>((resolve) => (durable = resolve));
    const { intake: i, acks } = intake(() => agentSubmitting(() => slow), { ackTimeoutMs: 20 });
    expect(await i.handle(topics.intents, payload, {})).toBe(0);
    expect(acks.map((a) => a.ack.status)).toEqual(['pending']);
    durable({ run, replayed: false });
    await slow;
    await Promise.resolve();
    expect(acks.map((a) => a.ack.status)).toEqual(['pending', 'accepted']);
    expect(acks[1]!.ack).toMatchObject({ intent_id: 'i-1', run_id: 'run-1' });
    expect(acks.every((a) => a.topic === topics.acks)).toBe(true);
  });

  it('refuses an intent the journal could not take (a full disk), and central may send it again', async () => {
    const full = Object.assign(new Error('journal: cannot append: the disk is full'), { code: 'ENOSPC' });
    const { intake: i, acks } = intake(() => agentSubmitting(() => Promise.reject(full)));
    expect(await i.handle(topics.intents, payload, {})).toBe(0x80);
    expect(acks[0]!.ack).toMatchObject({
      status: 'refused',
      error: { code: 'disk_full', message: expect.stringContaining('send the intent again') },
    });
  });

  it('waits for an agent that is restarting (a reload) rather than refusing at once', async () => {
    let agent: AgentService | undefined;
    setTimeout(() => (agent = agentSubmitting(async () => ({ run, replayed: false }))), 150);
    const { intake: i, acks } = intake(() => agent, { ackTimeoutMs: 5000 });
    expect(await i.handle(topics.intents, payload, {})).toBe(0);
    expect(acks[0]!.ack.status).toBe('accepted');
  });

  it('refuses at once when the agent is off, and after the wait when it does not come back', async () => {
    const off = intake(() => undefined, { agentOff: 'the agent is off on this robot (agent.enabled: false)' });
    expect(await off.intake.handle(topics.intents, payload, {})).toBe(0x80);
    expect(off.acks[0]!.ack.error).toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('agent.enabled: false'),
    });
    const gone = intake(() => undefined, { ackTimeoutMs: 50 });
    expect(await gone.intake.handle(topics.intents, payload, {})).toBe(0x80);
    expect(gone.acks[0]!.ack.error).toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('not running'),
    });
  });

  it("answers on the acks topic when the response topic is no topic it may publish to (a filter, a broker's $ topic, control characters)", async () => {
    const { intake: i, acks } = intake(() => agentSubmitting(async () => ({ run, replayed: false })));
    for (const responseTopic of [
      'central/+/acks',
      'central/#',
      '$SYS/acks',
      'central/\u0001acks',
      'central/\u0085acks',
      '',
    ]) {
      await i.handle(topics.intents, payload, { properties: { responseTopic, correlationData: Buffer.from('c') } });
    }
    expect(acks.map((a) => a.topic)).toEqual(acks.map(() => topics.acks));
    await i.handle(topics.intents, payload, { properties: { responseTopic: 'central/replies/7' } });
    expect(acks.at(-1)!.topic).toBe('central/replies/7');
  });

  it('answers the broker within intent_ack_timeout_s in all, the wait for a restarting agent included', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      // The agent is back after 800 ms of the 1000, and its run is durable 800 ms after that.
      let agent: AgentService | undefined;
      setTimeout(
        () =>
          (agent = agentSubmitting(
            // eslint-disable-next-line tests/no-fixed-wait -- a fake clock: the ack's deadline is what is checked
            () => new Promise((resolve) => setTimeout(() => resolve({ run, replayed: false }), 800)),
          )),
        800,
      );
      const { intake: i, acks } = intake(() => agent, { ackTimeoutMs: 1000 });
      let answeredAt: number | undefined;
      void i.handle(topics.intents, payload, {}).then(() => (answeredAt = performance.now()));
      await vi.advanceTimersByTimeAsync(2000);
      // The PUBACK went with a pending ack at 1000 ms, not with the outcome at 1600.
      expect(answeredAt).toBeLessThanOrEqual(1000 + 100);
      expect(acks.map((a) => a.ack.status)).toEqual(['pending', 'accepted']);
    } finally {
      vi.useRealTimers();
    }
  });
});
