// A robot process's e-stop for stop-under-load.bench.ts, in a process of its own as a ROS node's would be: `n` Zenoh
// gets of agent/stop over the remote-api bridge at <ws url> (each answered by its first reply, as a service client
// takes it), each followed by a GET of the floor server, 50 ms apart, printed as stop-client-child.ts prints its
// stops (ns of CLOCK_MONOTONIC). It runs real time where allowed, for the reason stop-client-child.ts gives.
//   node --import tsx stop-zenoh-child.ts <ws url> <floor url> <n>
import { pino } from 'pino';
import { ZenohLink } from '../adapters/zenoh/zenoh-link.ts';
import { applyThreadScheduling, sleep } from '../daemon/util/index.ts';

const scheduling = applyThreadScheduling({ policy: 'fifo', rtPriority: 50, nice: -10 });
const [url, floor, count] = process.argv.slice(2) as [string, string, string];

const link = new ZenohLink({ endpoint: url, log: pino({ level: 'silent' }) });
const up = new Promise<void>((resolve) => link.onUp(() => resolve()));
link.start();
await up;

async function stop(): Promise<[string, string]> {
  const sent = process.hrtime.bigint();
  const payload = new TextEncoder().encode('{"by":"bench"}');
  const [reply] = await link.get('agent/stop', {
    payload,
    encoding: 'application/json',
    timeoutMs: 5000,
    firstReply: true,
  });
  if (reply === undefined) throw new Error('agent/stop: no answer within 5 s');
  if (!reply.ok) throw new Error(`agent/stop answered ${new TextDecoder().decode(reply.payload)}`);
  return [sent.toString(), process.hrtime.bigint().toString()];
}

async function timedFloor(): Promise<[string, string]> {
  const sent = process.hrtime.bigint();
  await (await fetch(floor)).text();
  return [sent.toString(), process.hrtime.bigint().toString()];
}

await timedFloor(); // unmeasured: the client's own first use
const stops: [string, string][] = [];
const floors: [string, string][] = [];
for (let i = 0; i < Number(count); i++) {
  stops.push(await stop());
  await sleep(25);
  floors.push(await timedFloor());
  await sleep(25);
}
process.stdout.write(`${JSON.stringify({ stops, floors, scheduling: scheduling.summary })}\n`);
process.exit(0); // the session's socket would hold the process
