import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { CommandSigner } from '../../central/command-signer.ts';
import type { Cleanup } from '../helpers/cleanups.ts';
import { commandSignature } from '../helpers/command-key.ts';
import { skillIntent } from '../helpers/intents.ts';
import { FLEET } from './central-harness.ts';

/** An intent as central publishes it: its payload and MQTT 5 user properties (the signature). */
export type Message = { payload: string; userProperties: Record<string, string> };

// CommonJS for a thread of its own: central's client, publishing the messages given in order at QoS 1.
const PUBLISH_THREAD = `
const { workerData } = require('node:worker_threads');
const mqtt = require('mqtt');
const { url, login, topic, messages, port } = workerData;
(async () => {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'central-thread-' + process.pid, ...login });
  for (const m of messages)
    await client.publishAsync(topic, m.payload, { qos: 1, properties: { userProperties: m.userProperties } });
  await client.endAsync();
  port.postMessage('published');
})().catch((error) => port.postMessage(error.message));
`;

/**
 * Publishes `messages` on `topic` as central, from a thread of its own: they go out while this thread is blocked. The
 * function returned says 'published' once they all were, or the error.
 */
export function publishFromThread(
  cleanups: Cleanup[],
  options: { url: string; topic: string; messages: Message[]; login?: { username: string; password: string } },
): () => string | undefined {
  const { url, topic, messages, login = {} } = options;
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(PUBLISH_THREAD, {
    eval: true,
    workerData: { url, login, topic, messages, port: port2 },
    transferList: [port2],
  });
  cleanups.push(() => worker.terminate().then(() => undefined));
  let said: string | undefined;
  return () => (said ??= receiveMessageOnPort(port1)?.message as string | undefined);
}

/** A stop intent signed as `signer` signs it (else the test key, for `topic`), for `robot`. */
export function signedStop(
  topic: string,
  signer?: CommandSigner,
  robot = 'tb3-1',
  lifetimeS?: number,
): Message & { id: string } {
  const intent = skillIntent('stop', {});
  const payload = JSON.stringify(intent);
  const userProperties = signer
    ? signer.sign({ fleet: FLEET, robot, topic: 'intents' }, payload, lifetimeS)
    : commandSignature(topic, payload);
  return { id: intent.intent_id, payload, userProperties };
}
