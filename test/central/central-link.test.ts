import { describe, expect, it } from 'vitest';
import { publishCommand } from '../helpers/command-key.ts';
import { newId } from '../../daemon/util/ids.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import type { RunState } from '../../daemon/contract/schemas.ts';
import { skillIntent } from '../helpers/intents.ts';
import { waitFor } from '../helpers/wait.ts';
import { brokerAndCentral, centralDaemon, PREFIX, sendIntent, waitForJournal } from './central-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

describe('the central link against a real mosquitto', () => {
  it("takes an intent from central, acks it once its run is durable, and sends the run's records up", async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const { daemon, stop } = await centralDaemon(broker.url);
    cleanups.push(stop);

    // The retained status says the robot is online.
    await waitFor(
      () =>
        central.received.some(
          (m) => m.topic === `${PREFIX}/status` && (m.json as { state: string }).state === 'online',
        ),
      'the online status',
    );
    const intent = skillIntent('stop', {});
    await sendIntent(central.client, intent);
    await waitFor(() => central.acks().some((a) => a.intent_id === intent.intent_id), 'the ack');
    const ack = central.acks().find((a) => a.intent_id === intent.intent_id)!;
    expect(ack).toMatchObject({ schema: 'auraison.ack/1', robot: 'tb3-1', kind: 'intent', status: 'accepted' });
    // The run is the agent's, with the source set where it came from, and it ran.
    const run = daemon.ports.get(PORTS.agent)!;
    await waitFor(() => run.getRun(ack.run_id as string)?.run.status === 'succeeded', 'the run to succeed');
    // Every record of the journal reached central, the run's final state among them.
    await waitForJournal(daemon, central.records);
    const states = central
      .records()
      .filter((r) => r.kind === 'run_state' && (r.data as RunState).run_id === ack.run_id)
      .map((r) => (r.data as RunState).status);
    expect(states).toContain('succeeded');
    const batch = central.received.find((m) => m.topic === `${PREFIX}/events`)!.json as Record<string, unknown>;
    expect(batch).toMatchObject({ schema: 'auraison.events/1', robot: 'tb3-1', fleet: 'lab', first_seq: 1 });
    expect(typeof batch.journal_id).toBe('string');
    // Heartbeats say how the robot is.
    await waitFor(() => central.received.some((m) => m.topic === `${PREFIX}/heartbeat`), 'a heartbeat');
    const beat = central.received.find((m) => m.topic === `${PREFIX}/heartbeat`)!.json as Record<string, unknown>;
    expect(beat).toMatchObject({
      robot: 'tb3-1',
      fleet: 'lab',
      components: expect.objectContaining({ central: 'running', agent: expect.any(String) }),
    });
    // No model endpoint here: the heartbeat names what is degraded, and why.
    expect(
      (beat.problems as { component: string; reason: string }[]).find((p) => p.component === 'llm')?.reason,
    ).toMatch(/endpoint/);
    // Health and metrics.
    const health = daemon.status().components.central!;
    expect(health.state).toBe('running');
    expect(health.details).toMatchObject({ connected: true, intents: { accepted: 1 } });
  });

  it('answers the same intent again with its run (replayed), and a reused id with other content as a conflict', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const { stop } = await centralDaemon(broker.url);
    cleanups.push(stop);
    const intent = skillIntent('stop', {});
    await sendIntent(central.client, intent);
    await sendIntent(central.client, intent);
    await sendIntent(central.client, { ...intent, targets: ['tb3-1/arm'] });
    await waitFor(() => central.acks().filter((a) => a.intent_id === intent.intent_id).length === 3, 'three acks');
    const [first, second, third] = central.acks().filter((a) => a.intent_id === intent.intent_id);
    expect(first!.status).toBe('accepted');
    expect(second).toMatchObject({ status: 'replayed', run_id: first!.run_id });
    expect(third).toMatchObject({ status: 'refused', error: { code: 'conflict' } });
  });

  it('refuses garbage with an ack that says why, and goes on taking good intents', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const { daemon, stop } = await centralDaemon(broker.url, {}, { max_intent_bytes: 4096 });
    cleanups.push(stop);
    const deep = `{"intent_id":"deep","params":${'['.repeat(100)}${']'.repeat(100)}}`;
    const badArgs = { ...skillIntent('navigate_to', { x: 'far' }) };
    const big = { ...skillIntent('stop', {}), pad: 'x'.repeat(5000) };
    const cases: [string | Buffer, string][] = [
      ['not json at all', 'bad_request'],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'bad_request'],
      [JSON.stringify({ intent_id: 'x'.repeat(10), type: 'stop' }), 'bad_request'],
      [JSON.stringify(badArgs), 'bad_request'],
      [JSON.stringify(skillIntent('fly', {})), 'bad_request'],
      [deep, 'bad_request'],
      [JSON.stringify(big), 'too_large'],
    ];
    for (const [payload] of cases) await sendIntent(central.client, payload);
    await waitFor(() => central.acks().length >= cases.length, 'an ack for each');
    expect(central.acks().map((a) => a.status)).toEqual(cases.map(() => 'refused'));
    expect(central.acks().map((a) => (a.error as { code: string }).code)).toEqual(cases.map(([, code]) => code));
    // A contract error names its paths, as over HTTP.
    const badArgsAck = central.acks().find((a) => a.intent_id === badArgs.intent_id)!;
    expect((badArgsAck.error as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain('params.x');
    expect((central.acks().find((a) => a.intent_id === big.intent_id)!.error as { message: string }).message).toContain(
      'central.max_intent_bytes (4096)',
    );
    // Still taking intents.
    const good = skillIntent('stop', {});
    await sendIntent(central.client, good);
    await waitFor(
      () => central.acks().some((a) => a.intent_id === good.intent_id && a.status === 'accepted'),
      'the good intent accepted',
    );
    expect(daemon.status().components.central!.details).toMatchObject({
      intents: { refused: cases.length, accepted: 1 },
    });
  });

  it('answers on the MQTT 5 response topic with the correlation data, and refuses a config that is no config message', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    await central.client.subscribeAsync('central/replies/#', { qos: 1 });
    const { stop } = await centralDaemon(broker.url);
    cleanups.push(stop);
    const intent = skillIntent('stop', {});
    const correlationData = Buffer.from(newId());
    await sendIntent(central.client, intent, { responseTopic: 'central/replies/7', correlationData });
    await waitFor(() => central.received.some((m) => m.topic === 'central/replies/7'), 'the reply');
    const reply = central.received.find((m) => m.topic === 'central/replies/7')!;
    expect(reply.json).toMatchObject({ intent_id: intent.intent_id, status: 'accepted' });
    expect(Buffer.from(reply.packet.properties!.correlationData!).equals(correlationData)).toBe(true);

    await publishCommand(central.client, `${PREFIX}/config`, 'robot: {id: other}');
    await waitFor(() => central.acks().some((a) => a.kind === 'config'), 'the config ack');
    expect(central.acks().find((a) => a.kind === 'config')).toMatchObject({
      status: 'refused',
      error: { code: 'bad_request' },
    });
  });
});
