import { createInterface } from 'node:readline';
import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import { loadZenoh } from '../adapters/zenoh/index.ts';

// For a bench's large topic: a zenoh-ts subscriber of a key in a process of its own (so its decoding of each large
// sample never runs on the bench's event loop, which the daemon shares), printing "ready" once declared, then one
// line per sample with its size. Ends when stdin closes.
//   node --import tsx bench/zenoh-count-child.ts <ws url> <key>
const [url, key] = process.argv.slice(2);
if (!url || !key) throw new Error('usage: zenoh-count-child.ts <ws url> <key>');
const zenoh = await loadZenoh();
const session = await zenoh.Session.open(new zenoh.Config(url));
await session.declareSubscriber(key, {
  handler: (sample: Sample) => process.stdout.write(`${sample.payload().len()}\n`),
});
process.stdout.write('ready\n');
for await (const _ of createInterface({ input: process.stdin }));
await session.close();
process.exit(0);
