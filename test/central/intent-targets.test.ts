import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import type { Intent } from '../../daemon/contract/schemas.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { skillIntent } from '../helpers/intents.ts';
import { brokerAndCentral, centralDaemon, ROBOT, sendIntent } from './central-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { running } from '../helpers/daemon.ts';

// An intent names whom it is for (targets: robot ids, or <robot id>/<resource>). One sent to tb3-1 with
// targets ["tb3-2"] was accepted and drove tb3-1. Every intake refuses an intent whose targets name neither
// this robot nor one of its resources, with the code wrong_target, and runs nothing.

const cleanups = cleanupStack();

const forOther = (): Intent => ({ ...skillIntent('stop', {}), targets: ['tb3-2'] });

/** An intent as POST /intents takes it (the daemon fills in the policy context). */
const httpBody = (intent: Intent): string =>
  JSON.stringify({ intent_id: intent.intent_id, type: intent.type, params: intent.params, targets: intent.targets });

function runOf(daemon: Daemon, intent: Intent): unknown {
  return running(daemon, AgentComponent)!.store.byIntent(intent.intent_id);
}

describe('an intent for another robot', () => {
  it('is refused with wrong_target over HTTP, MQTT and the intent topic, and nothing runs; one for this robot or its resource runs', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const { daemon, stop } = await centralDaemon(broker.url, {
      api: { port: 0 },
      sim: { enabled: false },
      lakehouse: { enabled: false },
    });
    cleanups.push(stop);
    const url = daemon.ports.get(PORTS.api)!.url!;

    // HTTP: 421 Misdirected Request, naming both robots.
    const overHttp = forOther();
    const res = await fetch(`${url}/intents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: httpBody(overHttp),
    });
    expect(res.status).toBe(421);
    const body = (await res.json()) as { error: string; message: string };
    expect(body).toEqual({
      error: 'wrong_target',
      message: expect.stringContaining('"tb3-2", not this robot ("tb3-1")'),
    });

    // MQTT: refused in the ack, with the same code.
    const overMqtt = forOther();
    await sendIntent(central.client, overMqtt);
    await waitFor(
      () => central.acks().some((a) => a.intent_id === overMqtt.intent_id),
      'the intent over MQTT to be answered',
    );
    expect(central.acks().find((a) => a.intent_id === overMqtt.intent_id)).toMatchObject({
      status: 'refused',
      error: { code: 'wrong_target' },
    });

    // The intent topic (a ROS or Zenoh peer): refused, and the next one for this robot is taken.
    const codec = new MessageCodec(daemon.definitions);
    const intents = daemon.bus.advertise('/auraison/intents', 'std_msgs/msg/String', { source: 'test' });
    const overTopic = forOther();
    const mine = { ...skillIntent('stop', {}), targets: [`${ROBOT}/base`] };
    intents.publish(codec.encode('std_msgs/msg/String', { data: JSON.stringify(overTopic) }));
    intents.publish(codec.encode('std_msgs/msg/String', { data: JSON.stringify(mine) }));
    await waitFor(() => runOf(daemon, mine) !== undefined, 'the intent for this robot to be taken');

    for (const intent of [overHttp, overMqtt, overTopic]) expect(runOf(daemon, intent)).toBeUndefined();
    // By id, or with no targets at all (the robot that received it).
    for (const targets of [[ROBOT], [], ['tb3-2', ROBOT]]) {
      const ok = await fetch(`${url}/intents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: httpBody({ ...skillIntent('stop', {}), targets }),
      });
      expect(ok.status, JSON.stringify(targets)).toBe(201);
    }
  });
});
