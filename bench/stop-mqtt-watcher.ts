// A thread for stop-under-load.bench.ts: a bare mqtt.js subscriber to the robot's intents topic, at the stop
// connection's default priority (SCHED_FIFO 60, else nice -10), that notes when each message reached it (ns of
// CLOCK_MONOTONIC): what the broker on this machine costs any reader of central's stop, the stop connection's baseline.
// workerData: { url, topic, out: a BigInt64Array's buffer, [0] the count, then the times, ready: an Int32Array's
// buffer, set to 1 once subscribed }.
import { workerData } from 'node:worker_threads';
import { connect } from 'mqtt';
import { applyThreadScheduling } from '../daemon/util/index.ts';

applyThreadScheduling({ policy: 'fifo', rtPriority: 60, nice: -10 });

const {
  url,
  topic,
  out: outBuffer,
  ready: readyBuffer,
} = workerData as {
  url: string;
  topic: string;
  out: SharedArrayBuffer;
  ready: SharedArrayBuffer;
};
const out = new BigInt64Array(outBuffer);
const ready = new Int32Array(readyBuffer);
const client = connect(url, { protocolVersion: 5, clientId: `bench-bare-stop-${process.pid}`, clean: true });
client.on('connect', () =>
  client.subscribe({ [topic]: { qos: 0, rh: 2 } }, () => {
    Atomics.store(ready, 0, 1);
    Atomics.notify(ready, 0);
  }),
);
client.on('message', () => {
  const now = process.hrtime.bigint();
  const i = Number(Atomics.add(out, 0, 1n));
  if (i + 1 < out.length) Atomics.store(out, i + 1, now);
});
