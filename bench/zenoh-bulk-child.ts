import { createInterface } from 'node:readline';
import { loadZenoh } from '../adapters/zenoh/index.ts';

// For the Zenoh bench's floor: 5 MB puts at 10 Hz from a bare zenoh-ts session in a process of its own (so never on
// the bench's event loop), through the remote-api bridge, while stdin last said "on". Prints "ready" once its
// publisher is declared; ends when stdin closes.
//   node --import tsx bench/zenoh-bulk-child.ts <ws url> <key>
const [url, key] = process.argv.slice(2);
if (!url || !key) throw new Error('usage: zenoh-bulk-child.ts <ws url> <key>');
const zenoh = await loadZenoh();
const session = await zenoh.Session.open(new zenoh.Config(url));
const publisher = await session.declarePublisher(key, {
  priority: zenoh.Priority.DATA_LOW,
  congestionControl: zenoh.CongestionControl.DROP,
  reliability: zenoh.Reliability.BEST_EFFORT,
  encoding: zenoh.Encoding.APPLICATION_CDR,
});
const data = new Uint8Array(5 * 1024 * 1024);
data.set([0, 1, 0, 0]);
let on = false;
const puts = setInterval(() => on && void publisher.put(data), 100);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) on = line.trim() === 'on';
clearInterval(puts);
await session.close();
process.exit(0);
