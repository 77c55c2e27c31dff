// Central's stop for stop-under-load.bench.ts, from a process of its own as `central intent stop` is: `n` stop intents
// signed with central's key (the PEM file given, which the robot pins), each published at QoS 1 on the robot's
// intents topic and followed by a GET of the floor server, 50 ms apart. Prints one JSON line as stop-client-child.ts
// does: each stop's send time and the time of the robot's ack on its acks topic (sent once the intent's run is
// durable), ns of CLOCK_MONOTONIC.
//   node --import tsx stop-central-child.ts <broker url> <robot's topic prefix> <key file> <floor url> <n>
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import mqtt from 'mqtt';
import { CommandSigner } from '../central/command-signer.ts';
import { applyThreadScheduling, sleep } from '../daemon/util/index.ts';
import { skillIntent } from '../test/helpers/intents.ts';

const scheduling = applyThreadScheduling({ policy: 'fifo', rtPriority: 50, nice: -10 });
const [broker, prefix, keyFile, floor, count] = process.argv.slice(2) as [string, string, string, string, string];
const signer = new CommandSigner({ key: createPrivateKey(readFileSync(keyFile)) });
const [fleet, robot] = prefix.split('/').slice(-2) as [string, string];

function get(target: string): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const sent = process.hrtime.bigint();
    const req = request(target, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve([sent.toString(), process.hrtime.bigint().toString()]));
    });
    req.on('error', reject);
    req.end();
  });
}

const client = await mqtt.connectAsync(broker, { protocolVersion: 5, clientId: `bench-central-${process.pid}` });
const acked = new Map<string, () => void>();
client.on('message', (_topic, payload) => {
  const ack = JSON.parse(payload.toString()) as { intent_id?: string; status?: string };
  if (ack.status !== 'pending') acked.get(ack.intent_id ?? '')?.();
});
await client.subscribeAsync(`${prefix}/acks`, { qos: 1 });
await get(floor);
const stops: [string, string][] = [];
const floors: [string, string][] = [];
for (let i = 0; i < Number(count); i++) {
  // Signed before the clock starts: central's signing is central's cost, not the robot's.
  const intent = skillIntent('stop', {});
  const payload = JSON.stringify(intent);
  const userProperties = signer.sign({ fleet, robot, topic: 'intents' }, payload);
  const answered = new Promise<bigint>((resolve) =>
    acked.set(intent.intent_id, () => resolve(process.hrtime.bigint())),
  );
  const sent = process.hrtime.bigint();
  await client.publishAsync(`${prefix}/intents`, payload, { qos: 1, properties: { userProperties } });
  stops.push([sent.toString(), (await answered).toString()]);
  acked.delete(intent.intent_id);
  await sleep(25);
  floors.push(await get(floor));
  await sleep(25);
}
await client.endAsync();
process.stdout.write(`${JSON.stringify({ stops, floors, scheduling: scheduling.summary })}\n`);
process.exit(0);
